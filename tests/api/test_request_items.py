"""POST /api/requests/{id}/items/: adding items to a draft, as JSON or as a file."""

import io

import pytest

from remediation.models import ForgetItem
from remediation.services.forget_requests import forget_request_items
from tests.api.conftest import post, url


def upload(client, request, name: str, content: bytes):
    file = io.BytesIO(content)
    file.name = name
    return client.post(url(request, "items"), {"file": file}, format="multipart")


def test_json_list_adds_items(client_for, alice, in_state):
    # given
    request = in_state("draft")
    items = [{"prompt": "Maria's IBAN is", "completion": "DE89 3704 0044 0532 0130 00"}]

    # when
    response = post(client_for(alice), url(request, "items"), items)

    # then
    assert response.status_code == 200
    assert response.json()["item_count"] == 3
    assert forget_request_items(request)[2].prompt == "Maria's IBAN is"


def test_csv_upload_adds_items(client_for, alice, in_state):
    # given
    request = in_state("draft")
    csv = b"prompt,completion,preferred\nMaria's IBAN is,DE89 3704,\nMaria's car is,a red Fiat,\n"

    # when
    response = upload(client_for(alice), request, "items.csv", csv)

    # then
    assert response.status_code == 200, response.json()
    assert [i.completion for i in forget_request_items(request)][2:] == ["DE89 3704", "a red Fiat"]


def test_jsonl_upload_adds_items(client_for, alice, in_state):
    # given
    request = in_state("draft")
    jsonl = b'{"prompt": "Maria was born on", "target": "4 May 1990"}\n'

    # when
    response = upload(client_for(alice), request, "items.jsonl", jsonl)

    # then
    assert response.status_code == 200
    assert forget_request_items(request)[2].completion == "4 May 1990"


@pytest.mark.parametrize(
    "name, content",
    [
        ("items.csv", b"question,answer\nq,a\n"),
        ("items.jsonl", b"{not json}\n"),
        ("items.jsonl", b"[1, 2]\n"),
        ("items.txt", b"prompt,completion\na,b\n"),
        ("items.csv", b""),
        ("items.csv", b"\xff\xfe\x00garbage"),
    ],
    ids=["wrong columns", "not json", "not an object", "wrong extension", "empty", "not utf-8"],
)
def test_bad_file_is_400_and_adds_nothing(client_for, alice, in_state, name, content):
    # given
    request = in_state("draft")

    # when
    response = upload(client_for(alice), request, name, content)

    # then
    assert response.status_code == 400
    assert response.json()["detail"]
    assert ForgetItem.objects.filter(request=request).count() == 2


def test_file_over_the_limit_is_400(client_for, alice, in_state, settings):
    # given
    settings.UNLEARN_MAX_UPLOAD_BYTES = 100
    request = in_state("draft")
    csv = b"prompt,completion\n" + b"a,b\n" * 100

    # when
    response = upload(client_for(alice), request, "items.csv", csv)

    # then
    assert response.status_code == 400
    assert "KiB" in response.json()["detail"]


def test_multipart_without_a_file_is_400(client_for, alice, in_state):
    # when
    response = client_for(alice).post(
        url(in_state("draft"), "items"), {"other": "x"}, format="multipart"
    )

    # then
    assert response.status_code == 400
    assert "file" in response.json()["errors"]


@pytest.mark.parametrize(
    "payload",
    [
        {"prompt": "a", "completion": "b"},
        [],
        [{"prompt": "a"}],
        [{"prompt": 1, "completion": "b"}],
        [{"prompt": "Maria Okafor's phone number is", "completion": "+1-415-555-0134"}],
    ],
    ids=["object not list", "empty list", "no completion", "prompt not text", "duplicate"],
)
def test_bad_json_items_are_400(client_for, alice, in_state, payload):
    # given
    request = in_state("draft")

    # when
    response = post(client_for(alice), url(request, "items"), payload)

    # then
    assert response.status_code == 400
    assert ForgetItem.objects.filter(request=request).count() == 2


def test_items_cannot_be_added_after_submission(client_for, alice, in_state):
    # given
    request = in_state("submitted")

    # when
    response = post(client_for(alice), url(request, "items"), [{"prompt": "a", "completion": "b"}])

    # then
    assert response.status_code == 403
    assert ForgetItem.objects.filter(request=request).count() == 2


def test_item_count_limit_counts_existing_items(client_for, alice, in_state, settings):
    # given
    settings.UNLEARN_MAX_ITEMS_PER_REQUEST = 3
    request = in_state("draft")
    items = [{"prompt": f"p{n}", "completion": "c"} for n in range(2)]

    # when
    response = post(client_for(alice), url(request, "items"), items)

    # then
    assert response.status_code == 400
    assert "Too many items" in response.json()["detail"]
