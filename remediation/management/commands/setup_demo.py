"""Create the role groups and one demo user per role (idempotent)."""

from typing import Any

from django.core.management.base import BaseCommand

from remediation.services.accounts import demo_users_ensure


class Command(BaseCommand):
    help = "Create role groups and demo users; prints new users' passwords once."

    def handle(self, *args: Any, **options: Any) -> None:
        created = demo_users_ensure()
        if not created:
            self.stdout.write("Demo users already exist (passwords were printed on first run).")
            return
        self.stdout.write(self.style.SUCCESS("Demo users (shown once; keep them):"))
        for username, password in created.items():
            self.stdout.write(f"  {username:<10} {password}")
