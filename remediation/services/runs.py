"""Remediation runs: planning, approval, dispatch, progress, outcome, cancellation, watchdog.

The run row is the truth about a run; a Celery message only says "look at run N".
Every transition is claimed with a conditional update and audited in its transaction.
"""

import datetime
import logging
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from remediation import permissions
from remediation.events import publish_run_event
from remediation.models import ForgetRequest, ModelVersion, RemediationRun, RunEvent
from remediation.roles import UserLike
from remediation.services.audit import audit_event_record
from remediation.services.errors import InvalidTransition, NotAllowed, ValidationFailed
from remediation.services.run_options import validate_method, validate_policy

logger = logging.getLogger(__name__)
Status = RemediationRun.Status
RequestStatus = ForgetRequest.Status
PLANNABLE_REQUEST_STATUSES = (RequestStatus.APPROVED, RequestStatus.FAILED)


def run_audit(run: RemediationRun, actor: UserLike | None, action: str, **payload: Any) -> None:
    audit_event_record(
        actor=actor, action=f"run.{action}", object_type="run", object_id=run.pk, payload=payload
    )


def run_transition_claim(run: RemediationRun, *, source: Sequence[str], **changes: Any) -> None:
    """Move the run out of one of `source` states, or refuse: someone else got there first."""
    if RemediationRun.objects.filter(pk=run.pk, status__in=source).update(**changes) != 1:
        run.refresh_from_db()
        raise InvalidTransition(f"{run.label} is now '{run.get_status_display()}'.")
    run.refresh_from_db()


def run_requests_move(
    run: RemediationRun,
    actor: UserLike | None,
    source: Sequence[str],
    target: str,
) -> None:
    """Carry the run's requests along with it, each change audited on the request."""
    for request in run.requests.filter(status__in=source):
        ForgetRequest.objects.filter(pk=request.pk, status=request.status).update(
            status=target, updated_at=timezone.now()
        )
        audit_event_record(
            actor=actor,
            action=f"forget_request.{target}",
            object_type="forget_request",
            object_id=request.pk,
            payload={"run_id": run.pk, "from_status": request.status},
        )


def _check_plan(actor: UserLike, version: ModelVersion, requests: Sequence[ForgetRequest]) -> None:
    if not permissions.can_plan_run(actor):
        raise NotAllowed("Only operators can plan remediation runs.")
    if not requests:
        raise ValidationFailed("Choose at least one approved request.", {"requests": ["Required."]})
    not_ready = [r.ticket for r in requests if r.status not in PLANNABLE_REQUEST_STATUSES]
    if not_ready:
        raise ValidationFailed(f"Not approved (or failed and retryable): {', '.join(not_ready)}.")
    out_of_scope = [r.ticket for r in requests if not r.models_in_scope.filter(pk=version.model_id)]
    if out_of_scope:
        message = f"{version.model.name} is not in the scope of {', '.join(out_of_scope)}."
        raise ValidationFailed(message)
    if version.status == ModelVersion.Status.SUPERSEDED:
        raise ValidationFailed(f"{version} is superseded; plan on the current version.")


@transaction.atomic
def run_plan(
    *,
    actor: UserLike,
    model_version: ModelVersion,
    requests: Sequence[ForgetRequest],
    method: str,
    settings_: dict[str, Any] | None = None,
    policy: dict[str, Any] | None = None,
    seed: int = 0,
) -> RemediationRun:
    """Plan a run of `method` on one model version for one or more approved requests."""
    _check_plan(actor, model_version, requests)
    method_settings = validate_method(method, settings_ or {})
    fixed_policy = validate_policy(policy or {})
    if not 0 <= seed < 2**31:
        raise ValidationFailed("The seed must be between 0 and 2^31-1.", {"seed": ["Range."]})
    run = RemediationRun.objects.create(
        model_version=model_version,
        method=method,
        settings=method_settings,
        policy=fixed_policy,
        seed=seed,
        planned_by=actor,
    )
    run.requests.set(requests)
    request_ids = sorted(r.pk for r in requests)
    run_audit(
        run, actor, "planned", method=method, version_id=model_version.pk, requests=request_ids
    )
    return run


@transaction.atomic
def run_approve(*, run: RemediationRun, actor: UserLike) -> RemediationRun:
    """Approve a plan (never by the operator who planned it) and dispatch it."""
    if not permissions.can_approve_run(actor, run):
        if run.planned_by_id == actor.pk:
            raise NotAllowed("Four eyes: you planned this run, so another approver must approve.")
        if run.requests.filter(requester_id=actor.pk).exists():
            raise NotAllowed("Four eyes: you filed one of its requests, so another must approve.")
        raise NotAllowed("Only an approver can approve a planned run.")
    run_transition_claim(
        run,
        source=[Status.PLANNED],
        status=Status.QUEUED,
        approved_by=actor,
        approved_at=timezone.now(),
    )
    run_requests_move(run, actor, PLANNABLE_REQUEST_STATUSES, RequestStatus.SCHEDULED)
    run_audit(run, actor, "approved")
    run_event_record(run, kind=RunEvent.Kind.STATE, message="Approved and queued")
    transaction.on_commit(lambda: _dispatch(run.pk))
    return run


def _dispatch(run_id: int) -> None:
    """Send the run to the workers. If the queue cannot be reached, fail the run now
    (retryable) rather than leave it queued with no message behind it."""
    from remediation.tasks import run_execute

    try:
        run_execute.apply_async((run_id,), retry=True, retry_policy={"max_retries": 2})
    except Exception as exc:  # noqa: BLE001 - any broker failure means "not sent"
        logger.error("could not dispatch run %s: %s", run_id, exc)
        run_fail(run_id=run_id, reason=f"Could not reach the task queue ({type(exc).__name__}).")


@transaction.atomic
def run_reject(*, run: RemediationRun, actor: UserLike, reason: str) -> RemediationRun:
    """Reject a plan; the requests stay approved for another plan."""
    if not permissions.can_approve_run(actor, run):
        raise NotAllowed("Only an approver other than the planner can reject a plan.")
    if not reason.strip():
        raise ValidationFailed("Give a reason.", {"reason": ["Required."]})
    run_transition_claim(
        run, source=[Status.PLANNED], status=Status.REJECTED, failure_reason=reason.strip()
    )
    run_audit(run, actor, "rejected")
    return run


@transaction.atomic
def run_cancel(*, run: RemediationRun, actor: UserLike) -> RemediationRun:
    """Cancel a run. Not started yet: at once. Running: the worker stops between steps."""
    run.refresh_from_db()  # the branch below depends on the current state, not the caller's
    if not permissions.can_cancel_run(actor, run):
        raise NotAllowed("Only an operator can cancel a run that has not finished.")
    if run.status in (Status.PLANNED, Status.QUEUED):
        run_transition_claim(
            run, source=[run.status], status=Status.CANCELLED, finished_at=timezone.now()
        )
        run_requests_move(run, actor, [RequestStatus.SCHEDULED], RequestStatus.APPROVED)
        run_event_record(run, kind=RunEvent.Kind.STATE, message="Cancelled")
    else:
        run_transition_claim(run, source=[Status.RUNNING], cancel_requested=True)
        run_event_record(run, kind=RunEvent.Kind.LOG, message="Cancellation requested")
    run_audit(run, actor, "cancel_requested")
    return run


# ---- the worker's side -------------------------------------------------------------


def run_claim(*, run_id: int, worker: str) -> bool:
    """Take a queued run for this worker. False when it was already taken (a duplicate
    delivery) or is no longer queued: then the caller does nothing."""
    with transaction.atomic():
        now = timezone.now()
        claimed = RemediationRun.objects.filter(pk=run_id, status=Status.QUEUED).update(
            status=Status.RUNNING, worker=worker[:200], started_at=now, heartbeat_at=now
        )
        if not claimed:
            return False
        run = RemediationRun.objects.get(pk=run_id)
        run_requests_move(run, None, [RequestStatus.SCHEDULED], RequestStatus.RUNNING)
        run_audit(run, None, "started", worker=worker[:200])
        run_event_record(run, kind=RunEvent.Kind.STATE, message=f"Started on {worker[:200]}")
    return True


def run_heartbeat(run_id: int) -> bool:
    """Prove the worker is alive; True when the operator asked to cancel."""
    RemediationRun.objects.filter(pk=run_id, status=Status.RUNNING).update(
        heartbeat_at=timezone.now()
    )
    return RemediationRun.objects.filter(pk=run_id, cancel_requested=True).exists()


def run_event_record(
    run: RemediationRun,
    *,
    kind: str,
    phase: str = "",
    step: int = 0,
    total: int = 0,
    metrics: dict[str, float] | None = None,
    message: str = "",
) -> RunEvent:
    """Persist one event (history for late browsers) and push it to live ones."""
    with transaction.atomic():
        # The run row serialises its event writers (worker progress, operator cancel),
        # so two events never take the same number.
        RemediationRun.objects.select_for_update().filter(pk=run.pk).first()
        last = RunEvent.objects.filter(run=run).aggregate(m=Max("seq"))["m"] or 0
        event = RunEvent.objects.create(
            run=run,
            seq=last + 1,
            kind=kind,
            phase=phase or run.phase,
            step=step,
            total=total,
            metrics=metrics or {},
            message=message[:500],
        )
    payload = run_event_payload(event, run)
    transaction.on_commit(lambda: publish_run_event(run.pk, payload))
    return event


def run_event_payload(event: RunEvent, run: RemediationRun) -> dict[str, Any]:
    """What a browser receives for one event."""
    return {
        "seq": event.seq,
        "time": event.created_at.isoformat(),
        "kind": event.kind,
        "phase": event.phase,
        "step": event.step,
        "total": event.total,
        "metrics": event.metrics,
        "message": event.message,
        "status": run.status,
    }


def run_progress(
    run_id: int, *, phase: str, step: int, total: int, metrics: dict[str, float]
) -> None:
    """The engine's progress, persisted on the run row and as an event."""
    now = timezone.now()
    RemediationRun.objects.filter(pk=run_id, status=Status.RUNNING).update(
        phase=phase, step=step, total=total, heartbeat_at=now
    )
    run = RemediationRun.objects.get(pk=run_id)
    run_event_record(
        run, kind=RunEvent.Kind.PROGRESS, phase=phase, step=step, total=total, metrics=metrics
    )


def run_phase_enter(run_id: int, phase: str) -> None:
    """A new phase started: scan, isolate, remediate, verify, register."""
    with transaction.atomic():
        RemediationRun.objects.filter(pk=run_id, status=Status.RUNNING).update(
            phase=phase, step=0, total=0, heartbeat_at=timezone.now()
        )
        run = RemediationRun.objects.get(pk=run_id)
        if phase == RemediationRun.Phase.VERIFY:
            run_requests_move(run, None, [RequestStatus.RUNNING], RequestStatus.VERIFYING)
        run_audit(run, None, "phase", phase=phase)
        run_event_record(run, kind=RunEvent.Kind.STATE, phase=phase, message=f"Phase: {phase}")


@transaction.atomic
def run_succeed(
    *, run_id: int, output_version: ModelVersion, result: dict[str, Any], device: str
) -> None:
    """Verification passed and the new version is registered (quarantined)."""
    run = RemediationRun.objects.get(pk=run_id)
    run_transition_claim(
        run,
        source=[Status.RUNNING],
        status=Status.AWAITING_SIGNOFF,
        output_version=output_version,
        result=result,
        device=device,
        finished_at=timezone.now(),
    )
    run_requests_move(
        run, None, [RequestStatus.RUNNING, RequestStatus.VERIFYING], RequestStatus.AWAITING_SIGNOFF
    )
    run_audit(run, None, "verified", output_version_id=output_version.pk, passed=True)
    run_event_record(run, kind=RunEvent.Kind.STATE, message="Verified; awaiting sign-off")


@transaction.atomic
def run_fail(
    *, run_id: int, reason: str, result: dict[str, Any] | None = None, actor: UserLike | None = None
) -> bool:
    """Mark a running or queued run failed (retryable: its requests can be re-planned)."""
    run = RemediationRun.objects.get(pk=run_id)
    changes: dict[str, Any] = {"status": Status.FAILED, "failure_reason": reason[:5000]}
    changes.update(finished_at=timezone.now(), result=result or run.result)
    if (
        RemediationRun.objects.filter(pk=run_id, status__in=RemediationRun.ACTIVE_STATUSES).update(
            **changes
        )
        != 1
    ):
        return False
    run.refresh_from_db()
    active = [RequestStatus.SCHEDULED, RequestStatus.RUNNING, RequestStatus.VERIFYING]
    run_requests_move(run, actor, active, RequestStatus.FAILED)
    run_audit(run, actor, "failed", reason=reason[:500])
    run_event_record(run, kind=RunEvent.Kind.STATE, message=f"Failed: {reason[:400]}")
    return True


@transaction.atomic
def run_mark_cancelled(*, run_id: int) -> None:
    """The worker stopped on request; the partial output was discarded."""
    run = RemediationRun.objects.get(pk=run_id)
    run_transition_claim(
        run, source=[Status.RUNNING], status=Status.CANCELLED, finished_at=timezone.now()
    )
    active = [RequestStatus.SCHEDULED, RequestStatus.RUNNING, RequestStatus.VERIFYING]
    run_requests_move(run, None, active, RequestStatus.APPROVED)
    run_audit(run, None, "cancelled")
    run_event_record(run, kind=RunEvent.Kind.STATE, message="Cancelled; partial output discarded")


def runs_watchdog(now: datetime.datetime | None = None) -> list[int]:
    """Fail every running run whose worker has been silent too long (it died)."""
    now = now or timezone.now()
    stale = now - datetime.timedelta(seconds=settings.UNLEARN_STALE_AFTER_SECONDS)
    silent = Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True)
    dead = RemediationRun.objects.filter(silent, status=Status.RUNNING)
    failed = []
    for run_id in dead.values_list("pk", flat=True):
        seconds = int(settings.UNLEARN_STALE_AFTER_SECONDS)
        if run_fail(run_id=run_id, reason=f"The worker stopped responding for {seconds} s."):
            failed.append(run_id)
    return failed
