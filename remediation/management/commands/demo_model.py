"""Build the demo model on first start and register it (idempotent)."""

from typing import Any

from django.core.management.base import BaseCommand

from remediation.services.demo import demo_model_dir, demo_model_ensure


class Command(BaseCommand):
    help = "Build the demo model under the first model root (once) and register it (once)."

    def handle(self, *args: Any, **options: Any) -> None:
        if not (demo_model_dir() / "config.json").exists():
            self.stdout.write("Building the demo model (first start only; a few minutes)…")
        version = demo_model_ensure()
        self.stdout.write(self.style.SUCCESS(f"Demo model ready: {version} at {version.path}"))
