"""Fixtures shared by the service tests: requests in any state, and snapshots that show
a refused action changed nothing."""

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User

from remediation.models import AuditEvent, ForgetRequest, MLModel
from remediation.services.forget_requests import (
    forget_request_approve,
    forget_request_cancel,
    forget_request_create,
    forget_request_reject,
    forget_request_review,
    forget_request_submit,
)
from remediation.services.item_files import ItemInput
from tests.conftest import ITEMS

Status = ForgetRequest.Status

# States no service reaches yet (runs are not built): tests put a request there directly.
FORCED_STATES = (
    Status.SCHEDULED,
    Status.RUNNING,
    Status.VERIFYING,
    Status.AWAITING_SIGNOFF,
    Status.COMPLETED,
    Status.FAILED,
)


def audit_actions() -> list[str]:
    return list(AuditEvent.objects.order_by("seq").values_list("action", flat=True))


def snapshot(request: ForgetRequest) -> dict[str, Any]:
    """Everything a refused action must leave as it was: the row, its items, the trail."""
    row = ForgetRequest.objects.filter(pk=request.pk).values().get()
    row["subject_reference_ct"] = bytes(row["subject_reference_ct"])
    return {
        "row": row,
        "items": list(request.items.values_list("position", "fingerprint")),
        "audit": list(AuditEvent.objects.values_list("seq", "hash")),
    }


@pytest.fixture
def file_request(ml_model: MLModel) -> Callable[..., ForgetRequest]:
    """forget_request_create with sensible defaults; keyword arguments override them."""

    def make(requester: User, **overrides: Any) -> ForgetRequest:
        fields: dict[str, Any] = {
            "kind": ForgetRequest.Kind.PII,
            "subject_reference": "Maria Okafor, customer 4711",
            "legal_ground": ForgetRequest.LegalGround.ART17_1B,
            "received_on": datetime.date.today() - datetime.timedelta(days=3),
            "models": [ml_model],
            "items": list(ITEMS),
        }
        fields.update(overrides)
        return forget_request_create(actor=requester, **fields)

    return make


@pytest.fixture
def request_in(
    make_request: Callable[..., ForgetRequest], alice: User, bob: User, carol: User, frank: User
) -> Callable[..., ForgetRequest]:
    """A request of Alice's, brought to `status` by the services (Bob reviews, Carol
    approves); states without a service yet are set directly after approval."""

    def make(status: str, items: list[ItemInput] | None = None) -> ForgetRequest:
        request = make_request(alice, items)
        if status == Status.DRAFT:
            return request
        if status == Status.CANCELLED:
            return forget_request_cancel(request=request, actor=alice)
        forget_request_submit(request=request, actor=alice)
        if status == Status.REJECTED:
            return forget_request_reject(request=request, actor=bob, reason="Out of scope.")
        if status == Status.SUBMITTED:
            return request
        forget_request_review(
            request=request, actor=bob, identity_verified=True, identity_method="ID checked"
        )
        if status == Status.IN_REVIEW:
            return request
        forget_request_approve(request=request, actor=carol)
        if status in FORCED_STATES:
            ForgetRequest.objects.filter(pk=request.pk).update(status=status)
            request.refresh_from_db()
        return request

    return make
