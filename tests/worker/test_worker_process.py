"""The worker runs the engine the way the CLI does: OpenMP threads wait passively and
freed memory stays in the process that runs engine tasks; the site's own process, which
imports the Celery app too, neither loads torch nor changes OpenMP because of it."""

import os
import re
import subprocess
import sys

from celery.signals import task_prerun

import unlearn_site.celery as celery_module
from remediation.tasks import run_execute, runs_watchdog_tick
from tests.support import ROOT, wait_until

TUNED = re.compile(r"worker process (\d+): OMP_WAIT_POLICY=(\S+), freed memory kept \(mallopt\)")


def python(code: str, **env: str) -> str:
    """Run `code` in a fresh interpreter without OMP_WAIT_POLICY (unless given); stdout."""
    child_env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    child_env.update(env)
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


STARTING_WORKER = (
    "import os, unlearn_site.celery; from celery.signals import worker_init; "
    "before = os.environ.get('OMP_WAIT_POLICY'); worker_init.send(sender=None); "
    "print(before, os.environ.get('OMP_WAIT_POLICY'))"
)


def test_a_starting_worker_makes_openmp_wait_passively_and_importing_the_app_does_not():
    # importing leaves it alone (the site's process builds the demo model with spinning
    # threads, as the CLI does); the worker's start sets it
    assert python(STARTING_WORKER) == "None PASSIVE"


def test_a_wait_policy_given_in_the_environment_wins():
    assert python(STARTING_WORKER, OMP_WAIT_POLICY="ACTIVE") == "ACTIVE ACTIVE"


def test_importing_the_celery_app_does_not_load_torch():
    # as the web process does: the package (unlearn_site/__init__.py) imports the app
    code = (
        "import sys, django, unlearn_site.celery; django.setup(); "
        "print('torch' in sys.modules, 'remediation.unlearning.runtime' in sys.modules)"
    )
    assert python(code, DJANGO_SETTINGS_MODULE="unlearn_site.settings") == "False False"


def test_the_first_task_in_a_process_tunes_the_allocator_once(monkeypatch):
    # given
    from remediation.unlearning import runtime

    calls = []
    monkeypatch.setattr(runtime, "tune_allocator", lambda: calls.append(os.getpid()) or True)
    monkeypatch.setattr(celery_module, "_allocator_tuned", False)
    # when: Celery's own signal, as a worker process sends it before each task
    task_prerun.send(sender=runs_watchdog_tick, task_id="a", task=runs_watchdog_tick)
    assert calls == []  # a light task does not load the engine
    task_prerun.send(sender=run_execute, task_id="b", task=run_execute)
    task_prerun.send(sender=run_execute, task_id="c", task=run_execute)
    # then
    assert calls == [os.getpid()]


def test_a_real_worker_process_waits_passively_and_keeps_freed_memory(
    start_worker, transactional_db, monkeypatch
):
    # given: a worker started without OMP_WAIT_POLICY in its environment
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    worker = start_worker()

    def log() -> str:
        return worker.log_path.read_text()

    assert not TUNED.search(log())  # not at start: only a process that runs tasks
    # when: a light task, then two engine tasks (for runs that do not exist: nothing to do)
    runs_watchdog_tick.delay()
    wait_until(lambda: log().count("succeeded in") >= 1, 120, "the light task to run")
    assert not TUNED.search(log())
    run_execute.delay(987654)
    run_execute.delay(987655)
    wait_until(lambda: log().count("succeeded in") >= 3, 120, "the engine tasks to run")
    # then: the pool process (not the main one) tuned its allocator once, before its
    # first engine task, and its OpenMP waits passively
    lines = [line for line in log().splitlines() if TUNED.search(line)]
    assert len(lines) == 1, log()
    pid, policy = TUNED.search(lines[0]).groups()
    assert int(pid) != worker.process.pid
    assert policy == "PASSIVE"
    assert lines[0].endswith("(mallopt): True")
