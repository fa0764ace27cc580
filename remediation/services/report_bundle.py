"""The report's bundle: everything a report says, as one JSON-serialisable dict.

Built only from identifiers, hashes, dates and numbers: never item text or the
subject reference (a keyed hash of it stands in)."""

import datetime
import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

from django.conf import settings

from remediation.models import AuditEvent, AuditHead, ForgetRequest, ModelVersion, RemediationRun
from remediation.services import crypto
from remediation.services.evidence import charts_from_run, evidence_from_result, residual_risk
from remediation.services.forget_requests import forget_request_subject

SOFTWARE_VERSION = "0.1.0"
FORMAT_VERSION = 1


def software_commit() -> str:
    """The git commit the site runs, or 'unknown' outside a checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(settings.BASE_DIR),
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


def _date(value: datetime.date | datetime.datetime | None) -> str | None:
    if value is None:
        return None
    return value.date().isoformat() if isinstance(value, datetime.datetime) else value.isoformat()


def _request_entry(request: ForgetRequest) -> dict[str, Any]:
    subject = forget_request_subject(request)
    return {
        "ticket": request.ticket,
        "subject_hash": crypto.keyed_hash(subject, purpose="subject"),
        "kind": request.kind,
        "legal_ground": request.legal_ground,
        "received_on": _date(request.received_on),
        "due_on": _date(request.due_on),
        "extended_due_on": _date(request.extended_due_on),
        "extension_reason": request.extension_reason,
        "completed_on": _date(request.completed_at),
    }


def _version_entry(version: ModelVersion | None) -> dict[str, Any] | None:
    if version is None:
        return None
    return {"id": version.pk, "number": version.number, "manifest_digest": version.manifest_digest}


def _digest_of(values: list[str]) -> str:
    return hashlib.sha256(json.dumps(sorted(values)).encode()).hexdigest()


def _method_entry(run: RemediationRun) -> dict[str, Any]:
    fingerprints = [
        item.fingerprint for request in run.requests.all() for item in request.items.all()
    ]
    summary = run.result.get("summary", {})
    seconds = (run.finished_at - run.started_at).total_seconds() if run.started_at else None
    return {
        "name": run.method,
        "settings": run.settings,
        "seed": run.seed,
        "forget_set": {"size": len(fingerprints), "digest": _digest_of(fingerprints)},
        "retain_set": {
            "size": summary.get("retain_size", 0),
            "digest": summary.get("retain_digest", ""),
        },
        "compute_seconds": round(seconds, 3) if seconds is not None else None,
        "device": run.device,
    }


def _audit_entry(run: RemediationRun, requests: list[ForgetRequest]) -> dict[str, Any]:
    ids = [str(r.pk) for r in requests]
    events = AuditEvent.objects.filter(
        object_type="forget_request", object_id__in=ids
    ) | AuditEvent.objects.filter(object_type="run", object_id=str(run.pk))
    head = AuditHead.objects.get(pk=1)
    return {
        "events": [
            {
                "seq": e.seq,
                "time": e.created_at.isoformat(),
                "action": e.action,
                "actor": e.actor_name,
                "hash": e.hash,
            }
            for e in events.order_by("seq")
        ],
        "chain_head": {"seq": head.seq, "hash": head.hash},
    }


def _signoffs(run: RemediationRun, requests: list[ForgetRequest]) -> list[dict[str, Any]]:
    def person(user: Any) -> str:
        return (user.get_full_name() or user.get_username()) if user else ""

    rows = []
    for request in requests:
        rows.append(
            {
                "role": "reviewer",
                "name": person(request.reviewer),
                "decision": f"reviewed {request.ticket}",
                "time": None,
            }
        )
        rows.append(
            {
                "role": "approver",
                "name": person(request.approver),
                "decision": f"approved {request.ticket}",
                "time": _iso(request.decided_at),
            }
        )
    rows.append(
        {
            "role": "operator",
            "name": person(run.planned_by),
            "decision": "planned run",
            "time": _iso(run.created_at),
        }
    )
    rows.append(
        {
            "role": "approver",
            "name": person(run.approved_by),
            "decision": "approved run",
            "time": _iso(run.approved_at),
        }
    )
    rows.append(
        {
            "role": "approver",
            "name": person(run.signed_off_by),
            "decision": "signed off",
            "time": _iso(run.signed_off_at),
        }
    )
    return rows


def _iso(value: datetime.datetime | None) -> str | None:
    return value.isoformat() if value else None


def report_bundle_build(
    *, run: RemediationRun, report_id: str, issued_at: datetime.datetime
) -> dict[str, Any]:
    """Everything the report states, from the run, its requests, versions and audit trail."""
    requests = list(run.requests.order_by("pk"))
    shred_after = max(
        (r.retain_items_until for r in requests if r.retain_items_until), default=None
    )
    return {
        "report": {
            "id": report_id,
            "format_version": FORMAT_VERSION,
            "issued_at": issued_at.isoformat(),
            "software": {
                "name": "unlearn",
                "version": SOFTWARE_VERSION,
                "commit": software_commit(),
            },
        },
        "requests": [_request_entry(r) for r in requests],
        "scope": {
            "model": run.model_version.model.name,
            "input_version": _version_entry(run.model_version),
            "output_version": _version_entry(run.output_version),
        },
        "method": _method_entry(run),
        "evidence": evidence_from_result(run.result, run.policy),
        "charts": charts_from_run(run),
        "residual_risk": residual_risk(run.result),
        "signoffs": _signoffs(run, requests),
        "audit": _audit_entry(run, requests),
        "retention": {"shred_after": _date(shred_after)},
    }
