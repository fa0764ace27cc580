"""GET /api/requests/: restricted to the user, filtered, ordered, paginated."""

import datetime

import pytest

from remediation.models import ForgetRequest

Status = ForgetRequest.Status


def ids(response) -> list[int]:
    return [row["id"] for row in response.json()["results"]]


def test_requester_lists_own_requests_only(client_for, alice, mallory, in_state):
    # given
    mine = in_state("draft")
    in_state("submitted", requester=mallory)

    # when
    response = client_for(alice).get("/api/requests/")

    # then
    assert response.status_code == 200
    assert ids(response) == [mine.pk]
    row = response.json()["results"][0]
    assert row["item_count"] == 2
    assert "subject_reference" not in row and "items" not in row


def test_reviewer_lists_all_but_drafts(client_for, bob, in_state):
    # given
    in_state("draft")
    submitted = in_state("submitted")

    # when
    response = client_for(bob).get("/api/requests/")

    # then
    assert ids(response) == [submitted.pk]


def test_operator_lists_only_approved_onwards(client_for, dave, in_state):
    # given
    in_state("submitted")
    in_state("in_review")
    approved = in_state("approved")

    # when
    response = client_for(dave).get("/api/requests/")

    # then
    assert ids(response) == [approved.pk]


def test_filter_by_status_and_kind(client_for, bob, in_state):
    # given
    in_state("submitted")
    reviewed = in_state("in_review")

    # when
    by_status = client_for(bob).get("/api/requests/", {"status": "in_review"})
    by_kind = client_for(bob).get("/api/requests/", {"kind": "content"})

    # then
    assert ids(by_status) == [reviewed.pk]
    assert ids(by_kind) == []


def _set_due(request: ForgetRequest, days_from_today: int) -> None:
    due = datetime.date.today() + datetime.timedelta(days=days_from_today)
    ForgetRequest.objects.filter(pk=request.pk).update(due_on=due)


def test_filter_overdue_and_due_soon(client_for, bob, in_state):
    # given
    late, soon, later = in_state("submitted"), in_state("submitted"), in_state("submitted")
    _set_due(late, -1)
    _set_due(soon, 3)
    _set_due(later, 30)
    client = client_for(bob)

    # when
    overdue = client.get("/api/requests/", {"overdue": "true"})
    due_soon = client.get("/api/requests/", {"due_soon": "true"})
    not_overdue = client.get("/api/requests/", {"overdue": "false"})

    # then
    assert ids(overdue) == [late.pk]
    assert overdue.json()["results"][0]["deadline_state"] == "overdue"
    assert ids(due_soon) == [soon.pk]
    assert set(ids(not_overdue)) == {soon.pk, later.pk}


def test_ordering_by_due_on(client_for, bob, in_state):
    # given
    first, second = in_state("submitted"), in_state("submitted")
    _set_due(first, 20)
    _set_due(second, 10)

    # when
    ascending = client_for(bob).get("/api/requests/", {"ordering": "due_on"})
    descending = client_for(bob).get("/api/requests/", {"ordering": "-due_on"})

    # then
    assert ids(ascending) == [second.pk, first.pk]
    assert ids(descending) == [first.pk, second.pk]


def test_list_is_paginated(client_for, bob, in_state):
    # given
    in_state("submitted")
    in_state("submitted")

    # when
    response = client_for(bob).get("/api/requests/", {"page_size": 1})

    # then
    body = response.json()
    assert body["count"] == 2
    assert len(body["results"]) == 1
    assert body["next"]


@pytest.mark.parametrize(
    "query",
    [{"status": "lost"}, {"kind": "everything"}, {"page": "abc"}, {"page": "99"}],
    ids=["unknown status", "unknown kind", "page not a number", "page past the end"],
)
def test_bad_query_is_4xx(client_for, bob, in_state, query):
    # given
    in_state("submitted")

    # when
    response = client_for(bob).get("/api/requests/", query)

    # then
    assert response.status_code in (400, 404)
