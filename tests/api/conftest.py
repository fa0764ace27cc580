"""Fixtures of the API tests: clients signed in as a persona, requests in each state."""

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from remediation.models import ForgetRequest, MLModel, ModelVersion
from remediation.services.forget_requests import (
    forget_request_approve,
    forget_request_reject,
    forget_request_review,
    forget_request_submit,
)
from tests.runs.conftest import (  # noqa: F401 - fixtures: an approved request, runs on it
    approved_request,
    planned_run,
    verified_run,
    version,
)

ClientFor = Callable[[User], APIClient]
InState = Callable[..., ForgetRequest]


@pytest.fixture
def client_for(db: None) -> ClientFor:
    """An API client with a session signed in as the user (CSRF checks off, as in DRF tests)."""

    def make(user: User) -> APIClient:
        client = APIClient()
        client.force_login(user)
        return client

    return make


def fake_version(model: MLModel, number: int, **fields: Any) -> ModelVersion:
    """A version row with no directory behind it (no worker runs in the API tests)."""
    return ModelVersion.objects.create(
        model=model,
        number=number,
        path=f"/nonexistent/{model.name}-{number}",
        architecture="GPT2LMHeadModel",
        model_type="gpt2",
        parameter_count=10,
        manifest={},
        manifest_digest=f"{number:064x}",
        **fields,
    )


@pytest.fixture
def out_of_scope_version(db: None) -> ModelVersion:
    """A version of a model no request has in its scope."""
    return fake_version(MLModel.objects.create(name="other-bot"), 1)


@pytest.fixture
def in_state(
    make_request: Callable[..., ForgetRequest], alice: User, bob: User, carol: User
) -> InState:
    """A request of Alice's (or the given requester's), moved by the services to `status`:
    draft, submitted, rejected (by Bob), in_review (reviewed by Bob) or approved (by Carol)."""

    def make(status: str, requester: User | None = None) -> ForgetRequest:
        request = make_request(requester or alice)
        if status == "draft":
            return request
        forget_request_submit(request=request, actor=request.requester)
        if status == "rejected":
            forget_request_reject(request=request, actor=bob, reason="Not personal data.")
        if status in ("submitted", "rejected"):
            return request
        forget_request_review(
            request=request, actor=bob, identity_verified=True, identity_method="Passport"
        )
        if status == "approved":
            forget_request_approve(request=request, actor=carol)
        return request

    return make


def url(request: ForgetRequest | int, action: str = "") -> str:
    pk = request if isinstance(request, int) else request.pk
    return f"/api/requests/{pk}/{action + '/' if action else ''}"


def post(client: APIClient, path: str, data: Any = None) -> Any:
    return client.post(path, data, format="json")


def valid_create_payload(model_id: int, **overrides: Any) -> dict[str, Any]:
    payload = {
        "kind": "pii",
        "subject_reference": "Jonas Berg, customer 9001",
        "legal_ground": "art17_1a",
        "received_on": str(datetime.date.today() - datetime.timedelta(days=1)),
        "models": [model_id],
        "items": [{"prompt": "Jonas Berg lives at", "completion": "12 Elm Street, Oslo"}],
    }
    return {**payload, **overrides}
