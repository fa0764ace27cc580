"""Every role × every page action: who gets through, who gets a 404 (unseen) or a refusal.

A submitted request of Alice's is the object; 'allowed' means the page answered and the
action took effect (or the page rendered), 'denied' that nothing changed."""

import pytest
from django.urls import reverse

from remediation.models import ForgetRequest
from remediation.services.forget_requests import forget_request_submit

pytestmark = pytest.mark.django_db

ROLES = ["alice", "bob", "carol", "dave", "erin", "frank", "mallory"]

# page name -> the personas that may open it (everyone else: 404)
PAGES = {
    "request_new": {"alice", "mallory"},
    "model_register": {"dave", "frank"},
    "audit_list": {"erin", "frank"},
    "run_new": {"dave"},
}
# Who can see Alice's submitted request (the others get 404 on the page and on actions).
SEES_SUBMITTED = {"alice", "bob", "carol", "erin", "frank"}


@pytest.mark.parametrize("who", ROLES)
@pytest.mark.parametrize("page", sorted(PAGES))
def test_pages_open_only_for_their_roles(client_for, model_dir, who, page):
    response = client_for(who).get(reverse(page))
    assert response.status_code == (200 if who in PAGES[page] else 404)


@pytest.mark.parametrize("who", ROLES)
def test_who_sees_a_submitted_request(client_for, make_request, alice, who):
    request = make_request(alice)
    forget_request_submit(request=request, actor=alice)
    response = client_for(who).get(reverse("request_detail", args=[request.pk]))
    assert response.status_code == (200 if who in SEES_SUBMITTED else 404)


# action -> (form data, the personas allowed on a submitted request, resulting status)
ACTIONS = {
    "review": ({"identity_verified": "on", "identity_method": "ID"}, {"bob"}, "in_review"),
    "reject": ({"reason": "no legal ground"}, {"bob"}, "rejected"),
    "cancel": ({"reason": "withdrawn"}, {"alice", "frank"}, "cancelled"),  # requester, admin
    "approve": ({}, set(), None),  # nobody: it is not in review yet
    "submit": ({}, set(), None),  # nobody: it is no draft any more
    "shred": ({}, set(), None),  # nobody: it is still open
}


@pytest.mark.parametrize("who", ROLES)
@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_actions_on_a_submitted_request(client_for, make_request, alice, who, action):
    # given
    request = make_request(alice)
    forget_request_submit(request=request, actor=alice)
    data, allowed, result = ACTIONS[action]
    # when
    response = client_for(who).post(reverse("request_action", args=[request.pk, action]), data)
    # then
    request.refresh_from_db()
    if who not in SEES_SUBMITTED:
        assert response.status_code == 404
    else:
        assert response.status_code == 302
    if who in allowed:
        assert request.status == result
    else:
        assert request.status == ForgetRequest.Status.SUBMITTED


@pytest.mark.parametrize("who", ROLES)
def test_extension_is_for_reviewers_and_approvers(client_for, make_request, alice, who):
    import datetime

    request = make_request(alice)
    forget_request_submit(request=request, actor=alice)
    data = {"months": "1", "reason": "complex", "subject_notified_on": str(datetime.date.today())}
    client_for(who).post(reverse("request_action", args=[request.pk, "extend"]), data)
    request.refresh_from_db()
    assert (request.extended_due_on is not None) == (who in {"bob", "carol"})
