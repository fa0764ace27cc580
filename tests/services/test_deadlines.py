"""Deadlines: one month after receipt, one extension of one or two months, and the
overdue / due-soon flags of the queue and dashboard."""

import datetime

import pytest

from remediation.models import ForgetRequest
from remediation.selectors import deadline_state, due_soon_q, overdue_q
from remediation.services.deadlines import add_months, due_date_for
from remediation.services.errors import NotAllowed, ValidationFailed
from remediation.services.forget_requests import forget_request_extend, forget_request_submit
from tests.services.conftest import snapshot

Status = ForgetRequest.Status
D = datetime.date
TODAY = datetime.date.today()


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (D(2024, 1, 31), D(2024, 2, 29)),  # leap year
        (D(2023, 1, 31), D(2023, 2, 28)),
        (D(2023, 12, 31), D(2024, 1, 31)),  # across the year
        (D(2024, 3, 31), D(2024, 4, 30)),
        (D(2024, 3, 15), D(2024, 4, 15)),
        (D(2024, 2, 29), D(2024, 3, 29)),
    ],
)
def test_due_one_month_after_receipt(received, due):
    # when / then
    assert due_date_for(received) == due


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (D(2023, 11, 30), 3, D(2024, 2, 29)),
        (D(2023, 10, 31), 14, D(2024, 12, 31)),
        (D(2024, 1, 31), 0, D(2024, 1, 31)),
    ],
)
def test_add_months_clamps_to_the_end_of_the_month(day, months, expected):
    # when / then
    assert add_months(day, months) == expected


def test_a_new_request_is_due_a_month_after_receipt(file_request, alice):
    # when
    request = file_request(alice, received_on=D(2023, 1, 31))
    # then
    assert (request.due_on, request.extended_due_on) == (D(2023, 2, 28), None)
    assert request.effective_due_on == D(2023, 2, 28)


def submitted(file_request, alice, received_on: datetime.date) -> ForgetRequest:
    request = file_request(alice, received_on=received_on)
    return forget_request_submit(request=request, actor=alice)


@pytest.mark.parametrize(("months", "extended"), [(1, D(2023, 3, 31)), (2, D(2023, 4, 30))])
def test_extension_adds_one_or_two_months_to_the_period(file_request, alice, bob, months, extended):
    # given: received 31 Jan, due 28 Feb
    request = submitted(file_request, alice, D(2023, 1, 31))
    # when
    forget_request_extend(
        request=request, actor=bob, months=months, reason="Complex.", subject_notified_on=TODAY
    )
    # then: the period runs from receipt, so the end of the month is not lost to February
    request.refresh_from_db()
    assert request.due_on == D(2023, 2, 28)
    assert request.extended_due_on == extended
    assert request.effective_due_on == extended


@pytest.mark.parametrize(
    ("months", "reason", "notified", "field"),
    [
        (0, "Complex.", TODAY, "months"),
        (3, "Complex.", TODAY, "months"),
        (-1, "Complex.", TODAY, "months"),
        (1, "   ", TODAY, "reason"),
        (1, "Complex.", TODAY + datetime.timedelta(days=1), "subject_notified_on"),
        (1, "Complex.", D(2023, 1, 30), "subject_notified_on"),
    ],
    ids=["zero", "three", "negative", "no-reason", "notified-tomorrow", "notified-before-receipt"],
)
def test_invalid_extension_is_refused_and_changes_nothing(
    file_request, alice, bob, months, reason, notified, field
):
    # given: received 31 Jan 2023
    request = submitted(file_request, alice, D(2023, 1, 31))
    before = snapshot(request)
    # when
    with pytest.raises(ValidationFailed) as refused:
        forget_request_extend(
            request=request, actor=bob, months=months, reason=reason, subject_notified_on=notified
        )
    # then
    assert field in refused.value.errors
    assert snapshot(request) == before


@pytest.mark.parametrize("notified", [D(2023, 1, 31), TODAY], ids=["on-receipt", "today"])
def test_notification_date_may_be_the_day_of_receipt_or_today(file_request, alice, bob, notified):
    # given
    request = submitted(file_request, alice, D(2023, 1, 31))
    # when
    forget_request_extend(
        request=request, actor=bob, months=2, reason="Complex.", subject_notified_on=notified
    )
    # then
    request.refresh_from_db()
    assert request.subject_notified_on == notified


def test_a_deadline_is_extended_once_only(file_request, alice, bob, carol):
    # given
    request = submitted(file_request, alice, D(2023, 1, 31))
    forget_request_extend(
        request=request, actor=bob, months=1, reason="Complex.", subject_notified_on=TODAY
    )
    before = snapshot(request)
    # when
    with pytest.raises(NotAllowed, match="once"):
        forget_request_extend(
            request=request, actor=carol, months=1, reason="Still.", subject_notified_on=TODAY
        )
    # then
    assert snapshot(request) == before


# --- the flags: overdue, due within 7 days, never for a closed request -----------------------

# Received 10 Jan 2024, so due 10 Feb 2024.
RECEIVED, DUE = D(2024, 1, 10), D(2024, 2, 10)


@pytest.fixture
def due_10_feb(file_request, alice):
    def make(status: str = Status.SUBMITTED, extended_due_on: datetime.date | None = None):
        request = file_request(alice, received_on=RECEIVED)
        ForgetRequest.objects.filter(pk=request.pk).update(
            status=status, extended_due_on=extended_due_on
        )
        request.refresh_from_db()
        return request

    return make


def flags(request: ForgetRequest, today: datetime.date) -> tuple[str, bool, bool]:
    """What the detail page (deadline_state) and the queue filters (the Q objects) say."""
    rows = ForgetRequest.objects.filter(pk=request.pk)
    return (
        deadline_state(request, today),
        rows.filter(overdue_q(today)).exists(),
        rows.filter(due_soon_q(today)).exists(),
    )


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (D(2024, 2, 2), ("", False, False)),  # 8 days left
        (D(2024, 2, 3), ("due_soon", False, True)),  # 7 days left
        (D(2024, 2, 10), ("due_soon", False, True)),  # due today
        (D(2024, 2, 11), ("overdue", True, False)),  # a day late
        (D(2025, 6, 1), ("overdue", True, False)),
    ],
)
def test_flags_around_the_due_date(due_10_feb, today, expected):
    # given
    request = due_10_feb()
    # when / then
    assert request.due_on == DUE
    assert flags(request, today) == expected


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (D(2024, 2, 20), ("", False, False)),  # past the first date, within the extension
        (D(2024, 4, 5), ("due_soon", False, True)),
        (D(2024, 4, 11), ("overdue", True, False)),
    ],
)
def test_flags_follow_the_extended_date(due_10_feb, today, expected):
    # given
    request = due_10_feb(extended_due_on=D(2024, 4, 10))
    # when / then
    assert flags(request, today) == expected


@pytest.mark.parametrize("status", ForgetRequest.CLOSED_STATUSES)
def test_closed_requests_are_never_flagged(due_10_feb, status):
    # given
    request = due_10_feb(status=status)
    # when / then
    assert flags(request, D(2024, 2, 9)) == ("", False, False)
    assert flags(request, D(2025, 1, 1)) == ("", False, False)


@pytest.mark.parametrize(
    "status",
    [
        Status.DRAFT,
        Status.APPROVED,
        Status.SCHEDULED,
        Status.RUNNING,
        Status.VERIFYING,
        Status.AWAITING_SIGNOFF,
        Status.FAILED,
    ],
)
def test_requests_not_yet_done_are_flagged_when_late(due_10_feb, status):
    # given: work on it has started (or failed) but the subject's data is not gone yet
    request = due_10_feb(status=status)
    # when / then
    assert flags(request, D(2024, 2, 11)) == ("overdue", True, False)
    assert flags(request, D(2024, 2, 9)) == ("due_soon", False, True)


def test_deadline_state_defaults_to_today(make_request, alice):
    # given: received three days ago, so due in about four weeks
    request = make_request(alice)
    # when / then
    assert deadline_state(request) == ""
