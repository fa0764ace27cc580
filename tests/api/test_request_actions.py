"""POST /api/requests/{id}/<action>/: the lifecycle over the API, and its refusals."""

import datetime

import pytest

from remediation.models import AuditEvent, ForgetRequest
from remediation.services.forget_requests import forget_request_is_shredded
from tests.api.conftest import post, url

TODAY = datetime.date.today()
REVIEW = {"identity_verified": True, "identity_method": "Passport copy", "scope_note": "All"}
EXTEND = {"months": 2, "reason": "Complex case", "subject_notified_on": str(TODAY)}
PAYLOADS = {
    "submit": None,
    "review": REVIEW,
    "approve": None,
    "reject": {"reason": "Not ours"},
    "cancel": {"reason": "Withdrawn"},
    "extend": EXTEND,
    "shred": None,
    "items": [{"prompt": "Another prompt", "completion": "another completion"}],
}


def status_of(request: ForgetRequest) -> str:
    request.refresh_from_db()
    return request.status


def test_requester_submits_draft(client_for, alice, in_state):
    # given
    request = in_state("draft")

    # when
    response = post(client_for(alice), url(request, "submit"))

    # then
    assert response.status_code == 200
    assert response.json()["status"] == "submitted"
    assert response.json()["submitted_at"]


def test_reviewer_reviews(client_for, bob, in_state):
    # given
    request = in_state("submitted")

    # when
    response = post(client_for(bob), url(request, "review"), REVIEW)

    # then
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["reviewer"]) == ("in_review", "bob")
    assert body["identity_method"] == "Passport copy"


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"identity_verified": False, "identity_method": "Passport"}, "identity_method"),
        ({"identity_verified": True, "identity_method": "  "}, "identity_method"),
        ({"identity_method": "Passport"}, "identity_verified"),
        ({"identity_verified": "maybe", "identity_method": "Passport"}, "identity_verified"),
        ({"identity_verified": True, "identity_method": "x" * 201}, "identity_method"),
    ],
)
def test_review_without_verified_identity_is_400(client_for, bob, in_state, payload, field):
    # given
    request = in_state("submitted")

    # when
    response = post(client_for(bob), url(request, "review"), payload)

    # then
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert status_of(request) == "submitted"


def test_approver_approves(client_for, carol, in_state):
    # given
    request = in_state("in_review")

    # when
    response = post(client_for(carol), url(request, "approve"))

    # then
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["approver"]) == ("approved", "carol")


def test_reviewer_rejects_submitted_request(client_for, bob, in_state):
    # given
    request = in_state("submitted")

    # when
    response = post(client_for(bob), url(request, "reject"), {"reason": "Not personal data"})

    # then
    assert response.status_code == 200
    assert response.json()["status"] == "rejected"
    assert response.json()["decision_reason"] == "Not personal data"


def test_approver_rejects_request_in_review(client_for, carol, in_state):
    # when
    response = post(client_for(carol), url(in_state("in_review"), "reject"), {"reason": "No"})

    # then
    assert response.json()["status"] == "rejected"


@pytest.mark.parametrize("payload", [{}, {"reason": ""}, {"reason": "  "}, {"reason": 5}])
def test_reject_needs_a_reason(client_for, bob, in_state, payload):
    # given
    request = in_state("submitted")

    # when
    response = post(client_for(bob), url(request, "reject"), payload)

    # then
    assert response.status_code == 400
    assert "reason" in response.json()["errors"]
    assert status_of(request) == "submitted"


@pytest.mark.parametrize("persona, status", [("alice", "draft"), ("frank", "submitted")])
def test_requester_or_admin_cancels(client_for, personas, in_state, persona, status):
    # given
    request = in_state(status)

    # when
    response = post(client_for(personas[persona]), url(request, "cancel"), {})

    # then
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"


def test_reviewer_extends_once(client_for, bob, in_state):
    # given
    request = in_state("submitted")
    client = client_for(bob)

    # when
    first = post(client, url(request, "extend"), EXTEND)
    second = post(client, url(request, "extend"), EXTEND)

    # then
    assert first.status_code == 200
    request.refresh_from_db()
    assert first.json()["extended_due_on"] == str(request.extended_due_on)
    assert request.extended_due_on > request.due_on
    assert first.json()["extension_reason"] == "Complex case"
    assert second.status_code == 403


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"months": 3}, "months"),
        ({"months": 0}, "months"),
        ({"months": "two"}, "months"),
        ({"reason": ""}, "reason"),
        ({"subject_notified_on": str(TODAY + datetime.timedelta(days=1))}, "subject_notified_on"),
        ({"subject_notified_on": "2000-01-01"}, "subject_notified_on"),
        ({"subject_notified_on": "yesterday"}, "subject_notified_on"),
    ],
)
def test_bad_extension_is_400(client_for, bob, in_state, overrides, field):
    # given
    request = in_state("submitted")

    # when
    response = post(client_for(bob), url(request, "extend"), {**EXTEND, **overrides})

    # then
    assert response.status_code == 400
    assert field in response.json()["errors"]
    request.refresh_from_db()
    assert request.extended_due_on is None


def test_admin_shreds_closed_request(client_for, frank, in_state):
    # given
    request = in_state("rejected")

    # when
    response = post(client_for(frank), url(request, "shred"))
    again = post(client_for(frank), url(request, "shred"))

    # then
    assert response.status_code == 200
    assert response.json()["shredded"] is True
    assert forget_request_is_shredded(request)
    assert again.status_code == 409


def test_admin_cannot_shred_open_request(client_for, frank, in_state):
    # given
    request = in_state("submitted")

    # when
    response = post(client_for(frank), url(request, "shred"))

    # then
    assert response.status_code == 403
    assert not forget_request_is_shredded(request)


def test_acting_on_a_request_in_the_wrong_state_is_refused(client_for, alice, carol, in_state):
    # given
    request = in_state("approved")

    # when
    submit = post(client_for(alice), url(request, "submit"))
    approve = post(client_for(carol), url(request, "approve"))

    # then
    assert submit.status_code == 403
    assert approve.status_code == 403
    assert status_of(request) == "approved"


def test_lost_race_is_409(client_for, carol, in_state, monkeypatch):
    # given: Carol loaded the request while it was in review; someone else approved it since.
    request = in_state("in_review")
    stale = ForgetRequest.objects.get(pk=request.pk)
    ForgetRequest.objects.filter(pk=request.pk).update(status="cancelled")
    monkeypatch.setattr(
        "remediation.api.forget_requests.ForgetRequestViewSet.get_object", lambda self: stale
    )

    # when
    response = post(client_for(carol), url(request, "approve"))

    # then
    assert response.status_code == 409
    assert "someone else" in response.json()["detail"]


@pytest.mark.parametrize("action", sorted(PAYLOADS))
@pytest.mark.parametrize("status", ["draft", "submitted", "rejected"])
def test_mallory_gets_404_for_every_action_on_alices_request(
    client_for, mallory, in_state, action, status
):
    # given
    request = in_state(status)
    events = AuditEvent.objects.count()

    # when
    response = post(client_for(mallory), url(request, action), PAYLOADS[action])

    # then
    assert response.status_code == 404
    assert status_of(request) == status
    assert AuditEvent.objects.count() == events


def test_mallory_gets_404_for_the_timeline(client_for, mallory, in_state):
    # when
    response = client_for(mallory).get(url(in_state("submitted"), "timeline"))

    # then
    assert response.status_code == 404


@pytest.mark.parametrize("action", sorted(PAYLOADS))
def test_operator_gets_404_for_every_action_on_a_submitted_request(
    client_for, dave, in_state, action
):
    # given
    request = in_state("submitted")

    # when
    response = post(client_for(dave), url(request, action), PAYLOADS[action])

    # then
    assert response.status_code == 404
    assert status_of(request) == "submitted"


def test_timeline_lists_the_requests_events_without_item_text(client_for, erin, in_state):
    # given
    request = in_state("approved")

    # when
    response = client_for(erin).get(url(request, "timeline"))

    # then
    assert response.status_code == 200
    actions = [event["action"] for event in response.json()]
    assert actions == [
        "forget_request.created",
        "forget_request.submitted",
        "forget_request.reviewed",
        "forget_request.approved",
    ]
    assert "Maria" not in response.content.decode()


@pytest.mark.parametrize("action", ["review", "reject", "cancel", "extend"])
@pytest.mark.parametrize("body", ["[1]", '"text"', "{broken"])
def test_action_with_a_body_that_is_not_an_object_is_400(client_for, bob, in_state, action, body):
    # given
    request = in_state("submitted")

    # when
    response = client_for(bob).post(url(request, action), body, content_type="application/json")

    # then
    assert response.status_code == 400
    assert status_of(request) == "submitted"
