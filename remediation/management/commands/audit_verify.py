"""Verify the audit trail's hash chain and report the first broken link."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from remediation.services.audit import audit_chain_verify


class Command(BaseCommand):
    help = "Verify the audit trail's hash chain; exits non-zero at the first broken link."

    def handle(self, *args: Any, **options: Any) -> None:
        report = audit_chain_verify()
        if not report.ok:
            raise CommandError(
                f"Audit chain BROKEN at event #{report.broken_at_seq}: {report.reason} "
                f"({report.events_checked} events verified before it)."
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Audit chain OK: {report.events_checked} events, head {report.head_hash}."
            )
        )
