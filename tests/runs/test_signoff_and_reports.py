"""Sign-off, report issue and verification, and retention shredding."""

import datetime
import json

import pytest
from django.utils import timezone

from remediation.models import ComplianceReport, ForgetRequest, ModelVersion, RemediationRun
from remediation.reports.verify import verify_file
from remediation.services.errors import InvalidTransition, NotAllowed
from remediation.services.forget_requests import (
    forget_request_items,
    forget_requests_retention_shred,
)
from remediation.services.reports import report_issue, report_verify_upload, site_public_key_pem
from remediation.services.signoff import run_send_back, run_signoff

pytestmark = pytest.mark.django_db
ITEM_VALUES = ["+1-415-555-0134", "maria.okafor@example.com", "Maria Okafor"]


def test_signoff_promotes_completes_and_issues_a_signed_report(verified_run, erin, settings):
    # given: a second approver, neither planner nor requester
    from tests.conftest import make_user

    judge = make_user("judith", "approver")
    # when
    report = run_signoff(run=verified_run, actor=judge, note="looks right")
    # then: the new version is active and the old one superseded
    verified_run.refresh_from_db()
    assert verified_run.status == RemediationRun.Status.COMPLETED
    assert verified_run.output_version.status == ModelVersion.Status.ACTIVE
    assert ModelVersion.objects.get(pk=verified_run.model_version_id).status == "superseded"
    request = verified_run.requests.get()
    assert request.status == ForgetRequest.Status.COMPLETED
    assert request.retain_items_until > timezone.now()
    # and: the report verifies, and holds no item text or subject reference
    document = report.document
    assert verify_file(json.dumps(document).encode(), site_public_key_pem()).ok
    assert report_verify_upload(json.dumps(document).encode()).ok
    text = report.document_json
    assert not any(value in text for value in ITEM_VALUES)
    assert document["bundle"]["requests"][0]["ticket"] == request.ticket


def test_changing_a_byte_of_the_bundle_fails_verification(verified_run):
    from tests.conftest import make_user

    report = run_signoff(run=verified_run, actor=make_user("judith", "approver"))
    document = report.document
    document["bundle"]["scope"]["model"] = "another-model"
    assert not verify_file(json.dumps(document).encode(), site_public_key_pem()).ok


def test_a_report_claiming_a_false_chain_position_fails(verified_run):
    from tests.conftest import make_user

    report = run_signoff(run=verified_run, actor=make_user("judith", "approver"))
    document = report.document
    document["bundle"]["audit"]["chain_head"]["seq"] += 1000
    # re-signing with our own key makes the signature valid; the chain check still fails
    from remediation.reports.signing import sign_bundle
    from remediation.services.reports import _signing_key

    forged = sign_bundle(document["bundle"], _signing_key())
    result = report_verify_upload(json.dumps(forged).encode())
    assert not result.ok
    assert any("audit chain" in reason for reason in result.reasons)


def test_separation_of_duties_at_signoff(verified_run, dave, alice):
    # the planner (even as approver) and the requester (even as approver) are refused
    from remediation.services.accounts import role_groups_ensure

    approver = role_groups_ensure()["approver"]
    dave.groups.add(approver)
    alice.groups.add(approver)
    for actor in (dave, alice):
        with pytest.raises(NotAllowed, match="Separation of duties"):
            run_signoff(run=verified_run, actor=actor)
    assert not ComplianceReport.objects.exists()


def test_reports_of_unsigned_or_failed_runs_cannot_be_issued(verified_run, planned_run):
    with pytest.raises(InvalidTransition):
        report_issue(run=verified_run)  # awaiting sign-off, not signed
    RemediationRun.objects.filter(pk=verified_run.pk).update(status="failed")
    verified_run.refresh_from_db()
    with pytest.raises(InvalidTransition):
        report_issue(run=verified_run)
    assert not ComplianceReport.objects.exists()


def test_sending_back_keeps_the_version_quarantined(verified_run):
    from tests.conftest import make_user

    run_send_back(run=verified_run, actor=make_user("judith", "approver"), reason="too slow")
    verified_run.refresh_from_db()
    assert verified_run.status == RemediationRun.Status.SENT_BACK
    assert verified_run.output_version.status == ModelVersion.Status.QUARANTINED
    assert verified_run.requests.get().status == ForgetRequest.Status.FAILED


def test_retention_shreds_items_once_their_time_is_up(verified_run):
    from remediation.services.errors import ItemsUnavailable
    from tests.conftest import make_user

    run_signoff(run=verified_run, actor=make_user("judith", "approver"))
    request = verified_run.requests.get()
    # when: before the end of retention nothing happens; after it, the key is destroyed
    assert forget_requests_retention_shred() == []
    later = timezone.now() + datetime.timedelta(days=400)
    assert forget_requests_retention_shred(now=later) == [request.pk]
    # then
    with pytest.raises(ItemsUnavailable):
        forget_request_items(request)
    from remediation.models import AuditEvent

    assert AuditEvent.objects.filter(action="forget_request.shredded").count() == 1
