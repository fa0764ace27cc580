"""Verify a compliance report (PDF or JSON) offline: prints VALID or INVALID with reasons.

With --public-key it needs nothing but the key file and the report; without it, it checks
against this site's own signing key. Exit status 0 when valid, 1 when not.
"""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from remediation.reports.signing import SigningKeyError, load_signing_key, public_key_pem
from remediation.reports.verify import verify_file


def _read(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise CommandError(f"Cannot read the {what} {path}: {exc.strerror or exc}") from exc


def _site_public_key_pem() -> str:
    path = getattr(
        settings, "UNLEARN_SIGNING_KEY_PATH", settings.VAR_DIR / "report_signing_key.pem"
    )
    try:
        # Load, never create: a key made now could not have signed any report.
        key = load_signing_key(Path(path), getattr(settings, "UNLEARN_SIGNING_KEY", None))
    except SigningKeyError as exc:
        raise CommandError(
            f"No site signing key to verify with ({exc}); pass --public-key."
        ) from exc
    return public_key_pem(key)


class Command(BaseCommand):
    help = "Verify a signed compliance report (PDF or JSON); exits non-zero when it is invalid."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the report: a PDF or a signed JSON document")
        parser.add_argument(
            "--public-key",
            metavar="PEM_FILE",
            help="the signer's Ed25519 public key (PEM); default: this site's signing key",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        data = _read(options["file"], "report")
        if options["public_key"]:
            trusted = _read(options["public_key"], "public key").decode("utf-8", "replace")
        else:
            trusted = _site_public_key_pem()
        result = verify_file(data, trusted)
        if not result.ok:
            raise CommandError("INVALID: " + "; ".join(result.reasons))
        report = (result.bundle or {}).get("report")
        report_id = report.get("id", "?") if isinstance(report, dict) else "?"
        summary = f"report {report_id}, digest {result.digest}, signed with key {result.key_id}"
        self.stdout.write(self.style.SUCCESS(f"VALID: {summary}."))
        for note in result.notes:
            self.stdout.write(f"Note: {note}")
