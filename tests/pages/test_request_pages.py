"""The forget-request pages: filing, the queue, the detail page and its actions."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from remediation.models import AuditEvent, ForgetRequest
from remediation.services.forget_requests import forget_request_items, forget_request_submit

pytestmark = pytest.mark.django_db


def filing_form(ml_model, **extra):
    data = {
        "kind": "pii",
        "subject_reference": "Maria Okafor",
        "legal_ground": "art17_1a",
        "received_on": datetime.date.today().isoformat(),
        "models": [ml_model.pk],
        "items-TOTAL_FORMS": "3",
        "items-INITIAL_FORMS": "0",
        "items-0-prompt": "Maria Okafor's phone number is",
        "items-0-completion": "+1-415-555-0134",
        "items-1-prompt": "Maria Okafor lives at",
        "items-1-completion": "12 Elm Street",
    }
    data.update(extra)
    return data


def test_requester_files_a_request_with_two_typed_items(client_for, alice, ml_model):
    # given
    client = client_for("alice")
    # when
    response = client.post(reverse("request_new"), filing_form(ml_model, submit="1"))
    # then
    created = ForgetRequest.objects.get()
    assert response.status_code == 302
    assert created.status == ForgetRequest.Status.SUBMITTED
    assert [i.completion for i in forget_request_items(created)] == [
        "+1-415-555-0134",
        "12 Elm Street",
    ]


def test_requester_uploads_items_as_csv(client_for, alice, ml_model):
    # given
    upload = SimpleUploadedFile(
        "items.csv", b"prompt,completion\nMaria's email is,maria@example.com\n"
    )
    data = filing_form(ml_model, items_file=upload, **{"items-TOTAL_FORMS": "0"})
    # when
    response = client_for("alice").post(reverse("request_new"), data)
    # then
    assert response.status_code == 302
    created = ForgetRequest.objects.get()
    assert created.status == ForgetRequest.Status.DRAFT
    assert [i.completion for i in forget_request_items(created)] == ["maria@example.com"]


@pytest.mark.parametrize(
    ("filename", "content", "message"),
    [
        ("items.csv", b"\xff\xfe\x00bad", "not UTF-8"),
        ("items.csv", b"", "empty"),
        ("items.csv", b"name,value\na,b\n", "header row"),
        ("items.txt", b"prompt,completion\na,b\n", ".csv or .jsonl"),
        ("items.jsonl", b"{not json}\n", "not valid JSON"),
    ],
)
def test_bad_upload_is_refused_and_nothing_is_saved(
    client_for, alice, ml_model, filename, content, message
):
    # given
    data = filing_form(ml_model, items_file=SimpleUploadedFile(filename, content))
    # when
    response = client_for("alice").post(reverse("request_new"), data)
    # then
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ForgetRequest.objects.exists()
    assert not AuditEvent.objects.exists()


def test_malformed_form_is_refused_with_field_errors(client_for, alice, ml_model):
    # given: no models, a date in the future, half an item
    data = filing_form(
        ml_model,
        models=[],
        received_on="2999-01-01",
        **{"items-2-prompt": "only a prompt"},
    )
    # when
    response = client_for("alice").post(reverse("request_new"), data)
    # then
    assert response.status_code == 400
    assert "Give both the prompt and the unwanted completion" in response.content.decode()
    assert not ForgetRequest.objects.exists()


def test_garbage_management_form_does_not_crash(client_for, alice, ml_model):
    # given
    data = filing_form(ml_model, **{"items-TOTAL_FORMS": "abc"})
    # when
    response = client_for("alice").post(reverse("request_new"), data)
    # then
    assert response.status_code == 400
    assert not ForgetRequest.objects.exists()


def test_someone_elses_request_is_a_404_everywhere(client_for, make_request, alice, mallory):
    # given
    request = make_request(alice)
    forget_request_submit(request=request, actor=alice)
    client = client_for("mallory")
    # when / then
    assert client.get(reverse("request_detail", args=[request.pk])).status_code == 404
    for action in ["submit", "cancel", "review", "approve", "reject", "extend", "shred"]:
        url = reverse("request_action", args=[request.pk, action])
        assert client.post(url, {"reason": "x"}).status_code == 404
    request.refresh_from_db()
    assert request.status == ForgetRequest.Status.SUBMITTED


def test_reviewer_reviews_and_approver_approves_through_the_pages(
    client_for, make_request, alice, bob, carol
):
    # given
    request = make_request(alice)
    forget_request_submit(request=request, actor=alice)
    # when
    client_for("bob").post(
        reverse("request_action", args=[request.pk, "review"]),
        {"identity_verified": "on", "identity_method": "passport", "scope_note": "all"},
    )
    client_for("carol").post(reverse("request_action", args=[request.pk, "approve"]))
    # then
    request.refresh_from_db()
    assert request.status == ForgetRequest.Status.APPROVED
    assert (request.reviewer, request.approver) == (bob, carol)


def test_review_without_identity_check_shows_errors(client_for, make_request, alice, bob):
    # given
    request = make_request(alice)
    forget_request_submit(request=request, actor=alice)
    # when
    url = reverse("request_action", args=[request.pk, "review"])
    response = client_for("bob").post(url, {"identity_method": ""})
    # then
    assert response.status_code == 400
    request.refresh_from_db()
    assert request.status == ForgetRequest.Status.SUBMITTED


def test_four_eyes_holds_on_the_page_for_a_reviewer_who_is_also_approver(client_for, reviewed, bob):
    # given: Bob reviewed, and also holds the approver role
    from remediation.services.accounts import role_groups_ensure

    bob.groups.add(role_groups_ensure()["approver"])
    client = client_for("bob")
    # when
    page = client.get(reverse("request_detail", args=[reviewed.pk])).content.decode()
    response = client.post(reverse("request_action", args=[reviewed.pk, "approve"]), follow=True)
    # then
    assert "Four eyes" in page
    assert 'id="approve"' not in page
    assert "Four eyes" in response.content.decode()
    reviewed.refresh_from_db()
    assert reviewed.status == ForgetRequest.Status.IN_REVIEW


def test_items_are_redacted_for_operator_and_auditor(client_for, reviewed, carol):
    # given
    from remediation.services.forget_requests import forget_request_approve

    forget_request_approve(request=reviewed, actor=carol)
    # when / then
    for who in ["dave", "erin"]:
        html = client_for(who).get(reverse("request_detail", args=[reviewed.pk])).content
        assert b"redacted" in html
        assert b"555-0134" not in html
        assert b"Maria Okafor" not in html
    html = client_for("carol").get(reverse("request_detail", args=[reviewed.pk])).content
    assert b"+1-415-555-0134" in html


def test_unknown_action_is_404(client_for, make_request, alice):
    request = make_request(alice)
    url = reverse("request_action", args=[request.pk, "explode"])
    assert client_for("alice").post(url).status_code == 404


def test_extension_through_the_page(client_for, reviewed):
    # given
    url = reverse("request_action", args=[reviewed.pk, "extend"])
    data = {"months": "2", "reason": "complex", "subject_notified_on": str(datetime.date.today())}
    # when
    client_for("carol").post(url, data)
    # then
    reviewed.refresh_from_db()
    assert reviewed.extended_due_on is not None
    assert reviewed.extended_due_on > reviewed.due_on


def test_queue_filters_sorts_paginates_and_highlights(client_for, make_request, alice):
    # given: 30 submitted requests, one overdue and one due within a week
    requests = [make_request(alice) for _ in range(30)]
    for request in requests:
        forget_request_submit(request=request, actor=alice)
    today = datetime.date.today()
    ForgetRequest.objects.filter(pk=requests[0].pk).update(due_on=today - datetime.timedelta(1))
    ForgetRequest.objects.filter(pk=requests[1].pk).update(due_on=today + datetime.timedelta(3))
    client = client_for("bob")
    # when
    first_page = client.get(reverse("request_list"), {"sort": "due"}).content.decode()
    overdue = client.get(reverse("request_list"), {"deadline": "overdue"}).content.decode()
    page_two = client.get(reverse("request_list"), {"page": 2}).content.decode()
    # then
    assert first_page.index(requests[0].ticket) < first_page.index(requests[1].ticket)
    assert "row-overdue" in first_page and "row-due-soon" in first_page
    assert requests[0].ticket in overdue and requests[1].ticket not in overdue
    assert "Page 2 of 2" in page_two


def test_bad_filter_values_do_not_crash(client_for, alice):
    response = client_for("alice").get(
        reverse("request_list"), {"status": "nope", "sort": "';drop", "page": "x"}
    )
    assert response.status_code == 200


@pytest.mark.parametrize("query", ["demo_version=abc", "demo_version=99999&demo_person=x", ""])
def test_demo_person_parameters_never_break_the_form(client_for, alice, query):
    response = client_for("alice").get(reverse("request_new") + "?" + query)
    assert response.status_code == 200
