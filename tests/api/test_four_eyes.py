"""Four eyes over the API: the approver is never the requester or the reviewer."""

from remediation import roles
from tests.api.conftest import post, url
from tests.conftest import make_user

REVIEW = {"identity_verified": True, "identity_method": "Passport"}


def test_reviewer_who_also_approves_cannot_approve_what_they_reviewed(client_for, in_state):
    # given: Ross holds both roles and reviews Alice's request
    ross = make_user("ross", roles.REVIEWER, roles.APPROVER)
    request = in_state("submitted")
    client = client_for(ross)
    assert post(client, url(request, "review"), REVIEW).status_code == 200

    # when
    response = post(client, url(request, "approve"))

    # then
    assert response.status_code == 403
    assert "Four eyes" in response.json()["detail"]
    request.refresh_from_db()
    assert request.status == "in_review"
    assert request.approver is None


def test_requester_who_also_approves_cannot_approve_own_request(client_for, in_state):
    # given: Rita files requests and approves others'; her own request is in review
    rita = make_user("rita", roles.REQUESTER, roles.APPROVER)
    request = in_state("in_review", requester=rita)

    # when
    response = post(client_for(rita), url(request, "approve"))

    # then
    assert response.status_code == 403
    assert "Four eyes" in response.json()["detail"]
    request.refresh_from_db()
    assert request.status == "in_review"


def test_requester_who_also_reviews_cannot_review_own_request(client_for, in_state):
    # given
    rex = make_user("rex", roles.REQUESTER, roles.REVIEWER)
    request = in_state("submitted", requester=rex)

    # when
    response = post(client_for(rex), url(request, "review"), REVIEW)

    # then
    assert response.status_code == 403
    request.refresh_from_db()
    assert request.status == "submitted"


def test_a_second_approver_can_approve(client_for, in_state, carol):
    # given: reviewed by Bob
    request = in_state("in_review")

    # when
    response = post(client_for(carol), url(request, "approve"))

    # then
    assert response.status_code == 200
    assert response.json()["reviewer"] == "bob"
    assert response.json()["approver"] == "carol"
