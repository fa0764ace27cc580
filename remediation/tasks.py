"""Celery tasks: ids in, services called. Never item text in arguments."""

import logging
import socket

from celery import shared_task

from remediation.services.runs import run_claim, runs_watchdog

logger = logging.getLogger(__name__)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True)
def run_execute(self, run_id: int) -> None:  # noqa: ANN001 - Celery's bound task
    """Claim run `run_id` and execute it; a duplicate delivery finds it claimed and stops."""
    worker = self.request.hostname or socket.gethostname()
    if not run_claim(run_id=run_id, worker=worker):
        logger.info("run %s is not queued any more; nothing to do", run_id)
        return
    from remediation.worker import run_execute_claimed

    run_execute_claimed(run_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def scan_execute(scan_id: int) -> None:
    """Run a leak scan (claimed the same way as a run)."""
    from remediation.worker import scan_execute_claimed

    scan_execute_claimed(scan_id)


@shared_task
def runs_watchdog_tick() -> list[int]:
    """Celery beat: fail runs whose worker died (silent past the stale limit)."""
    failed = runs_watchdog()
    if failed:
        logger.warning("watchdog failed runs %s: worker silent", failed)
    return failed


@shared_task
def retention_shred_tick() -> list[int]:
    """Celery beat: crypto-shred the items of requests whose retention period ended."""
    from remediation.services.forget_requests import forget_requests_retention_shred

    return forget_requests_retention_shred()
