"""POST /api/requests/: filing a forget request, and every way of getting it wrong."""

import datetime

import pytest

from remediation.models import AuditEvent, ForgetRequest, MLModel
from remediation.services.forget_requests import forget_request_items
from tests.api.conftest import post, valid_create_payload


def test_requester_files_a_draft(client_for, alice, ml_model):
    # given
    client = client_for(alice)

    # when
    response = post(client, "/api/requests/", valid_create_payload(ml_model.pk))

    # then
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "draft"
    assert body["requester"] == "alice"
    assert body["models"] == [ml_model.pk]
    assert body["subject_reference"] == "Jonas Berg, customer 9001"
    assert body["items"][0]["completion"] == "12 Elm Street, Oslo"
    stored = ForgetRequest.objects.get(pk=body["id"])
    assert forget_request_items(stored)[0].prompt == "Jonas Berg lives at"


def test_submit_true_files_and_submits_at_once(client_for, alice, ml_model):
    # given
    payload = valid_create_payload(ml_model.pk, submit=True)

    # when
    response = post(client_for(alice), "/api/requests/", payload)

    # then
    assert response.status_code == 201
    assert response.json()["status"] == "submitted"
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert actions == ["forget_request.created", "forget_request.submitted"]


def test_preferred_completion_is_kept(client_for, alice, ml_model):
    # given
    items = [{"prompt": "Say something mean", "completion": "idiot", "preferred": "No."}]
    payload = valid_create_payload(ml_model.pk, kind="behaviour", items=items)

    # when
    response = post(client_for(alice), "/api/requests/", payload)

    # then
    assert response.status_code == 201
    assert response.json()["items"][0]["preferred"] == "No."


@pytest.mark.parametrize("persona", ["bob", "carol", "dave", "erin", "frank"])
def test_other_roles_may_not_file(client_for, personas, ml_model, persona):
    # when
    response = post(
        client_for(personas[persona]), "/api/requests/", valid_create_payload(ml_model.pk)
    )

    # then
    assert response.status_code == 403
    assert ForgetRequest.objects.count() == 0


def test_anonymous_gets_401_or_403(client, ml_model):
    # when
    response = client.post("/api/requests/", valid_create_payload(ml_model.pk), "application/json")

    # then
    assert response.status_code in (401, 403)


LONG = "x" * 5000
TOMORROW = str(datetime.date.today() + datetime.timedelta(days=1))

MALFORMED = {
    "missing kind": {"kind": None},
    "unknown kind": {"kind": "everything"},
    "kind as list": {"kind": ["pii"]},
    "unknown legal ground": {"legal_ground": "art99"},
    "other ground without detail": {"legal_ground": "other"},
    "subject as number": {"subject_reference": 42},
    "blank subject": {"subject_reference": "   "},
    "huge subject": {"subject_reference": LONG},
    "huge legal detail": {"legal_ground_detail": LONG},
    "bad date": {"received_on": "2024-13-45"},
    "date as number": {"received_on": 20240101},
    "date in future": {"received_on": TOMORROW},
    "models not a list": {"models": 1},
    "no models": {"models": []},
    "model id as text": {"models": ["support-bot"]},
    "unknown model": {"models": [999_999]},
    "model id beyond bigint": {"models": [2**70]},
    "model id negative": {"models": [-1]},
    "items not a list": {"items": {"prompt": "a", "completion": "b"}},
    "no items": {"items": []},
    "item not an object": {"items": ["a prompt"]},
    "item without completion": {"items": [{"prompt": "a"}]},
    "item with blank prompt": {"items": [{"prompt": " ", "completion": "b"}]},
    "item too long": {"items": [{"prompt": LONG, "completion": "b"}]},
    "item with NUL": {"items": [{"prompt": "a\x00", "completion": "b"}]},
    "duplicate items": {"items": [{"prompt": "a", "completion": "b"}] * 2},
    "too many items": {"items": [{"prompt": f"p{n}", "completion": "c"} for n in range(501)]},
    "submit not a bool": {"submit": "perhaps"},
}


@pytest.mark.parametrize("overrides", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_payload_is_a_400_and_changes_nothing(client_for, alice, ml_model, overrides):
    # given
    payload = {
        k: v for k, v in valid_create_payload(ml_model.pk, **overrides).items() if v is not None
    }

    # when
    response = post(client_for(alice), "/api/requests/", payload)

    # then
    assert response.status_code == 400, response.content
    assert response.json()["detail"]
    assert ForgetRequest.objects.count() == 0
    assert AuditEvent.objects.count() == 0


@pytest.mark.parametrize(
    "body, content_type",
    [
        ("{not json", "application/json"),
        ("[1, 2, 3]", "application/json"),
        ('"a string"', "application/json"),
        ("null", "application/json"),
        ("", "application/json"),
    ],
)
def test_body_that_is_not_a_json_object_is_a_400(client_for, alice, body, content_type):
    # when
    response = client_for(alice).post("/api/requests/", body, content_type=content_type)

    # then
    assert response.status_code == 400
    assert ForgetRequest.objects.count() == 0


def test_form_encoded_body_is_415(client_for, alice, ml_model):
    # when
    response = client_for(alice).post("/api/requests/", {"kind": "pii"})

    # then
    assert response.status_code == 415


def test_body_over_the_upload_limit_is_refused(client_for, alice, ml_model, settings):
    # given
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    payload = valid_create_payload(ml_model.pk, legal_ground_detail="x" * 20_000)

    # when
    response = post(client_for(alice), "/api/requests/", payload)

    # then
    assert 400 <= response.status_code < 500
    assert ForgetRequest.objects.count() == 0


def test_models_the_user_may_not_see_are_unknown(client_for, alice, ml_model, monkeypatch):
    # given: a model Alice may not see (today every signed-in user sees every model)
    monkeypatch.setattr(
        "remediation.api.forget_request_serializers.models_visible_to",
        lambda user: MLModel.objects.exclude(pk=ml_model.pk),
    )

    # when
    response = post(client_for(alice), "/api/requests/", valid_create_payload(ml_model.pk))

    # then
    assert response.status_code == 400
    assert f"Unknown model id(s): {ml_model.pk}" in response.json()["detail"]
    assert ForgetRequest.objects.count() == 0


def test_error_names_the_field(client_for, alice, ml_model):
    # when
    response = post(
        client_for(alice), "/api/requests/", valid_create_payload(ml_model.pk, models=[424242])
    )

    # then
    body = response.json()
    assert "models" in body["errors"]
    assert "424242" in body["detail"]
