"""Leak scans over the API: Dave (operator) scans a version for Alice's approved request;
item text shows only for roles that may read it; Mallory sees nothing."""

from typing import Any

import pytest

from remediation.models import AuditEvent, ForgetRequest, LeakScan, ModelVersion
from remediation.services.scans import scan_claim, scan_finish, scan_start
from tests.api.conftest import post
from tests.conftest import ITEMS

ITEM_TEXTS = [text for item in ITEMS for text in (item.prompt, item.completion)]


def scan_url(scan: LeakScan | int) -> str:
    return f"/api/scans/{scan if isinstance(scan, int) else scan.pk}/"


def snapshot() -> tuple[int, int]:
    return LeakScan.objects.count(), AuditEvent.objects.count()


@pytest.fixture
def finished_scan(approved_request: ForgetRequest, version: ModelVersion, dave: Any) -> LeakScan:
    """A scan that found the first item leaked by the verbatim probe, the second not."""
    scan = scan_start(request=approved_request, model_version=version, actor=dave)
    positions = list(approved_request.items.order_by("position").values_list("position", flat=True))
    rows = [
        {
            "position": positions[0],
            "leaked": True,
            "leaked_probes": ["verbatim"],
            "target_loss": 0.25,
            "exposure": 9.5,
        },
        {
            "position": positions[1],
            "leaked": False,
            "leaked_probes": [],
            "target_loss": 4.0,
            "exposure": 0.5,
        },
    ]
    scan_claim(scan.pk)
    scan_finish(scan_id=scan.pk, result={"items": rows, "leaked_items": 1, "summary": {}})
    scan.refresh_from_db()
    return scan


def test_operator_starts_a_scan(client_for, dave, approved_request, version):
    # when
    payload = {"request": approved_request.pk, "model_version": version.pk}
    response = post(client_for(dave), "/api/scans/", payload)

    # then
    assert response.status_code == 201, response.content
    body = response.json()
    scan = LeakScan.objects.get()
    assert body["id"] == scan.pk
    assert (body["request"], body["model_version"]) == (approved_request.pk, version.pk)
    assert body["status"] == "queued"
    assert body["created_by"] == "dave"
    assert body["leaked_items"] is None
    assert [row["leaked"] for row in body["rows"]] == [None, None]
    assert all(row["redacted"] and row["prompt"] is None for row in body["rows"])
    assert AuditEvent.objects.filter(action="scan.queued", object_id=str(scan.pk)).exists()


@pytest.mark.parametrize("persona", ["alice", "carol", "erin"])
def test_only_operators_scan(client_for, personas, approved_request, version, persona):
    # given
    before = snapshot()

    # when
    payload = {"request": approved_request.pk, "model_version": version.pk}
    response = post(client_for(personas[persona]), "/api/scans/", payload)

    # then
    assert response.status_code == 403
    assert snapshot() == before


def test_a_request_the_operator_may_not_see_is_a_field_error(client_for, dave, in_state, version):
    # given: a request in review is not the operator's business yet
    request = in_state("in_review")
    before = snapshot()

    # when
    payload = {"request": request.pk, "model_version": version.pk}
    response = post(client_for(dave), "/api/scans/", payload)

    # then
    assert response.status_code == 400
    assert response.json()["errors"] == {"request": [f"Unknown request id(s): {request.pk}."]}
    assert snapshot() == before


def test_a_version_of_a_model_out_of_scope_is_refused(
    client_for, dave, approved_request, out_of_scope_version
):
    # given
    version = out_of_scope_version
    before = snapshot()

    # when
    payload = {"request": approved_request.pk, "model_version": version.pk}
    response = post(client_for(dave), "/api/scans/", payload)

    # then
    assert response.status_code == 400
    assert "not in the request's scope" in response.json()["detail"]
    assert snapshot() == before


BAD_SCANS = {
    "request that does not exist": ({"request": 10**9}, "request"),
    "request id too large": ({"request": 2**63}, "request"),
    "request not a number": ({"request": "FR-00001"}, "request"),
    "request missing": ({"request": None}, "request"),
    "version that does not exist": ({"model_version": 10**9}, "model_version"),
    "version not a number": ({"model_version": [1]}, "model_version"),
    "version zero": ({"model_version": 0}, "model_version"),
}


@pytest.mark.parametrize("change, field", BAD_SCANS.values(), ids=list(BAD_SCANS))
def test_malformed_scans_are_400_and_create_nothing(
    client_for, dave, approved_request, version, change, field
):
    # given
    before = snapshot()
    payload = {"request": approved_request.pk, "model_version": version.pk, **change}

    # when
    response = post(client_for(dave), "/api/scans/", payload)

    # then
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert snapshot() == before


def test_a_scan_body_that_is_not_an_object_is_400(client_for, dave):
    assert post(client_for(dave), "/api/scans/", "scan").status_code == 400
    assert LeakScan.objects.count() == 0


def test_finished_scan_shows_probes_per_item(client_for, dave, finished_scan):
    # when
    body = client_for(dave).get(scan_url(finished_scan)).json()

    # then
    assert body["status"] == "done"
    assert body["leaked_items"] == 1
    first, second = body["rows"]
    assert (first["leaked"], first["leaked_probes"]) == (True, ["verbatim"])
    assert (first["target_loss"], first["exposure"]) == (0.25, 9.5)
    assert (second["leaked"], second["leaked_probes"]) == (False, [])
    assert first["fingerprint"] == finished_scan.request.items.order_by("position")[0].fingerprint


@pytest.mark.parametrize("persona", ["alice", "carol"])
def test_roles_that_may_read_items_see_their_text(client_for, personas, finished_scan, persona):
    # when
    rows = client_for(personas[persona]).get(scan_url(finished_scan)).json()["rows"]

    # then
    assert [(r["prompt"], r["completion"]) for r in rows] == [
        (item.prompt, item.completion) for item in ITEMS
    ]
    assert not any(r["redacted"] for r in rows)


@pytest.mark.parametrize("persona", ["dave", "erin", "frank"])
def test_other_roles_see_the_rows_redacted(client_for, personas, finished_scan, persona):
    # when
    response = client_for(personas[persona]).get(scan_url(finished_scan))

    # then
    rows = response.json()["rows"]
    assert all(r["redacted"] and r["prompt"] is None and r["completion"] is None for r in rows)
    assert all(r["fingerprint"] for r in rows)
    assert not any(text in response.content.decode() for text in ITEM_TEXTS)


def test_list_holds_no_item_text_and_filters_by_request(client_for, carol, finished_scan, in_state):
    # given
    other = in_state("approved")

    # when
    client = client_for(carol)
    everything = client.get("/api/scans/")
    of_request = client.get("/api/scans/", {"request": finished_scan.request_id}).json()
    of_other = client.get("/api/scans/", {"request": other.pk}).json()
    done = client.get("/api/scans/", {"status": "done"}).json()

    # then
    assert [s["id"] for s in everything.json()["results"]] == [finished_scan.pk]
    assert not any(text in everything.content.decode() for text in ITEM_TEXTS)
    assert [s["id"] for s in of_request["results"]] == [finished_scan.pk]
    assert of_other["results"] == []
    assert done["count"] == 1


@pytest.mark.parametrize("query", [{"request": "x"}, {"request": "1.5"}, {"status": "lost"}])
def test_list_filters_refuse_malformed_values(client_for, carol, finished_scan, query):
    assert client_for(carol).get("/api/scans/", query).status_code == 400


def test_another_requester_sees_no_scan(client_for, mallory, finished_scan):
    # when
    client = client_for(mallory)
    listed = client.get("/api/scans/").json()
    detail = client.get(scan_url(finished_scan))

    # then
    assert listed["count"] == 0
    assert detail.status_code == 404


def test_an_id_that_names_no_scan_is_404(client_for, dave):
    assert client_for(dave).get(scan_url(10**9)).status_code == 404
