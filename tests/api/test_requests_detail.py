"""GET /api/requests/{id}/: who sees a request, and who sees its personal data."""

import pytest

from remediation.services.forget_requests import forget_request_shred
from tests.api.conftest import post, url
from tests.conftest import ITEMS

SUBJECT = "Maria Okafor, customer 4711"
SECRETS = [SUBJECT, *(text for item in ITEMS for text in (item.prompt, item.completion))]


def test_requester_sees_own_draft_in_cleartext(client_for, alice, in_state):
    # given
    request = in_state("draft")

    # when
    response = client_for(alice).get(url(request))

    # then
    assert response.status_code == 200
    body = response.json()
    assert body["ticket"] == request.ticket
    assert body["subject_reference"] == SUBJECT
    assert body["items_redacted"] is False
    assert [i["completion"] for i in body["items"]] == [i.completion for i in ITEMS]
    assert body["items"][1]["preferred"] == "I can't share that."


@pytest.mark.parametrize("persona", ["bob", "carol"])
def test_reviewer_and_approver_see_cleartext(client_for, personas, in_state, persona):
    # given
    request = in_state("submitted")

    # when
    response = client_for(personas[persona]).get(url(request))

    # then
    body = response.json()
    assert body["subject_reference"] == SUBJECT
    assert body["items"][0]["prompt"] == ITEMS[0].prompt
    assert body["items"][0]["redacted"] is False


@pytest.mark.parametrize("persona", ["dave", "erin", "frank"])
def test_operator_auditor_and_admin_see_items_redacted(client_for, personas, in_state, persona):
    # given
    request = in_state("approved")

    # when
    response = client_for(personas[persona]).get(url(request))

    # then
    assert response.status_code == 200
    body = response.json()
    assert body["items_redacted"] is True
    assert body["subject_reference"] is None
    assert body["subject_reference_redacted"] is True
    assert body["items"][0] == {
        "position": 1,
        "prompt": None,
        "completion": None,
        "preferred": None,
        "fingerprint": request.items.get(position=1).fingerprint,
        "redacted": True,
        "shredded": False,
    }
    raw = response.content.decode()
    assert not [secret for secret in SECRETS if secret in raw]


@pytest.mark.parametrize("persona", ["bob", "carol", "dave", "erin", "frank", "mallory"])
def test_draft_is_seen_by_its_requester_only(client_for, personas, in_state, persona):
    # given
    request = in_state("draft")

    # when
    response = client_for(personas[persona]).get(url(request))

    # then
    assert response.status_code == 404
    assert "Maria" not in response.content.decode()


def test_mallory_cannot_see_alices_submitted_request(client_for, mallory, in_state):
    # when
    response = client_for(mallory).get(url(in_state("submitted")))

    # then
    assert response.status_code == 404


def test_operator_cannot_see_a_submitted_request(client_for, dave, in_state):
    # when
    response = client_for(dave).get(url(in_state("submitted")))

    # then
    assert response.status_code == 404


@pytest.mark.parametrize("path", ["999999", "abc", "-1", "99999999999999999999999"])
def test_unknown_or_malformed_id_is_404(client_for, alice, path):
    # when
    response = client_for(alice).get(f"/api/requests/{path}/")

    # then
    assert response.status_code == 404


@pytest.mark.parametrize("persona", ["alice", "bob", "frank"])
def test_shredded_items_show_no_text_to_anyone(client_for, personas, in_state, frank, persona):
    # given
    request = in_state("rejected")
    forget_request_shred(request=request, actor=frank)

    # when
    response = client_for(personas[persona]).get(url(request))

    # then
    assert response.status_code == 200
    body = response.json()
    assert body["shredded"] is True
    assert body["subject_reference"] is None
    assert all(i["shredded"] and i["prompt"] is None for i in body["items"])
    assert [i["position"] for i in body["items"]] == [1, 2]
    raw = response.content.decode()
    assert not [secret for secret in SECRETS if secret in raw]


def test_action_responses_are_redacted_too(client_for, frank, in_state):
    # when: the admin cancels a request, and gets it back in the response
    response = post(client_for(frank), url(in_state("submitted"), "cancel"), {"reason": "Dup"})

    # then
    assert response.status_code == 200
    assert response.json()["items_redacted"] is True
    raw = response.content.decode()
    assert not [secret for secret in SECRETS if secret in raw]


def test_anonymous_is_refused(client, in_state):
    # when
    response = client.get(url(in_state("submitted")))

    # then
    assert response.status_code in (401, 403)
    assert "Maria" not in response.content.decode()
