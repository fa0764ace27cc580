"""Benchmark: latency from the engine's progress callback to the event arriving in a
browser's websocket, on the embedded default (SQLite, embedded Redis, daphne).

Run it in a scratch var/ (make bench does): it creates its own users, run and database.
"""

import json
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from remediation.management.commands.serve import embedded_redis_command, wait_for_socket

PASSWORD = "bench-password-123"


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def _bench_run() -> Any:
    """A user who may watch, and a running run to push events to."""
    from django.contrib.auth.models import User

    from remediation.models import MLModel, ModelVersion, RemediationRun
    from remediation.services.accounts import role_groups_ensure

    user = User.objects.create_user("bench-operator", password=PASSWORD)
    user.groups.add(role_groups_ensure()["operator"])
    model = MLModel.objects.create(name="bench")
    version = ModelVersion.objects.create(
        model=model,
        number=1,
        path="/bench",
        architecture="GPT2LMHeadModel",
        model_type="gpt2",
        parameter_count=1,
        manifest={},
        manifest_digest="0" * 64,
    )
    return RemediationRun.objects.create(
        model_version=version, method="rewrite", planned_by=user, status="running"
    )


def _engine_events(run_id: int, count: int) -> None:
    """What the engine does during a run: call the progress callback, 4 times a second."""
    from django.db import connection

    from remediation.unlearning.progress import ProgressEvent
    from remediation.worker import ThrottledProgress

    callback = ThrottledProgress(run_id)
    try:
        for step in range(1, count + 1):
            metrics = {"forget_loss": 1.0 / step, "sent_at": time.time() * 1000}
            callback(ProgressEvent("remediate", step, count + 1, metrics))
            time.sleep(0.26)
    finally:
        connection.close()


class Command(BaseCommand):
    help = "Measure callback-to-browser latency of run progress events (p50, p95)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--events", type=int, default=120)
        parser.add_argument("--out", default="var/bench/progress.json")

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", verbosity=0)
        socket_path = Path(settings.REDIS_URL.removeprefix("unix://"))
        redis = subprocess.Popen(embedded_redis_command(socket_path), stdout=subprocess.DEVNULL)
        daphne = None
        try:
            wait_for_socket(socket_path, redis)
            run = _bench_run()
            daphne = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "daphne",
                    "-b",
                    "127.0.0.1",
                    "-p",
                    "8765",
                    "unlearn_site.asgi:application",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(3)
            latencies = self._measure(run, options["events"])
        finally:
            for process in (daphne, redis):
                if process is not None:
                    process.terminate()
                    process.wait(timeout=15)
        self._report(latencies, options["out"])

    def _measure(self, run: Any, count: int) -> list[float]:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", args=["--no-sandbox"]
            )
            page = browser.new_page()
            page.goto("http://127.0.0.1:8765/accounts/login/")
            page.fill("input[name=username]", "bench-operator")
            page.fill("input[name=password]", PASSWORD)
            page.click("form button[type=submit]")
            page.goto(f"http://127.0.0.1:8765/runs/{run.pk}/")
            page.wait_for_function("document.getElementById('ws-state').textContent === 'live'")
            # The engine's side runs in a thread of its own, as in a worker (Playwright's
            # sync API keeps an event loop in this one).
            engine = threading.Thread(target=_engine_events, args=(run.pk, count))
            engine.start()
            while engine.is_alive():
                page.wait_for_timeout(200)
            page.wait_for_timeout(2000)
            arrivals = page.evaluate("window.unlearnArrivals")
            browser.close()
        return [a["at"] - a["sent"] for a in arrivals if a.get("sent")]

    def _report(self, latencies: list[float], out: str) -> None:
        if not latencies:
            raise CommandError("No event reached the browser.")
        result = {
            "events": len(latencies),
            "p50_ms": round(statistics.median(latencies), 1),
            "p95_ms": round(_percentile(latencies, 0.95), 1),
            "max_ms": round(max(latencies), 1),
            "target_p95_ms": 250,
        }
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(result, indent=2))
        self.stdout.write(
            f"progress callback -> browser websocket: {result['events']} events, "
            f"p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms (target p95 < 250 ms)"
        )
