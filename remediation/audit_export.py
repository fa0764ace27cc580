"""Audit events as CSV or JSONL lines, streamed (the pages and the API share this)."""

import csv
import json
from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet

from remediation.models import AuditEvent

EXPORT_FIELDS = [
    "seq",
    "created_at",
    "actor_id",
    "actor_name",
    "action",
    "object_type",
    "object_id",
    "payload",
    "prev_hash",
    "hash",
]


def audit_event_row(event: AuditEvent) -> dict[str, Any]:
    """Every stored field of an event, as exported (enough to re-check its hash)."""
    return {
        "seq": event.seq,
        "created_at": event.created_at.isoformat(),
        "actor_id": event.actor_id,
        "actor_name": event.actor_name,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "payload": event.payload,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


class _Line:
    """A file-like object whose write() hands back the line, for csv.writer in a stream."""

    def write(self, value: str) -> str:
        return value


def audit_csv_lines(events: QuerySet[AuditEvent]) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow(EXPORT_FIELDS)
    for event in events.iterator(chunk_size=2000):
        row = audit_event_row(event)
        row["payload"] = json.dumps(row["payload"], sort_keys=True, ensure_ascii=False)
        yield writer.writerow([row[name] for name in EXPORT_FIELDS])


def audit_jsonl_lines(events: QuerySet[AuditEvent]) -> Iterator[str]:
    for event in events.iterator(chunk_size=2000):
        yield json.dumps(audit_event_row(event), sort_keys=True, ensure_ascii=False) + "\n"
