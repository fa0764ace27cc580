"""Who may see and do what, per role and per request status: the predicates of
remediation.permissions and the selector the pages and API start from."""

from collections.abc import Callable

import pytest
from django.contrib.auth.models import AnonymousUser, User

from remediation import permissions, roles
from remediation.models import ForgetRequest
from remediation.selectors import forget_requests_visible_to
from tests.conftest import PERSONAS, make_user

Status = ForgetRequest.Status
ALL = set(Status.values)
NOT_DRAFT = ALL - {Status.DRAFT}
OPERATOR_SEES = {
    Status.APPROVED,
    Status.SCHEDULED,
    Status.RUNNING,
    Status.VERIFYING,
    Status.AWAITING_SIGNOFF,
    Status.COMPLETED,
    Status.FAILED,
}

# persona -> the statuses of Alice's requests they may see
VISIBLE = {
    "alice": ALL,  # her own, drafts included
    "mallory": set(),  # another requester sees nothing of Alice's
    "bob": NOT_DRAFT,
    "carol": NOT_DRAFT,
    "dave": OPERATOR_SEES,
    "erin": NOT_DRAFT,
    "frank": NOT_DRAFT,
}
# persona -> the statuses in which they may read item text and the subject reference
ITEM_TEXT = {
    "alice": ALL,
    "mallory": set(),
    "bob": NOT_DRAFT,
    "carol": NOT_DRAFT,
    "dave": set(),
    "erin": set(),
    "frank": set(),
}
# predicate -> {status: personas allowed}; Bob reviewed every request past submission.
ACTIONS: dict[str, dict[str, set[str]]] = {
    "can_edit_request": {Status.DRAFT: {"alice"}},
    "can_submit_request": {Status.DRAFT: {"alice"}},
    "can_review_request": {Status.SUBMITTED: {"bob"}},
    "can_approve_request": {Status.IN_REVIEW: {"carol"}},
    "can_reject_request": {Status.SUBMITTED: {"bob"}, Status.IN_REVIEW: {"carol"}},
    "can_cancel_request": {
        s: {"alice", "frank"}
        for s in (Status.DRAFT, Status.SUBMITTED, Status.IN_REVIEW, Status.APPROVED)
    },
    "can_extend_request": {
        s: {"bob", "carol"} for s in (Status.SUBMITTED, Status.IN_REVIEW, Status.APPROVED)
    },
    "can_shred_request": {
        s: {"frank"} for s in (Status.COMPLETED, Status.REJECTED, Status.CANCELLED)
    },
    "can_scan": {s: {"dave"} for s in OPERATOR_SEES},
}
USER_LEVEL = {
    "can_create_request": {"alice", "mallory"},
    "can_register_model": {"dave", "frank"},
    "can_view_audit": {"erin", "frank"},
    "can_plan_run": {"dave"},
    "can_view_models": set(PERSONAS),
}


@pytest.fixture
def every_status(request_in) -> dict[str, ForgetRequest]:
    """One request of Alice's in each status."""
    return {status: request_in(status) for status in Status.values}


def mismatches(
    predicate: Callable[[User, ForgetRequest], bool],
    users: dict[str, User],
    requests: dict[str, ForgetRequest],
    expected: dict[str, set[str]],
) -> list[str]:
    """Every (persona, status) where the predicate disagrees with expected[persona]."""
    return [
        f"{name}@{status}: got {allowed}, expected {not allowed}"
        for name, user in users.items()
        for status, request in requests.items()
        if (allowed := predicate(user, request)) != (status in expected[name])
    ]


def test_visibility_per_role_and_status(personas, every_status):
    # when
    wrong = mismatches(permissions.can_view_request, personas, every_status, VISIBLE)
    # then
    assert wrong == []


def test_the_selector_shows_exactly_what_may_be_seen(personas, every_status):
    # when
    seen = {
        name: sorted(forget_requests_visible_to(user).values_list("status", flat=True))
        for name, user in personas.items()
    }
    # then
    assert seen == {name: sorted(statuses) for name, statuses in VISIBLE.items()}


def test_item_text_only_for_the_requester_reviewers_and_approvers(personas, every_status):
    # when
    wrong = mismatches(permissions.can_see_item_text, personas, every_status, ITEM_TEXT)
    # then
    assert wrong == []


def test_action_matrix(personas, every_status):
    # given: for each predicate, the statuses in which each persona is allowed
    expected = {
        predicate: {
            name: {status for status, who in allowed.items() if name in who} for name in personas
        }
        for predicate, allowed in ACTIONS.items()
    }
    # when
    wrong = {
        predicate: mismatches(getattr(permissions, predicate), personas, every_status, by_name)
        for predicate, by_name in expected.items()
    }
    # then
    assert {predicate: found for predicate, found in wrong.items() if found} == {}


@pytest.mark.parametrize("predicate", list(USER_LEVEL))
def test_user_level_predicates(personas, predicate):
    # when
    allowed = {name for name, user in personas.items() if getattr(permissions, predicate)(user)}
    # then
    assert allowed == USER_LEVEL[predicate]


def test_anonymous_sees_and_may_do_nothing(every_status):
    # given
    anonymous = AnonymousUser()
    # when / then
    assert not forget_requests_visible_to(anonymous).exists()
    assert not any(permissions.can_view_request(anonymous, r) for r in every_status.values())
    assert not permissions.can_create_request(anonymous)
    assert not permissions.can_view_models(anonymous)
    assert not permissions.can_view_audit(anonymous)


def test_a_requester_with_a_reviewer_role_sees_own_drafts_and_others_submissions(
    every_status, file_request
):
    # given
    rita = make_user("rita", roles.REQUESTER, roles.REVIEWER)
    own_draft = file_request(rita)
    # when
    visible = set(forget_requests_visible_to(rita))
    # then
    assert own_draft in visible
    assert every_status[Status.DRAFT] not in visible
    assert every_status[Status.SUBMITTED] in visible
    assert permissions.can_see_item_text(rita, every_status[Status.SUBMITTED])


def test_a_superuser_holds_the_admin_role(every_status):
    # given
    root = User.objects.create_superuser("root", password="x" * 12)
    # when / then
    assert roles.roles_of(root) == {roles.ADMIN}
    assert permissions.can_shred_request(root, every_status[Status.COMPLETED])
    assert forget_requests_visible_to(root).count() == len(NOT_DRAFT)


def test_an_approver_who_requested_cannot_approve_own(every_status, file_request, bob):
    # given
    paula = make_user("paula", roles.REQUESTER, roles.APPROVER)
    request = file_request(paula)
    ForgetRequest.objects.filter(pk=request.pk).update(status=Status.IN_REVIEW, reviewer=bob)
    request.refresh_from_db()
    # when / then
    assert not permissions.is_four_eyes_clear(paula, request)
    assert not permissions.can_approve_request(paula, request)
    assert permissions.can_approve_request(make_user("carla", roles.APPROVER), request)
