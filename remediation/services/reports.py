"""Issuing and verifying compliance reports."""

import json
import uuid
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from remediation.models import AuditEvent, ComplianceReport, RemediationRun
from remediation.reports.signing import (
    Verification,
    load_or_create_signing_key,
    public_key_pem,
    sign_bundle,
)
from remediation.reports.verify import verify_file
from remediation.services.audit import audit_event_record
from remediation.services.errors import InvalidTransition
from remediation.services.report_bundle import report_bundle_build


@lru_cache(maxsize=1)
def _signing_key() -> Any:
    return load_or_create_signing_key(
        settings.UNLEARN_SIGNING_KEY_PATH, settings.UNLEARN_SIGNING_KEY
    )


def site_public_key_pem() -> str:
    """The public key anyone can verify our reports with."""
    return public_key_pem(_signing_key())


@transaction.atomic
def report_issue(*, run: RemediationRun) -> ComplianceReport:
    """Build, sign and store the report of a signed-off run. Refused for any other run."""
    if run.status != RemediationRun.Status.COMPLETED or run.signed_off_by_id is None:
        raise InvalidTransition(f"{run.label} is not signed off: no report can be issued.")
    if ComplianceReport.objects.filter(run=run).exists():
        raise InvalidTransition(f"{run.label} already has a report.")
    report_id, issued_at = str(uuid.uuid4()), timezone.now()
    bundle = report_bundle_build(run=run, report_id=report_id, issued_at=issued_at)
    document = sign_bundle(bundle, _signing_key())
    report = ComplianceReport.objects.create(
        run=run,
        report_id=report_id,
        issued_at=issued_at,
        document_json=json.dumps(document, sort_keys=True, ensure_ascii=False),
        digest=document["digest"],
        key_id=document["key_id"],
    )
    audit_event_record(
        actor=None,
        action="report.issued",
        object_type="report",
        object_id=report.pk,
        payload={"report_id": report_id, "digest": document["digest"], "run_id": run.pk},
    )
    return report


def chain_position_check(bundle: dict[str, Any]) -> list[str]:
    """Reasons the bundle's audit facts disagree with our chain (empty when they agree)."""
    reasons = []
    head = (bundle.get("audit") or {}).get("chain_head") or {}
    event = AuditEvent.objects.filter(seq=head.get("seq")).first()
    if head.get("seq") and (event is None or event.hash != head.get("hash")):
        reasons.append(f"the audit chain has no event #{head.get('seq')} with the stated hash")
    for listed in (bundle.get("audit") or {}).get("events", []):
        stored = AuditEvent.objects.filter(seq=listed.get("seq")).first()
        if stored is None or stored.hash != listed.get("hash"):
            reasons.append(f"audit event #{listed.get('seq')} does not match the chain")
            break
    return reasons


def report_verify_upload(data: bytes) -> Verification:
    """Verify an uploaded report (JSON or PDF): signature with our key, then its place in
    our audit chain."""
    result = verify_file(data, site_public_key_pem())
    if not result.ok or result.bundle is None:
        return result
    reasons = chain_position_check(result.bundle)
    return result.with_reasons(reasons) if reasons else result
