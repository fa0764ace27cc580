"""Sign-off of a verified run: promote the new version, complete the requests, issue the
report. Or send the run back."""

import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from remediation import permissions
from remediation.models import ComplianceReport, ForgetRequest, ModelVersion, RemediationRun
from remediation.roles import UserLike
from remediation.services.audit import audit_event_record
from remediation.services.errors import NotAllowed, ValidationFailed
from remediation.services.reports import report_issue
from remediation.services.runs import (
    run_audit,
    run_event_record,
    run_requests_move,
    run_transition_claim,
)

Status = RemediationRun.Status
VersionStatus = ModelVersion.Status


def _check_signoff(actor: UserLike, run: RemediationRun) -> None:
    if permissions.can_signoff_run(actor, run):
        return
    if run.planned_by_id == actor.pk or run.requests.filter(requester_id=actor.pk).exists():
        raise NotAllowed("Separation of duties: you planned this run or filed one of its requests.")
    raise NotAllowed("Only an approver can sign off a run that passed verification.")


def _promote(run: RemediationRun, actor: UserLike) -> None:
    """The new version becomes active; every other active version of the model is
    superseded by it."""
    new = run.output_version
    assert new is not None
    replaced = ModelVersion.objects.filter(model_id=new.model_id, status=VersionStatus.ACTIVE)
    for old in replaced.exclude(pk=new.pk):
        ModelVersion.objects.filter(pk=old.pk).update(status=VersionStatus.SUPERSEDED)
        audit_event_record(
            actor=actor,
            action="model_version.superseded",
            object_type="model_version",
            object_id=old.pk,
            payload={"superseded_by": new.pk},
        )
    ModelVersion.objects.filter(pk=new.pk).update(status=VersionStatus.ACTIVE)
    audit_event_record(
        actor=actor,
        action="model_version.promoted",
        object_type="model_version",
        object_id=new.pk,
        payload={"run_id": run.pk},
    )


def _complete_requests(run: RemediationRun, actor: UserLike, now: datetime.datetime) -> None:
    run_requests_move(
        run, actor, [ForgetRequest.Status.AWAITING_SIGNOFF], ForgetRequest.Status.COMPLETED
    )
    keep_until = now + datetime.timedelta(days=settings.UNLEARN_RETENTION_DAYS)
    run.requests.filter(status=ForgetRequest.Status.COMPLETED).update(
        completed_at=now, retain_items_until=keep_until
    )


@transaction.atomic
def run_signoff(*, run: RemediationRun, actor: UserLike, note: str = "") -> ComplianceReport:
    """Sign off a verified run: promote its version, complete its requests, issue the
    signed report, all in one transaction."""
    _check_signoff(actor, run)
    now = timezone.now()
    run_transition_claim(
        run,
        source=[Status.AWAITING_SIGNOFF],
        status=Status.COMPLETED,
        signed_off_by=actor,
        signed_off_at=now,
        signoff_note=note.strip()[:2000],
    )
    _promote(run, actor)
    _complete_requests(run, actor, now)
    run_audit(run, actor, "signed_off")
    report = report_issue(run=run)
    run_event_record(run, kind="state", message="Signed off; report issued")
    return report


@transaction.atomic
def run_send_back(*, run: RemediationRun, actor: UserLike, reason: str) -> RemediationRun:
    """Refuse the result: the new version stays quarantined, the requests can be re-planned."""
    _check_signoff(actor, run)
    if not reason.strip():
        raise ValidationFailed("Say why the run is sent back.", {"reason": ["Required."]})
    run_transition_claim(
        run,
        source=[Status.AWAITING_SIGNOFF],
        status=Status.SENT_BACK,
        signed_off_by=actor,
        signed_off_at=timezone.now(),
        signoff_note=reason.strip()[:2000],
    )
    run_requests_move(
        run, actor, [ForgetRequest.Status.AWAITING_SIGNOFF], ForgetRequest.Status.FAILED
    )
    run_audit(run, actor, "sent_back")
    run_event_record(run, kind="state", message="Sent back by the approver")
    return run
