"""Every role × every action over the API, with the answer each must get.

The requester acts on their own request (Alice's); the others on hers. 2xx: allowed;
403: refused; 404: that role may not see the request in that state. A refusal changes
nothing: neither the request nor the audit trail.
"""

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from remediation.models import AuditEvent, ForgetRequest, MLModel, ModelVersion
from tests.api.conftest import post, url, valid_create_payload

MATRIX = """
action          requester  reviewer  approver  operator  auditor  admin
create          201        403       403       403       403      403
view            200        200       200       404       200      200
submit          200        404       404       404       404      404
review          403        200       403       404       403      403
approve         403        403       200       404       403      403
reject          403        403       200       404       403      403
cancel          200        403       403       404       403      200
extend          403        200       200       404       403      403
shred           403        403       403       404       403      200
register_model  403        403       403       201       403      201
audit_list      403        403       403       403       200      200
audit_verify    403        403       403       403       200      200
"""
PERSONA_OF = {
    "requester": "alice",
    "reviewer": "bob",
    "approver": "carol",
    "operator": "dave",
    "auditor": "erin",
    "admin": "frank",
}


def _parse(table: str) -> dict[tuple[str, str], int]:
    header, *rows = [line.split() for line in table.strip().splitlines()]
    return {
        (row[0], role): int(code)
        for row in rows
        for role, code in zip(header[1:], row[1:], strict=True)
    }


EXPECTED = _parse(MATRIX)
Call = Callable[[APIClient, ForgetRequest | None, dict[str, Any]], Any]


def _on_request(action: str, payload: Any = None) -> Call:
    return lambda client, request, ctx: post(client, url(request, action), payload)


def _extend(client: APIClient, request: ForgetRequest | None, ctx: dict[str, Any]) -> Any:
    today = str(datetime.date.today())
    payload = {"months": 1, "reason": "Complex", "subject_notified_on": today}
    return post(client, url(request, "extend"), payload)


# action -> (status the request is put in first, or None when no request is involved; call)
ACTIONS: dict[str, tuple[str | None, Call]] = {
    "create": (None, lambda c, r, ctx: post(c, "/api/requests/", ctx["create_payload"])),
    "view": ("submitted", lambda c, r, ctx: c.get(url(r))),
    "submit": ("draft", _on_request("submit")),
    "review": (
        "submitted",
        _on_request("review", {"identity_verified": True, "identity_method": "ID"}),
    ),
    "approve": ("in_review", _on_request("approve")),
    "reject": ("in_review", _on_request("reject", {"reason": "No"})),
    "cancel": ("submitted", _on_request("cancel", {"reason": "Withdrawn"})),
    "extend": ("submitted", _extend),
    "shred": ("rejected", _on_request("shred")),
    "register_model": (None, lambda c, r, ctx: post(c, "/api/models/", ctx["register_payload"])),
    "audit_list": (None, lambda c, r, ctx: c.get("/api/audit/")),
    "audit_verify": (None, lambda c, r, ctx: c.get("/api/audit/verify/")),
}


def _snapshot() -> tuple[Any, ...]:
    requests = list(ForgetRequest.objects.values_list("pk", "status", "extended_due_on"))
    return requests, AuditEvent.objects.count(), ModelVersion.objects.count()


@pytest.mark.parametrize("action, role", sorted(EXPECTED), ids=lambda v: v)
def test_permission_matrix(client_for, personas, in_state, model_dir, action, role):
    # given
    state, call = ACTIONS[action]
    request = in_state(state) if state else None
    ctx = {
        "create_payload": valid_create_payload(MLModel.objects.get().pk),
        "register_payload": {"name": "support-bot", "path": str(model_dir)},
    }
    before = _snapshot()

    # when
    response = call(client_for(personas[PERSONA_OF[role]]), request, ctx)

    # then
    expected = EXPECTED[(action, role)]
    assert response.status_code == expected, response.content
    if expected >= 400:
        assert _snapshot() == before
