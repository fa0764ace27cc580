"""Remediation runs over the API: methods, planning, the run's state and events, approval
with four eyes, rejection and cancellation; invisible runs are 404s.

Dave (operator) plans on Alice's approved request; Carol (approver) approves; Mallory,
another requester, must see nothing.
"""

import json
from typing import Any

import pytest
from rest_framework.test import APIClient

from remediation.models import AuditEvent, ForgetRequest, ModelVersion, RemediationRun
from remediation.services import run_options
from remediation.services.accounts import role_groups_ensure
from remediation.services.runs import run_approve
from tests.api.conftest import post
from tests.conftest import ITEMS

ITEM_TEXTS = [text for item in ITEMS for text in (item.prompt, item.completion)]


def run_url(run: RemediationRun | int, action: str = "") -> str:
    pk = run if isinstance(run, int) else run.pk
    return f"/api/runs/{pk}/{action + '/' if action else ''}"


def as_json(value: Any) -> Any:
    """The value as it comes back over JSON (the engine's tuples become lists)."""
    return json.loads(json.dumps(value))


def grant(user: Any, role: str) -> None:
    user.groups.add(role_groups_ensure()[role])


def plan_payload(request: ForgetRequest, version: ModelVersion, **overrides: Any) -> dict:
    return {"model_version": version.pk, "requests": [request.pk], **overrides}


def snapshot() -> tuple[Any, ...]:
    runs = list(RemediationRun.objects.values_list("pk", "status"))
    requests = list(ForgetRequest.objects.values_list("pk", "status"))
    return runs, requests, AuditEvent.objects.count()


# ---- methods ---------------------------------------------------------------------------


def test_methods_lists_every_method_with_its_defaults_and_the_policy(client_for, mallory):
    # when
    response = client_for(mallory).get("/api/methods/")

    # then
    assert response.status_code == 200
    body = response.json()
    names = [m["name"] for m in body["methods"]]
    assert names == run_options.method_names()
    assert body["default_method"] == names[0] == run_options.default_method()
    assert [m["default"] for m in body["methods"]] == [True] + [False] * (len(names) - 1)
    assert body["methods"][0]["settings"] == as_json(run_options.method_defaults(names[0]))
    assert body["policy"] == as_json(run_options.policy_defaults())


def test_methods_need_a_signed_in_user(db):
    assert APIClient().get("/api/methods/").status_code == 401


# ---- planning --------------------------------------------------------------------------


def test_operator_plans_a_run_with_defaults_filled_in(client_for, dave, approved_request, version):
    # given
    payload = plan_payload(
        approved_request,
        version,
        method="grad_ascent",
        settings={"lr": 0.0005},
        policy={"max_recovery": 0.2},
        seed=7,
    )

    # when
    response = post(client_for(dave), "/api/runs/", payload)

    # then
    assert response.status_code == 201, response.content
    body = response.json()
    run = RemediationRun.objects.get()
    assert body["id"] == run.pk
    assert body["status"] == "planned"
    assert body["planned_by"] == "dave"
    assert body["method"] == "grad_ascent"
    assert body["settings"] == as_json({**run_options.method_defaults("grad_ascent"), "lr": 5e-4})
    assert body["policy"] == as_json({**run_options.policy_defaults(), "max_recovery": 0.2})
    assert body["seed"] == 7
    assert body["requests"] == [
        {"id": approved_request.pk, "ticket": approved_request.ticket, "status": "approved"}
    ]
    assert body["result"] == {"passed": None, "failures": [], "checks": []}
    assert body["report"] is None
    assert AuditEvent.objects.filter(action="run.planned", object_id=str(run.pk)).exists()


def test_a_plan_without_a_method_gets_the_default(client_for, dave, approved_request, version):
    # when
    response = post(client_for(dave), "/api/runs/", plan_payload(approved_request, version))

    # then
    assert response.status_code == 201, response.content
    default = run_options.default_method()
    assert response.json()["method"] == default
    assert response.json()["settings"] == as_json(run_options.method_defaults(default))


@pytest.mark.parametrize("persona", ["alice", "bob", "carol", "erin", "frank"])
def test_only_operators_plan_runs(client_for, personas, approved_request, version, persona):
    # given
    before = snapshot()

    # when
    response = post(
        client_for(personas[persona]), "/api/runs/", plan_payload(approved_request, version)
    )

    # then
    assert response.status_code == 403
    assert "operator" in response.json()["detail"]
    assert snapshot() == before


BAD_PLANS = {
    "unknown method": ({"method": "no_such_method"}, "method"),
    "blank method": ({"method": ""}, "method"),
    "method not a string": ({"method": 3}, "method"),
    "settings not an object": ({"settings": [1, 2]}, "settings"),
    "settings a string": ({"settings": "lr=1"}, "settings"),
    "unknown setting": ({"settings": {"no_such_setting": 1}}, "settings"),
    "setting of the wrong type": ({"settings": {"lr": "fast"}}, "settings"),
    "setting out of range": ({"settings": {"lr": -1}}, "settings"),
    "infinite setting": ({"settings": {"lr": "1e400"}}, "settings"),
    "setting too large for a float": ({"settings": {"lr": 10**400}}, "settings"),
    "policy not an object": ({"policy": 0.5}, "policy"),
    "unknown policy field": ({"policy": {"no_such_threshold": 1}}, "policy"),
    "policy bounds reversed": ({"policy": {"mia_auc_low": 0.9, "mia_auc_high": 0.1}}, "policy"),
    "unknown attack": ({"policy": {"attacks": ["emp"]}}, "policy"),
    "attacks not a list": ({"policy": {"attacks": 5}}, "policy"),
    "policy value of the wrong type": ({"policy": {"samples": "many"}}, "policy"),
    "seed negative": ({"seed": -1}, "seed"),
    "seed too large": ({"seed": 2**31}, "seed"),
    "seed not a number": ({"seed": "seven"}, "seed"),
    "seed not whole": ({"seed": 1.5}, "seed"),
    "no requests": ({"requests": []}, "requests"),
    "requests not a list": ({"requests": 1}, "requests"),
    "request that does not exist": ({"requests": [10**9]}, "requests"),
    "request id too large": ({"requests": [2**63]}, "requests"),
    "version that does not exist": ({"model_version": 10**9}, "model_version"),
    "version not a number": ({"model_version": "v1"}, "model_version"),
    "version missing": ({"model_version": None}, "model_version"),
}


@pytest.mark.parametrize("change, field", BAD_PLANS.values(), ids=list(BAD_PLANS))
def test_malformed_plans_are_400_and_create_nothing(
    client_for, dave, approved_request, version, change, field
):
    # given
    before = snapshot()
    payload = {**plan_payload(approved_request, version), **change}

    # when
    response = post(client_for(dave), "/api/runs/", payload)

    # then
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["detail"]
    assert field in body["errors"], body
    assert snapshot() == before


def test_a_plan_body_that_is_not_an_object_is_400(client_for, dave):
    # when
    response = post(client_for(dave), "/api/runs/", [1, 2])

    # then
    assert response.status_code == 400
    assert RemediationRun.objects.count() == 0


def test_a_request_the_operator_may_not_see_is_unknown(client_for, dave, in_state, version):
    # given: a request still in review is not the operator's business yet
    request = in_state("in_review")
    before = snapshot()

    # when
    response = post(client_for(dave), "/api/runs/", plan_payload(request, version))

    # then
    assert response.status_code == 400
    assert response.json()["errors"]["requests"] == [f"Unknown request id(s): {request.pk}."]
    assert snapshot() == before


def test_a_request_that_is_not_approved_is_refused(client_for, dave, planned_run, carol, version):
    # given: the request is scheduled in an approved run already
    run_approve(run=planned_run, actor=carol)
    request = planned_run.requests.get()
    before = snapshot()

    # when
    response = post(client_for(dave), "/api/runs/", plan_payload(request, version))

    # then
    assert response.status_code == 400
    assert "Not approved" in response.json()["detail"]
    assert request.ticket in response.json()["detail"]
    assert snapshot() == before


def test_a_version_of_a_model_out_of_scope_is_refused(
    client_for, dave, approved_request, out_of_scope_version
):
    # given
    version = out_of_scope_version
    before = snapshot()

    # when
    response = post(client_for(dave), "/api/runs/", plan_payload(approved_request, version))

    # then
    assert response.status_code == 400
    assert "other-bot is not in the scope" in response.json()["detail"]
    assert snapshot() == before


# ---- reading ---------------------------------------------------------------------------


def test_list_shows_runs_and_filters_by_status(client_for, dave, planned_run):
    # given
    client = client_for(dave)

    # when
    everything = client.get("/api/runs/").json()
    planned = client.get("/api/runs/", {"status": "planned"}).json()
    running = client.get("/api/runs/", {"status": "running"}).json()

    # then
    assert [r["id"] for r in everything["results"]] == [planned_run.pk]
    assert everything["results"][0]["label"] == planned_run.label
    assert planned["count"] == 1
    assert running["count"] == 0


def test_list_filter_with_an_unknown_status_is_400(client_for, dave, planned_run):
    assert client_for(dave).get("/api/runs/", {"status": "exploded"}).status_code == 400


def test_list_filters_by_request(client_for, dave, planned_run, in_state):
    # given
    other = in_state("approved")

    # when
    client = client_for(dave)
    mine = client.get("/api/runs/", {"request": planned_run.requests.get().pk}).json()
    theirs = client.get("/api/runs/", {"request": other.pk}).json()

    # then
    assert [r["id"] for r in mine["results"]] == [planned_run.pk]
    assert theirs["results"] == []


def test_requester_sees_the_run_on_her_request(client_for, alice, planned_run):
    # when
    client = client_for(alice)
    listed = client.get("/api/runs/").json()
    detail = client.get(run_url(planned_run))

    # then
    assert [r["id"] for r in listed["results"]] == [planned_run.pk]
    assert detail.status_code == 200
    assert detail.json()["status"] == "planned"


def test_another_requester_sees_no_run(client_for, mallory, planned_run):
    # when
    client = client_for(mallory)
    listed = client.get("/api/runs/").json()
    responses = [
        client.get(run_url(planned_run)),
        client.get(run_url(planned_run, "events")),
        post(client, run_url(planned_run, "approve")),
        post(client, run_url(planned_run, "cancel")),
    ]

    # then
    assert listed["count"] == 0
    assert [r.status_code for r in responses] == [404] * 4
    planned_run.refresh_from_db()
    assert planned_run.status == "planned"


def test_an_id_that_names_no_run_is_404(client_for, dave):
    assert client_for(dave).get(run_url(10**9)).status_code == 404
    assert client_for(dave).get("/api/runs/not-a-number/").status_code == 404


def test_detail_of_a_verified_run_has_the_verdict(client_for, carol, verified_run):
    # when
    response = client_for(carol).get(run_url(verified_run))

    # then
    body = response.json()
    assert body["status"] == "awaiting_signoff"
    assert body["phase"] == "remediate"
    assert (body["step"], body["total"]) == (1, 2)
    assert body["result"]["passed"] is True
    assert body["result"]["checks"] == [
        {
            "name": "extraction.verbatim",
            "value": 0.0,
            "op": "",
            "threshold": "<= 0.0",
            "passed": True,
        }
    ]
    assert body["output_version"] == verified_run.output_version_id
    assert body["approved_by"] == "carol"
    assert body["failure_reason"] == ""
    assert body["report"] is None


def test_no_run_response_holds_item_text(client_for, alice, carol, verified_run):
    # when: even the requester and the approver, who may read the items elsewhere
    texts = [
        client.get(path).content.decode()
        for client in (client_for(alice), client_for(carol))
        for path in ("/api/runs/", run_url(verified_run), run_url(verified_run, "events"))
    ]

    # then
    assert not any(item in text for item in ITEM_TEXTS for text in texts)


def test_a_requester_sees_only_her_own_tickets_in_a_shared_run(
    client_for, mallory, planned_run, in_state
):
    # given: Mallory's approved request joins the run on Alice's
    theirs = in_state("approved", requester=mallory)
    planned_run.requests.add(theirs)

    # when
    body = client_for(mallory).get(run_url(planned_run)).json()

    # then
    assert [r["id"] for r in body["requests"]] == [theirs.pk]


# ---- events ----------------------------------------------------------------------------


def test_events_are_the_persisted_history_in_order(client_for, alice, verified_run):
    # when
    response = client_for(alice).get(run_url(verified_run, "events"))

    # then
    assert response.status_code == 200
    body = response.json()
    seqs = [e["seq"] for e in body["results"]]
    assert seqs == list(range(1, verified_run.events.count() + 1))
    assert body["results"][0]["message"] == "Approved and queued"
    progress = next(e for e in body["results"] if e["kind"] == "progress")
    assert progress["metrics"] == {"forget_loss": 2.0, "retain_loss": 1.0}
    assert (progress["phase"], progress["step"], progress["total"]) == ("remediate", 1, 2)
    assert {e["status"] for e in body["results"]} == {"awaiting_signoff"}


def test_events_after_a_seq_are_only_the_newer_ones(client_for, alice, verified_run):
    # given
    last = verified_run.events.count()

    # when
    client = client_for(alice)
    newer = client.get(run_url(verified_run, "events"), {"after": last - 1}).json()
    none = client.get(run_url(verified_run, "events"), {"after": last}).json()
    paged = client.get(run_url(verified_run, "events"), {"after": 1, "page_size": 1}).json()

    # then
    assert [e["seq"] for e in newer["results"]] == [last]
    assert none["results"] == []
    assert [e["seq"] for e in paged["results"]] == [2]
    assert paged["count"] == last - 1


@pytest.mark.parametrize("after", ["x", "-1", "1.5", str(2**64)])
def test_events_after_must_be_a_seq(client_for, alice, verified_run, after):
    # when
    response = client_for(alice).get(run_url(verified_run, "events"), {"after": after})

    # then
    assert response.status_code == 400
    assert "after" in response.json()["errors"]


# ---- approve, reject, cancel -----------------------------------------------------------


def test_approver_approves_and_the_run_is_queued(client_for, carol, planned_run):
    # when
    response = post(client_for(carol), run_url(planned_run, "approve"))

    # then
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "queued"
    assert body["approved_by"] == "carol"
    assert body["requests"][0]["status"] == "scheduled"
    assert AuditEvent.objects.filter(action="run.approved").count() == 1


def test_four_eyes_the_planner_cannot_approve_even_as_approver(client_for, dave, planned_run):
    # given
    grant(dave, "approver")
    before = snapshot()

    # when
    response = post(client_for(dave), run_url(planned_run, "approve"))

    # then
    assert response.status_code == 403
    assert "Four eyes" in response.json()["detail"]
    assert snapshot() == before


@pytest.mark.parametrize("also_approver", [False, True], ids=["requester", "requester+approver"])
def test_the_requester_sees_the_run_but_cannot_approve_it(
    client_for, alice, planned_run, also_approver
):
    # given: even holding the approver role, she filed one of its requests
    if also_approver:
        grant(alice, "approver")
    client = client_for(alice)
    before = snapshot()

    # when
    seen = client.get(run_url(planned_run))
    response = post(client, run_url(planned_run, "approve"))

    # then
    assert seen.status_code == 200
    assert response.status_code == 403
    if also_approver:
        assert "Four eyes" in response.json()["detail"]
    assert snapshot() == before


def test_a_run_approved_already_cannot_be_approved_again(client_for, carol, frank, planned_run):
    # given
    grant(frank, "approver")
    post(client_for(carol), run_url(planned_run, "approve"))

    # when
    response = post(client_for(frank), run_url(planned_run, "approve"))

    # then
    assert response.status_code == 403  # no longer planned: nothing an approver may do
    planned_run.refresh_from_db()
    assert planned_run.approved_by.username == "carol"


def test_approver_rejects_a_plan_with_a_reason(client_for, carol, planned_run):
    # when
    response = post(client_for(carol), run_url(planned_run, "reject"), {"reason": "Too eager"})

    # then
    assert response.status_code == 200
    assert response.json()["status"] == "rejected"
    assert response.json()["failure_reason"] == "Too eager"
    assert planned_run.requests.get().status == "approved"


@pytest.mark.parametrize("payload", [{}, {"reason": ""}, {"reason": "  "}, {"reason": 5}, []])
def test_reject_needs_a_reason(client_for, carol, planned_run, payload):
    # given
    before = snapshot()

    # when
    response = post(client_for(carol), run_url(planned_run, "reject"), payload)

    # then
    assert response.status_code == 400
    assert snapshot() == before


def test_the_planner_cannot_reject_his_own_plan(client_for, dave, planned_run):
    # given
    grant(dave, "approver")

    # when
    response = post(client_for(dave), run_url(planned_run, "reject"), {"reason": "No"})

    # then
    assert response.status_code == 403
    planned_run.refresh_from_db()
    assert planned_run.status == "planned"


def test_operator_cancels_a_queued_run(client_for, carol, dave, planned_run):
    # given
    run_approve(run=planned_run, actor=carol)

    # when
    response = post(client_for(dave), run_url(planned_run, "cancel"))

    # then
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert planned_run.requests.get().status == "approved"


def test_cancelling_a_running_run_asks_the_worker_to_stop(client_for, dave, verified_run):
    # given
    RemediationRun.objects.filter(pk=verified_run.pk).update(status="running")

    # when
    response = post(client_for(dave), run_url(verified_run, "cancel"))

    # then
    assert response.status_code == 200
    assert response.json()["status"] == "running"
    assert response.json()["cancel_requested"] is True


@pytest.mark.parametrize("persona", ["alice", "carol", "erin"])
def test_only_operators_and_admins_cancel(client_for, personas, planned_run, persona):
    # given
    before = snapshot()

    # when
    response = post(client_for(personas[persona]), run_url(planned_run, "cancel"))

    # then
    assert response.status_code == 403
    assert snapshot() == before


def test_a_finished_run_cannot_be_cancelled(client_for, dave, verified_run):
    # when
    response = post(client_for(dave), run_url(verified_run, "cancel"))

    # then
    assert response.status_code == 403
    verified_run.refresh_from_db()
    assert verified_run.status == "awaiting_signoff"
