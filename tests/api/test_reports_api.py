"""Sign-off and compliance reports over the API: separation of duties at sign-off, the
signed document and PDF, verification of uploads, the public key; Mallory sees nothing.

Carol (approver) signs off the run Dave planned on Alice's request.
"""

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from remediation.api import reports as reports_api
from remediation.models import AuditEvent, ComplianceReport, ModelVersion, RemediationRun
from remediation.services.accounts import role_groups_ensure
from remediation.services.reports import site_public_key_pem
from tests.api.conftest import post
from tests.conftest import ITEMS

ITEM_TEXTS = [text for item in ITEMS for text in (item.prompt, item.completion)]


def run_url(run: RemediationRun, action: str) -> str:
    return f"/api/runs/{run.pk}/{action}/"


def report_url(report: ComplianceReport | int, action: str = "") -> str:
    pk = report if isinstance(report, int) else report.pk
    return f"/api/reports/{pk}/{action + '/' if action else ''}"


def upload(client: Any, content: bytes, name: str = "report.json") -> Any:
    file = SimpleUploadedFile(name, content, content_type="application/octet-stream")
    return client.post("/api/reports/verify/", {"file": file}, format="multipart")


def snapshot() -> tuple[Any, ...]:
    runs = list(RemediationRun.objects.values_list("pk", "status"))
    versions = list(ModelVersion.objects.values_list("pk", "status"))
    return runs, versions, ComplianceReport.objects.count(), AuditEvent.objects.count()


@pytest.fixture
def report(client_for, carol, verified_run) -> ComplianceReport:
    """The report Carol's sign-off over the API issued."""
    response = post(client_for(carol), run_url(verified_run, "signoff"), {"note": "Checked."})
    assert response.status_code == 201, response.content
    return ComplianceReport.objects.get()


# ---- sign-off and send-back ------------------------------------------------------------


def test_signoff_issues_the_report_and_completes_the_run(client_for, carol, verified_run):
    # when
    response = post(client_for(carol), run_url(verified_run, "signoff"), {"note": "Checked."})

    # then
    assert response.status_code == 201, response.content
    report = ComplianceReport.objects.get()
    assert response.json() == {
        "id": report.pk,
        "report_id": str(report.report_id),
        "run": verified_run.pk,
        "run_label": verified_run.label,
        "issued_at": response.json()["issued_at"],
        "digest": report.digest,
        "key_id": report.key_id,
    }
    verified_run.refresh_from_db()
    assert verified_run.status == "completed"
    assert verified_run.signoff_note == "Checked."
    assert verified_run.output_version.status == "active"
    run = client_for(carol).get(f"/api/runs/{verified_run.pk}/").json()
    assert (run["report"], run["signed_off_by"]) == (report.pk, "carol")


def test_signoff_without_a_note_is_fine(client_for, carol, verified_run):
    assert post(client_for(carol), run_url(verified_run, "signoff")).status_code == 201


@pytest.mark.parametrize("persona", ["dave", "alice"], ids=["planner", "requester"])
def test_separation_of_duties_at_signoff(client_for, personas, verified_run, persona):
    # given: the planner, or the requester, even holding the approver role
    user = personas[persona]
    user.groups.add(role_groups_ensure()["approver"])
    before = snapshot()

    # when
    signoff = post(client_for(user), run_url(verified_run, "signoff"), {"note": "Mine."})
    send_back = post(client_for(user), run_url(verified_run, "send-back"), {"reason": "No."})

    # then
    assert (signoff.status_code, send_back.status_code) == (403, 403)
    assert "Separation of duties" in signoff.json()["detail"]
    assert snapshot() == before


@pytest.mark.parametrize("persona, code", [("erin", 403), ("frank", 403), ("bob", 404)])
def test_only_approvers_sign_off(client_for, personas, verified_run, persona, code):
    # given: auditors and admins see the run; reviewers do not see runs at all
    before = snapshot()

    # when
    response = post(client_for(personas[persona]), run_url(verified_run, "signoff"))

    # then
    assert response.status_code == code
    assert snapshot() == before


def test_a_run_not_awaiting_signoff_cannot_be_signed_off(client_for, carol, planned_run):
    # when
    response = post(client_for(carol), run_url(planned_run, "signoff"))

    # then
    assert response.status_code == 403
    assert ComplianceReport.objects.count() == 0


def test_signing_off_twice_issues_one_report(client_for, carol, report):
    # when
    response = post(client_for(carol), run_url(report.run, "signoff"))

    # then
    assert response.status_code == 403
    assert ComplianceReport.objects.count() == 1


def test_send_back_keeps_the_version_quarantined(client_for, carol, verified_run):
    # when
    response = post(client_for(carol), run_url(verified_run, "send-back"), {"reason": "Too weak"})

    # then
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "sent_back"
    assert response.json()["signoff_note"] == "Too weak"
    verified_run.refresh_from_db()
    assert verified_run.output_version.status == "quarantined"
    assert verified_run.requests.get().status == "failed"
    assert ComplianceReport.objects.count() == 0


MALFORMED = [
    ("signoff", {"note": 5}),
    ("signoff", {"note": "x" * 2001}),
    ("signoff", ["note"]),
    ("send-back", {}),
    ("send-back", {"reason": ""}),
    ("send-back", {"reason": " "}),
    ("send-back", {"reason": None}),
]


@pytest.mark.parametrize("action, payload", MALFORMED)
def test_a_malformed_note_or_missing_reason_is_400(
    client_for, carol, verified_run, action, payload
):
    # given
    before = snapshot()

    # when
    response = post(client_for(carol), run_url(verified_run, action), payload)

    # then
    assert response.status_code == 400
    assert response.json()["detail"]
    assert snapshot() == before


# ---- reading reports -------------------------------------------------------------------


def test_reports_are_listed_and_read_by_those_who_see_the_run(client_for, personas, report):
    for persona in ("alice", "carol", "dave", "erin"):
        # when
        client = client_for(personas[persona])
        listed = client.get("/api/reports/").json()
        detail = client.get(report_url(report))

        # then
        assert [r["id"] for r in listed["results"]] == [report.pk], persona
        assert detail.json()["report_id"] == str(report.report_id)
        assert detail.json()["digest"] == report.digest


def test_the_document_is_the_signed_json_as_stored(client_for, alice, report):
    # when
    response = client_for(alice).get(report_url(report, "document"))

    # then
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.content.decode() == report.document_json
    document = response.json()
    assert document["digest"] == report.digest
    assert document["bundle"]["requests"][0]["ticket"] == report.run.requests.get().ticket
    assert not any(text in response.content.decode() for text in ITEM_TEXTS)


def test_the_document_verifies_and_a_tampered_one_does_not(client_for, erin, report):
    # given
    client = client_for(erin)
    original = client.get(report_url(report, "document")).content
    tampered = json.loads(original)
    tampered["bundle"]["scope"]["model"] = "another-model"

    # when
    good = upload(client, original)
    bad = upload(client, json.dumps(tampered).encode())

    # then
    assert good.status_code == 200
    assert good.json() == {
        "ok": True,
        "reasons": [],
        "digest": report.digest,
        "key_id": report.key_id,
    }
    assert bad.status_code == 200
    assert bad.json()["ok"] is False
    assert bad.json()["reasons"]


def test_the_pdf_downloads_and_verifies(client_for, alice, report):
    # given
    client = client_for(alice)

    # when: a client that asks for a PDF gets one
    response = client.get(report_url(report, "pdf"), HTTP_ACCEPT="application/pdf")

    # then
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert f'filename="report-{report.report_id}.pdf"' in response["Content-Disposition"]
    assert response.content.startswith(b"%PDF")
    verdict = upload(client, response.content, "report.pdf").json()
    assert verdict["ok"] is True, verdict
    assert verdict["digest"] == report.digest


@pytest.mark.parametrize(
    "content",
    [b"not a report", b"%PDF-1.7\nbroken", b"{}", b'{"bundle": []}', b"\xff\xfe\x00", b"[" * 5000],
)
def test_garbage_fails_verification_with_a_reason(client_for, erin, content):
    # when
    response = upload(client_for(erin), content)

    # then
    assert response.status_code == 200
    assert response.json()["ok"] is False
    assert response.json()["reasons"]


def test_verify_needs_a_file(client_for, erin):
    # when
    missing = client_for(erin).post("/api/reports/verify/", {}, format="multipart")
    empty = upload(client_for(erin), b"")

    # then
    assert missing.status_code == 400
    assert "file" in missing.json()["errors"]
    assert empty.status_code == 400


def test_verify_refuses_a_file_over_the_limit(client_for, erin, monkeypatch):
    # given: a small limit stands in for 20 MiB
    monkeypatch.setattr(reports_api, "MAX_REPORT_UPLOAD", 100)

    # when
    response = upload(client_for(erin), b"{" + b" " * 200 + b"}")

    # then
    assert response.status_code == 400
    assert response.json()["errors"] == {"file": ["Too large."]}


def test_verify_takes_a_file_upload_not_json(client_for, erin):
    assert post(client_for(erin), "/api/reports/verify/", {"file": "{}"}).status_code == 415


def test_the_public_key_is_the_sites(client_for, mallory):
    # when
    response = client_for(mallory).get("/api/reports/public-key/")

    # then
    assert response.status_code == 200
    assert response.json() == {"public_key": site_public_key_pem()}
    assert response.json()["public_key"].startswith("-----BEGIN PUBLIC KEY-----")


def test_another_requester_sees_no_report(client_for, mallory, report):
    # when
    client = client_for(mallory)
    listed = client.get("/api/reports/").json()
    responses = [client.get(report_url(report, action)) for action in ("", "document", "pdf")]

    # then
    assert listed["count"] == 0
    assert [r.status_code for r in responses] == [404, 404, 404]
    assert all(r["Content-Type"] == "application/json" for r in responses)


def test_an_id_that_names_no_report_is_404(client_for, erin):
    for action in ("", "document", "pdf"):
        assert client_for(erin).get(report_url(10**9, action)).status_code == 404
