"""Writing and verifying the hash-chained audit trail."""

import datetime
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.utils import timezone

from remediation.models import AuditEvent, AuditHead
from remediation.roles import UserLike

GENESIS_HASH = "0" * 64


def canonical_event(
    *,
    seq: int,
    created_at: datetime.datetime,
    actor_id: int | None,
    actor_name: str,
    action: str,
    object_type: str,
    object_id: str,
    payload: dict[str, Any],
) -> bytes:
    """The bytes an event's hash covers: sorted-key JSON, UTC time to the microsecond."""
    body = {
        "seq": seq,
        "created_at": created_at.astimezone(datetime.UTC).isoformat(timespec="microseconds"),
        "actor_id": actor_id,
        "actor_name": actor_name,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "payload": payload,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chain_hash(prev_hash: str, canonical: bytes) -> str:
    """SHA-256 over the previous event's hash and this event's canonical JSON."""
    return hashlib.sha256(prev_hash.encode() + canonical).hexdigest()


def event_hash(event: AuditEvent) -> str:
    """Recompute a stored event's hash from its fields."""
    canonical = canonical_event(
        seq=event.seq,
        created_at=event.created_at,
        actor_id=event.actor_id,
        actor_name=event.actor_name,
        action=event.action,
        object_type=event.object_type,
        object_id=event.object_id,
        payload=event.payload,
    )
    return chain_hash(event.prev_hash, canonical)


def _locked_head() -> AuditHead:
    # The head row is the writers' mutex: select_for_update on PostgreSQL; on SQLite
    # the IMMEDIATE transaction already holds the database's write lock.
    head = AuditHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        AuditHead.objects.get_or_create(pk=1, defaults={"seq": 0, "hash": GENESIS_HASH})
        head = AuditHead.objects.select_for_update().get(pk=1)
    return head


def _actor_fields(actor: UserLike | None) -> tuple[int | None, str]:
    if actor is None or not actor.is_authenticated:
        return None, "system"
    full_name = actor.get_full_name() if hasattr(actor, "get_full_name") else ""
    return actor.pk, full_name or actor.get_username()


def audit_event_record(
    *,
    actor: UserLike | None,
    action: str,
    object_type: str,
    object_id: str | int,
    payload: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain. Must run inside the caller's transaction, so the
    event exists exactly when the change it records does. Never put item text in payload."""
    if not connection.in_atomic_block:
        raise RuntimeError("audit_event_record must be called inside transaction.atomic()")
    if connection.vendor == "postgresql":
        # Serialise chain writers before reading the head (no fork, no gap).
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(727272)")
    head = _locked_head()
    actor_id, actor_name = _actor_fields(actor)
    seq, now = head.seq + 1, timezone.now()
    payload = json.loads(json.dumps(payload or {}, sort_keys=True))
    canonical = canonical_event(
        seq=seq,
        created_at=now,
        actor_id=actor_id,
        actor_name=actor_name,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        payload=payload,
    )
    event = AuditEvent.objects.create(
        seq=seq,
        created_at=now,
        actor_id=actor_id,
        actor_name=actor_name,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        payload=payload,
        prev_hash=head.hash,
        hash=chain_hash(head.hash, canonical),
    )
    AuditHead.objects.filter(pk=head.pk).update(seq=seq, hash=event.hash)
    return event


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    events_checked: int
    head_hash: str
    broken_at_seq: int | None = None
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "events_checked": self.events_checked,
            "head_hash": self.head_hash,
            "broken_at_seq": self.broken_at_seq,
            "reason": self.reason,
        }


def _check_link(event: AuditEvent, expected_seq: int, prev_hash: str) -> str:
    """The reason this event breaks the chain, or '' when it is sound."""
    if event.seq != expected_seq:
        return f"expected event #{expected_seq} here, found #{event.seq} (removed or reordered)"
    if event.prev_hash != prev_hash:
        return "its previous-hash does not match the event before it (removed or reordered)"
    if event_hash(event) != event.hash:
        return "its content does not match its hash (edited)"
    return ""


def audit_chain_verify() -> ChainReport:
    """Walk the chain from the start and report the first broken link, if any."""
    prev_hash, expected_seq, checked = GENESIS_HASH, 1, 0
    for event in AuditEvent.objects.order_by("pk").iterator(chunk_size=2000):
        reason = _check_link(event, expected_seq, prev_hash)
        if reason:
            # The first position that fails: for a removed #3 that is 3, not the #4 found.
            return ChainReport(False, checked, prev_hash, expected_seq, reason)
        prev_hash, expected_seq, checked = event.hash, expected_seq + 1, checked + 1
    head = AuditHead.objects.filter(pk=1).first()
    if head is not None and (head.seq, head.hash) != (checked, prev_hash):
        reason = f"the chain ends at #{checked} but its head records #{head.seq} (tail removed)"
        return ChainReport(False, checked, prev_hash, checked + 1, reason)
    return ChainReport(True, checked, prev_hash)
