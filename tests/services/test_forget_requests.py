"""Forget requests: every transition, every refusal, the four-eyes rule and the races."""

import datetime
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection

from remediation import roles
from remediation.models import AuditEvent, ForgetRequest, RequestKey
from remediation.roles import roles_of
from remediation.services.audit import audit_chain_verify
from remediation.services.deadlines import due_date_for
from remediation.services.errors import InvalidTransition, NotAllowed, ValidationFailed
from remediation.services.forget_requests import (
    forget_request_add_items,
    forget_request_approve,
    forget_request_cancel,
    forget_request_extend,
    forget_request_is_shredded,
    forget_request_items,
    forget_request_reject,
    forget_request_review,
    forget_request_shred,
    forget_request_subject,
    forget_request_submit,
)
from remediation.services.item_files import ItemInput
from tests.conftest import ITEMS, make_user
from tests.services.conftest import audit_actions, snapshot

Status = ForgetRequest.Status
TODAY = datetime.date.today()
NEW_ITEM = ItemInput("Maria Okafor lives at", "12 Harbour Lane, Leeds")


def review(request: ForgetRequest, actor: User) -> ForgetRequest:
    return forget_request_review(
        request=request, actor=actor, identity_verified=True, identity_method="ID checked"
    )


# One call per action with valid arguments, so a refusal can only come from who or when.
ACTIONS: dict[str, Callable[[ForgetRequest, User], Any]] = {
    "submit": lambda r, u: forget_request_submit(request=r, actor=u),
    "review": review,
    "approve": lambda r, u: forget_request_approve(request=r, actor=u),
    "reject": lambda r, u: forget_request_reject(request=r, actor=u, reason="Not ours."),
    "cancel": lambda r, u: forget_request_cancel(request=r, actor=u),
    "extend": lambda r, u: forget_request_extend(
        request=r, actor=u, months=1, reason="Many models.", subject_notified_on=TODAY
    ),
    "shred": lambda r, u: forget_request_shred(request=r, actor=u),
    "add_items": lambda r, u: forget_request_add_items(request=r, actor=u, items=[NEW_ITEM]),
}


# --- the happy path, one transition at a time -------------------------------------------


def test_create_files_a_draft_under_its_own_key(make_request, alice, ml_model):
    # given / when
    request = make_request(alice)
    # then
    assert request.status == Status.DRAFT
    assert request.requester == alice
    assert request.due_on == due_date_for(request.received_on)
    assert list(request.models_in_scope.all()) == [ml_model]
    assert RequestKey.objects.get(request=request).wrapped_key is not None
    assert forget_request_subject(request) == "Maria Okafor, customer 4711"
    assert [(i.prompt, i.completion, i.preferred) for i in forget_request_items(request)] == [
        (item.prompt, item.completion, item.preferred) for item in ITEMS
    ]
    event = AuditEvent.objects.get()
    assert (event.action, event.object_id) == ("forget_request.created", str(request.pk))
    assert event.payload == {"kind": "pii", "items": 2, "models": [ml_model.pk]}


def test_requester_adds_items_to_a_draft(make_request, alice):
    # given
    request = make_request(alice)
    # when
    count = forget_request_add_items(request=request, actor=alice, items=[NEW_ITEM])
    # then
    assert count == 3
    items = forget_request_items(request)
    assert [i.position for i in items] == [1, 2, 3]
    assert items[2].completion == "12 Harbour Lane, Leeds"
    assert audit_actions()[-1] == "forget_request.items_added"


def test_requester_submits_a_draft(make_request, alice):
    # given
    request = make_request(alice)
    # when
    forget_request_submit(request=request, actor=alice)
    # then
    request.refresh_from_db()
    assert request.status == Status.SUBMITTED
    assert request.submitted_at is not None
    assert audit_actions() == ["forget_request.created", "forget_request.submitted"]


def test_reviewer_passes_a_submitted_request_on(request_in, bob):
    # given
    request = request_in(Status.SUBMITTED)
    # when
    forget_request_review(
        request=request,
        actor=bob,
        identity_verified=True,
        identity_method="  Passport seen by support  ",
        scope_note="Only the support bot.",
    )
    # then
    request.refresh_from_db()
    assert request.status == Status.IN_REVIEW
    assert request.reviewer == bob
    assert request.identity_verified is True
    assert request.identity_method == "Passport seen by support"
    assert request.scope_note == "Only the support bot."
    assert audit_actions()[-1] == "forget_request.reviewed"


def test_approver_approves_a_reviewed_request(request_in, carol):
    # given
    request = request_in(Status.IN_REVIEW)
    # when
    forget_request_approve(request=request, actor=carol)
    # then
    request.refresh_from_db()
    assert request.status == Status.APPROVED
    assert request.approver == carol
    assert request.decided_at is not None
    assert audit_actions()[-1] == "forget_request.approved"
    assert audit_chain_verify().ok


@pytest.mark.parametrize(
    ("status", "persona"), [(Status.SUBMITTED, "bob"), (Status.IN_REVIEW, "carol")]
)
def test_reject_at_submission_by_reviewer_and_in_review_by_approver(
    request_in, personas, status, persona
):
    # given
    request = request_in(status)
    # when
    forget_request_reject(request=request, actor=personas[persona], reason="  Not our model.  ")
    # then
    request.refresh_from_db()
    assert request.status == Status.REJECTED
    assert request.decision_reason == "Not our model."
    event = AuditEvent.objects.order_by("seq").last()
    assert (event.action, event.payload) == ("forget_request.rejected", {"from_status": status})
    assert event.actor_id == personas[persona].pk


@pytest.mark.parametrize(
    "status", [Status.DRAFT, Status.SUBMITTED, Status.IN_REVIEW, Status.APPROVED]
)
@pytest.mark.parametrize("persona", ["alice", "frank"])
def test_requester_or_admin_cancels_an_open_request(request_in, personas, status, persona):
    # given
    request = request_in(status)
    # when
    forget_request_cancel(request=request, actor=personas[persona], reason="Withdrawn.")
    # then
    request.refresh_from_db()
    assert request.status == Status.CANCELLED
    assert request.decision_reason == "Withdrawn."
    assert audit_actions()[-1] == "forget_request.cancelled"


def test_reviewer_extends_the_deadline(request_in, bob):
    # given
    request = request_in(Status.IN_REVIEW)
    # when
    forget_request_extend(
        request=request, actor=bob, months=2, reason="Nine models.", subject_notified_on=TODAY
    )
    # then
    request.refresh_from_db()
    assert request.extended_due_on > request.due_on
    assert request.effective_due_on == request.extended_due_on
    assert (request.extension_reason, request.subject_notified_on) == ("Nine models.", TODAY)
    assert request.status == Status.IN_REVIEW
    assert audit_actions()[-1] == "forget_request.extended"


def test_admin_shreds_a_closed_request(request_in, frank):
    # given
    request = request_in(Status.REJECTED)
    # when
    forget_request_shred(request=request, actor=frank)
    # then
    assert forget_request_is_shredded(request)
    assert audit_actions()[-1] == "forget_request.shredded"


def test_a_whole_lifecycle_leaves_a_sound_chain(request_in, alice):
    # given
    request = request_in(Status.APPROVED)
    # when
    report = audit_chain_verify()
    # then
    assert report.ok, report.reason
    assert audit_actions() == [
        "forget_request.created",
        "forget_request.submitted",
        "forget_request.reviewed",
        "forget_request.approved",
    ]
    assert ForgetRequest.objects.get(pk=request.pk).status == Status.APPROVED


# --- refusals: wrong role, wrong state; nothing changes -------------------------------------

WRONG_ROLE = [
    ("submit", Status.DRAFT, "mallory"),
    ("submit", Status.DRAFT, "frank"),
    ("add_items", Status.DRAFT, "mallory"),
    ("review", Status.SUBMITTED, "alice"),
    ("review", Status.SUBMITTED, "carol"),
    ("review", Status.SUBMITTED, "dave"),
    ("approve", Status.IN_REVIEW, "alice"),
    ("approve", Status.IN_REVIEW, "bob"),
    ("approve", Status.IN_REVIEW, "erin"),
    ("approve", Status.IN_REVIEW, "frank"),
    ("reject", Status.SUBMITTED, "carol"),
    ("reject", Status.SUBMITTED, "alice"),
    ("reject", Status.IN_REVIEW, "bob"),
    ("reject", Status.IN_REVIEW, "dave"),
    ("cancel", Status.SUBMITTED, "mallory"),
    ("cancel", Status.SUBMITTED, "bob"),
    ("cancel", Status.APPROVED, "carol"),
    ("extend", Status.SUBMITTED, "alice"),
    ("extend", Status.SUBMITTED, "dave"),
    ("extend", Status.SUBMITTED, "erin"),
    ("shred", Status.CANCELLED, "alice"),
    ("shred", Status.REJECTED, "bob"),
    ("shred", Status.REJECTED, "erin"),
]


@pytest.mark.parametrize(("action", "status", "persona"), WRONG_ROLE)
def test_wrong_role_is_not_allowed_and_changes_nothing(
    request_in, personas, action, status, persona
):
    # given
    request = request_in(status)
    before = snapshot(request)
    # when
    with pytest.raises(NotAllowed):
        ACTIONS[action](request, personas[persona])
    # then
    assert snapshot(request) == before


WRONG_STATE = [
    ("submit", Status.SUBMITTED, "alice"),
    ("submit", Status.CANCELLED, "alice"),
    ("add_items", Status.SUBMITTED, "alice"),
    ("review", Status.DRAFT, "bob"),
    ("review", Status.IN_REVIEW, "bob"),
    ("review", Status.APPROVED, "bob"),
    ("approve", Status.SUBMITTED, "carol"),
    ("approve", Status.APPROVED, "carol"),
    ("approve", Status.REJECTED, "carol"),
    ("reject", Status.DRAFT, "bob"),
    ("reject", Status.APPROVED, "carol"),
    ("reject", Status.CANCELLED, "carol"),
    ("cancel", Status.SCHEDULED, "alice"),
    ("cancel", Status.RUNNING, "frank"),
    ("cancel", Status.REJECTED, "alice"),
    ("cancel", Status.CANCELLED, "frank"),
    ("extend", Status.DRAFT, "bob"),
    ("extend", Status.SCHEDULED, "carol"),
    ("extend", Status.COMPLETED, "carol"),
    ("shred", Status.SUBMITTED, "frank"),
    ("shred", Status.APPROVED, "frank"),
    ("shred", Status.RUNNING, "frank"),
    ("shred", Status.AWAITING_SIGNOFF, "frank"),
    ("shred", Status.FAILED, "frank"),
]


@pytest.mark.parametrize(("action", "status", "persona"), WRONG_STATE)
def test_wrong_state_is_refused_and_changes_nothing(request_in, personas, action, status, persona):
    # given
    request = request_in(status)
    before = snapshot(request)
    # when: the caller's copy already shows the state, so the action is simply not offered
    with pytest.raises(NotAllowed):
        ACTIONS[action](request, personas[persona])
    # then
    assert snapshot(request) == before


# A copy loaded before someone else acted: the up-front check passes on the stale copy,
# and the conditional update is what refuses.
STALE = [
    ("submit", Status.DRAFT, {"status": Status.CANCELLED}, "alice"),
    ("add_items", Status.DRAFT, {"status": Status.SUBMITTED}, "alice"),
    ("review", Status.SUBMITTED, {"status": Status.CANCELLED}, "bob"),
    ("approve", Status.IN_REVIEW, {"status": Status.CANCELLED}, "carol"),
    ("approve", Status.IN_REVIEW, {"status": Status.APPROVED}, "carol"),
    ("reject", Status.SUBMITTED, {"status": Status.IN_REVIEW}, "bob"),
    ("reject", Status.IN_REVIEW, {"status": Status.APPROVED}, "carol"),
    ("cancel", Status.APPROVED, {"status": Status.SCHEDULED}, "alice"),
    ("extend", Status.SUBMITTED, {"extended_due_on": TODAY}, "bob"),
    ("extend", Status.APPROVED, {"status": Status.SCHEDULED}, "carol"),
]


@pytest.mark.parametrize(("action", "status", "meanwhile", "persona"), STALE)
def test_acting_on_a_stale_copy_is_an_invalid_transition(
    request_in, personas, action, status, meanwhile, persona
):
    # given
    request = request_in(status)
    ForgetRequest.objects.filter(pk=request.pk).update(**meanwhile)
    before = snapshot(request)
    # when
    with pytest.raises(InvalidTransition, match=request.ticket):
        ACTIONS[action](request, personas[persona])
    # then
    assert snapshot(request) == before


@pytest.mark.parametrize(
    ("verified", "method"), [(False, "Passport"), (True, ""), (True, "   ")], ids=str
)
def test_review_without_identity_check_fails_validation(request_in, bob, verified, method):
    # given
    request = request_in(Status.SUBMITTED)
    before = snapshot(request)
    # when
    with pytest.raises(ValidationFailed) as refused:
        forget_request_review(
            request=request, actor=bob, identity_verified=verified, identity_method=method
        )
    # then
    assert "identity_method" in refused.value.errors
    assert snapshot(request) == before


def test_reject_without_reason_fails_validation(request_in, bob):
    # given
    request = request_in(Status.SUBMITTED)
    before = snapshot(request)
    # when
    with pytest.raises(ValidationFailed) as refused:
        forget_request_reject(request=request, actor=bob, reason="  ")
    # then
    assert refused.value.errors == {"reason": ["Required."]}
    assert snapshot(request) == before


def test_adding_an_item_the_draft_already_holds_is_refused(make_request, alice):
    # given
    request = make_request(alice)
    before = snapshot(request)
    # when
    with pytest.raises(ValidationFailed, match="already in the request"):
        forget_request_add_items(request=request, actor=alice, items=[NEW_ITEM, ITEMS[1]])
    # then
    assert snapshot(request) == before


def test_adding_items_past_the_limit_is_refused(make_request, alice, settings):
    # given
    settings.UNLEARN_MAX_ITEMS_PER_REQUEST = 3
    request = make_request(alice)
    before = snapshot(request)
    extra = [ItemInput(f"prompt {n}", f"completion {n}") for n in range(2)]
    # when
    with pytest.raises(ValidationFailed, match="Too many items: 4"):
        forget_request_add_items(request=request, actor=alice, items=extra)
    # then
    assert snapshot(request) == before


# --- four eyes -----------------------------------------------------------------------------


def test_requester_who_is_also_a_reviewer_cannot_review_own(file_request):
    # given
    rita = make_user("rita", roles.REQUESTER, roles.REVIEWER)
    request = file_request(rita)
    forget_request_submit(request=request, actor=rita)
    before = snapshot(request)
    # when
    with pytest.raises(NotAllowed):
        review(request, rita)
    # then
    assert snapshot(request) == before


def test_reviewer_who_is_also_an_approver_cannot_approve_what_they_reviewed(request_in):
    # given
    victor = make_user("victor", roles.REVIEWER, roles.APPROVER)
    request = request_in(Status.SUBMITTED)
    review(request, victor)
    before = snapshot(request)
    # when
    with pytest.raises(NotAllowed, match="Four eyes"):
        forget_request_approve(request=request, actor=victor)
    with pytest.raises(NotAllowed):
        forget_request_reject(request=request, actor=victor, reason="Changed my mind.")
    # then
    assert snapshot(request) == before


def test_requester_who_is_also_an_approver_cannot_approve_own(file_request, bob):
    # given
    paula = make_user("paula", roles.REQUESTER, roles.APPROVER)
    request = file_request(paula)
    forget_request_submit(request=request, actor=paula)
    review(request, bob)
    before = snapshot(request)
    # when
    with pytest.raises(NotAllowed, match="Four eyes"):
        forget_request_approve(request=request, actor=paula)
    # then
    assert snapshot(request) == before


def test_a_second_approver_may_approve_what_a_reviewer_approver_reviewed(request_in, carol):
    # given
    victor = make_user("victor", roles.REVIEWER, roles.APPROVER)
    request = request_in(Status.SUBMITTED)
    review(request, victor)
    # when
    forget_request_approve(request=request, actor=carol)
    # then
    request.refresh_from_db()
    assert (request.reviewer.username, request.approver.username) == ("victor", "carol")


# --- validation of a new request -----------------------------------------------------------

INVALID_HEADERS = [
    ({"received_on": TODAY + datetime.timedelta(days=1)}, "received_on"),
    ({"kind": "gossip"}, "kind"),
    ({"legal_ground": "art99"}, "legal_ground"),
    ({"legal_ground": "other", "legal_ground_detail": "  "}, "legal_ground_detail"),
    ({"legal_ground": "other", "legal_ground_detail": "x" * 501}, "legal_ground_detail"),
    ({"subject_reference": "  "}, "subject_reference"),
    ({"subject_reference": "x" * 501}, "subject_reference"),
    ({"models": []}, "models"),
]


@pytest.mark.parametrize(("overrides", "field"), INVALID_HEADERS, ids=lambda v: str(v)[:40])
def test_invalid_header_is_refused_and_files_nothing(file_request, alice, overrides, field):
    # when
    with pytest.raises(ValidationFailed) as refused:
        file_request(alice, **overrides)
    # then
    assert field in refused.value.errors
    assert not ForgetRequest.objects.exists()
    assert not RequestKey.objects.exists()
    assert not AuditEvent.objects.exists()


def test_other_legal_ground_with_detail_is_accepted(file_request, alice):
    # when
    request = file_request(alice, legal_ground="other", legal_ground_detail=" Contract § 4 ")
    # then
    assert (request.legal_ground, request.legal_ground_detail) == ("other", "Contract § 4")


INVALID_ITEMS = [
    ([], "at least one item"),
    ([ITEMS[0], ITEMS[1], ITEMS[0]], "more than once"),
    ([ItemInput("", "+1-415-555-0134")], "both a prompt and an unwanted completion"),
    ([ItemInput("Her number is", "  ")], "both a prompt and an unwanted completion"),
    ([ItemInput("x" * 2001, "y")], "longer than 2000"),
    ([ItemInput("Her number\x00 is", "y")], "NUL"),
]


@pytest.mark.parametrize(("items", "message"), INVALID_ITEMS, ids=lambda v: str(v)[:30])
def test_invalid_items_are_refused_and_file_nothing(file_request, alice, items, message):
    # when
    with pytest.raises(ValidationFailed, match=message):
        file_request(alice, items=items)
    # then
    assert not ForgetRequest.objects.exists()
    assert not AuditEvent.objects.exists()


def test_too_many_items_are_refused(file_request, alice, settings):
    # given
    settings.UNLEARN_MAX_ITEMS_PER_REQUEST = 5
    items = [ItemInput(f"prompt {n}", f"completion {n}") for n in range(6)]
    # when
    with pytest.raises(ValidationFailed, match="Too many items: 6 .at most 5"):
        file_request(alice, items=items)
    # then
    assert not ForgetRequest.objects.exists()


def test_only_requesters_file_requests(file_request, bob):
    # when
    with pytest.raises(NotAllowed):
        file_request(bob)
    # then
    assert not ForgetRequest.objects.exists()
    assert not AuditEvent.objects.exists()


# --- races: two people act on the same request at the same moment --------------------------


def race(*contenders: Callable[[], Callable[[], object]]) -> list[object]:
    """Run each contender in its own thread, so on its own database connection. Each loads
    what it needs, waits for the others at a barrier, then acts. Returns what each act
    returned or raised."""
    barrier = threading.Barrier(len(contenders))
    outcomes: list[object] = [None] * len(contenders)

    def run(index: int, prepare: Callable[[], Callable[[], object]]) -> None:
        try:
            act = prepare()
            barrier.wait(timeout=30)
            outcomes[index] = act()
        except BaseException as exc:  # noqa: BLE001 - the test judges every outcome
            outcomes[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=item) for item in enumerate(contenders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    return outcomes


def contender(
    request_pk: int, username: str, action: Callable[[ForgetRequest, User], object]
) -> Callable[[], Callable[[], object]]:
    def prepare() -> Callable[[], object]:
        request = ForgetRequest.objects.get(pk=request_pk)
        actor = User.objects.get(username=username)
        roles_of(actor)  # load the roles now, so the threads meet at the claim itself
        return lambda: action(request, actor)

    return prepare


def assert_one_winner(outcomes: list[object]) -> ForgetRequest:
    winners = [o for o in outcomes if isinstance(o, ForgetRequest)]
    losers = [o for o in outcomes if isinstance(o, InvalidTransition)]
    assert (len(winners), len(losers)) == (1, len(outcomes) - 1), outcomes
    assert all("someone else acted on it first" in str(loser) for loser in losers)
    return winners[0]


RACE_ROUNDS = 3


@pytest.mark.parametrize("approvers", [("carol", "carol2"), ("carol", "carol")])
def test_concurrent_approvals_have_exactly_one_winner(transactional_db, request_in, approvers):
    # given
    make_user("carol2", roles.APPROVER)
    for _ in range(RACE_ROUNDS):
        request = request_in(Status.IN_REVIEW)
        # when
        outcomes = race(*(contender(request.pk, name, ACTIONS["approve"]) for name in approvers))
        # then
        winner = assert_one_winner(outcomes)
        request.refresh_from_db()
        assert request.status == Status.APPROVED
        assert request.approver_id == winner.approver_id
        approvals = AuditEvent.objects.filter(
            action="forget_request.approved", object_id=str(request.pk)
        )
        assert approvals.count() == 1
        assert approvals.get().actor_id == winner.approver_id
    report = audit_chain_verify()
    assert report.ok, report.reason


def test_concurrent_reviews_have_exactly_one_winner(transactional_db, request_in):
    # given
    make_user("bob2", roles.REVIEWER)
    for _ in range(RACE_ROUNDS):
        request = request_in(Status.SUBMITTED)
        # when
        outcomes = race(
            contender(request.pk, "bob", ACTIONS["review"]),
            contender(request.pk, "bob2", ACTIONS["review"]),
        )
        # then
        winner = assert_one_winner(outcomes)
        request.refresh_from_db()
        assert (request.status, request.reviewer_id) == (Status.IN_REVIEW, winner.reviewer_id)
        reviews = AuditEvent.objects.filter(
            action="forget_request.reviewed", object_id=str(request.pk)
        )
        assert list(reviews.values_list("actor_id", flat=True)) == [winner.reviewer_id]
    report = audit_chain_verify()
    assert report.ok, report.reason


def test_concurrent_approval_and_rejection_have_exactly_one_winner(transactional_db, request_in):
    # given
    make_user("carol2", roles.APPROVER)
    request = request_in(Status.IN_REVIEW)
    # when
    outcomes = race(
        contender(request.pk, "carol", ACTIONS["approve"]),
        contender(request.pk, "carol2", ACTIONS["reject"]),
    )
    # then
    winner = assert_one_winner(outcomes)
    request.refresh_from_db()
    assert request.status == winner.status
    decisions = AuditEvent.objects.filter(
        action__in=["forget_request.approved", "forget_request.rejected"]
    )
    assert decisions.count() == 1
    assert audit_chain_verify().ok
