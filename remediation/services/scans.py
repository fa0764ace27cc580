"""Leak scans: does a model version still produce a request's items, and by which probes?"""

from typing import Any

from django.db import transaction
from django.utils import timezone

from remediation import permissions
from remediation.models import ForgetRequest, LeakScan, ModelVersion
from remediation.roles import UserLike
from remediation.services.audit import audit_event_record
from remediation.services.errors import ItemsUnavailable, NotAllowed, ValidationFailed
from remediation.services.forget_requests import forget_request_items


def _record(scan: LeakScan, actor: UserLike | None, action: str, **payload: Any) -> None:
    audit_event_record(
        actor=actor, action=f"scan.{action}", object_type="scan", object_id=scan.pk, payload=payload
    )


@transaction.atomic
def scan_start(*, request: ForgetRequest, model_version: ModelVersion, actor: UserLike) -> LeakScan:
    """Queue a leak scan of `model_version` for the request's items."""
    if not permissions.can_scan(actor, request):
        raise NotAllowed("Only operators can scan, and only approved requests.")
    if not request.models_in_scope.filter(pk=model_version.model_id).exists():
        raise ValidationFailed(f"{model_version.model.name} is not in the request's scope.")
    scan = LeakScan.objects.create(request=request, model_version=model_version, created_by=actor)
    _record(scan, actor, "queued", request_id=request.pk, version_id=model_version.pk)
    transaction.on_commit(lambda: _dispatch(scan.pk))
    return scan


def _dispatch(scan_id: int) -> None:
    from remediation.tasks import scan_execute

    try:
        scan_execute.apply_async((scan_id,), retry=True, retry_policy={"max_retries": 2})
    except Exception as exc:  # noqa: BLE001 - any broker failure means "not sent"
        scan_fail(scan_id=scan_id, error=f"Could not reach the task queue ({type(exc).__name__}).")


def scan_claim(scan_id: int) -> bool:
    """Take a queued scan; False for a duplicate delivery."""
    return bool(
        LeakScan.objects.filter(pk=scan_id, status=LeakScan.Status.QUEUED).update(
            status=LeakScan.Status.RUNNING
        )
    )


@transaction.atomic
def scan_finish(*, scan_id: int, result: dict[str, Any]) -> None:
    """Store the per-item result (positions and probe scores; never item text)."""
    LeakScan.objects.filter(pk=scan_id).update(
        status=LeakScan.Status.DONE, result=result, finished_at=timezone.now()
    )
    scan = LeakScan.objects.get(pk=scan_id)
    _record(scan, None, "finished", leaked_items=result.get("leaked_items", 0))


@transaction.atomic
def scan_fail(*, scan_id: int, error: str) -> None:
    LeakScan.objects.filter(pk=scan_id).update(
        status=LeakScan.Status.FAILED, error=error[:2000], finished_at=timezone.now()
    )
    _record(LeakScan.objects.get(pk=scan_id), None, "failed")


def scan_rows(scan: LeakScan, user: UserLike) -> list[dict[str, Any]]:
    """One row per item: its probes, and its text only for those who may see it."""
    per_item = {row["position"]: row for row in scan.result.get("items", [])}
    texts: dict[int, Any] = {}
    if permissions.can_see_item_text(user, scan.request):
        try:
            texts = {item.position: item for item in forget_request_items(scan.request)}
        except ItemsUnavailable:
            texts = {}
    rows = []
    for item in scan.request.items.order_by("position"):
        row = {"position": item.position, "fingerprint": item.fingerprint, "text": None}
        row.update(per_item.get(item.position, {}))
        row["text"] = texts.get(item.position)
        rows.append(row)
    return rows
