"""The auditor's pages: browse, export, verify."""

import json

import pytest
from django.urls import reverse

from remediation.models import AuditEvent
from tests.conftest import tampering

pytestmark = pytest.mark.django_db


def test_auditor_browses_filters_and_exports(client_for, reviewed):
    # given
    client = client_for("erin")
    # when
    page = client.get(reverse("audit_list"), {"action": "reviewed"}).content.decode()
    jsonl = b"".join(client.get(reverse("audit_export", args=["jsonl"])).streaming_content)
    csv = b"".join(client.get(reverse("audit_export", args=["csv"])).streaming_content)
    # then
    assert "forget_request.reviewed" in page and "forget_request.created" not in page
    rows = [json.loads(line) for line in jsonl.decode().splitlines()]
    assert [r["seq"] for r in rows] == [1, 2, 3]
    assert csv.decode().splitlines()[0].startswith("seq,created_at,actor_id")
    assert b"555-0134" not in jsonl + csv


def test_verify_reports_intact_then_broken_chain(client_for, reviewed):
    # given
    client = client_for("erin")
    url = reverse("audit_verify")
    # when
    intact = client.post(url, HTTP_HX_REQUEST="true").content.decode()
    with tampering():
        AuditEvent.objects.filter(seq=2).update(actor_name="someone else")
    broken = client.post(url, HTTP_HX_REQUEST="true").content.decode()
    # then
    assert "Chain intact: 3 events" in intact
    assert "BROKEN at event #2" in broken


def test_requester_cannot_see_the_audit_pages(client_for, alice):
    client = client_for("alice")
    assert client.get(reverse("audit_list")).status_code == 404
    assert client.get(reverse("audit_export", args=["csv"])).status_code == 404
    assert client.post(reverse("audit_verify")).status_code == 404


def test_unknown_export_format_is_404(client_for, erin):
    assert client_for("erin").get(reverse("audit_export", args=["xml"])).status_code == 404
