"""What of a request's personal data a user may read: cleartext, redacted, or shredded.

Items and the subject reference are shown in cleartext only to those who must judge
them (permissions.can_see_item_text); everyone else gets positions and fingerprints.
Once the request's key is shredded nobody gets text.
"""

from dataclasses import dataclass, field
from typing import Any

from remediation import permissions
from remediation.models import ForgetRequest
from remediation.roles import UserLike
from remediation.services.errors import ItemsUnavailable
from remediation.services.forget_requests import (
    forget_request_is_shredded,
    forget_request_items,
    forget_request_subject,
)


@dataclass(frozen=True)
class Disclosure:
    subject_reference: str | None
    redacted: bool
    shredded: bool
    items: list[dict[str, Any]] = field(default_factory=list)


def _opaque_items(request: ForgetRequest, *, redacted: bool, shredded: bool) -> list[dict]:
    rows = request.items.order_by("position").values_list("position", "fingerprint")
    return [
        {
            "position": position,
            "prompt": None,
            "completion": None,
            "preferred": None,
            "fingerprint": fingerprint,
            "redacted": redacted,
            "shredded": shredded,
        }
        for position, fingerprint in rows
    ]


def _clear_items(request: ForgetRequest) -> list[dict]:
    return [
        {
            "position": item.position,
            "prompt": item.prompt,
            "completion": item.completion,
            "preferred": item.preferred or None,
            "fingerprint": item.fingerprint,
            "redacted": False,
            "shredded": False,
        }
        for item in forget_request_items(request)
    ]


def request_disclosure(request: ForgetRequest, user: UserLike) -> Disclosure:
    """The personal data of a request as this user may see it (they may see the request)."""
    redacted = not permissions.can_see_item_text(user, request)
    shredded = forget_request_is_shredded(request)
    if not redacted and not shredded:
        try:
            return Disclosure(forget_request_subject(request), False, False, _clear_items(request))
        except ItemsUnavailable:
            # Shredded between the check and the read: show it as shredded.
            shredded = True
    return Disclosure(
        None, redacted, shredded, _opaque_items(request, redacted=redacted, shredded=shredded)
    )
