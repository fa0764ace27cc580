"""The Celery app: Redis is the broker; tasks take ids and call services."""

import logging
import os

from celery import Celery
from celery.signals import task_prerun, worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "unlearn_site.settings")

logger = logging.getLogger(__name__)

app = Celery("unlearn")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["remediation"])

# The tasks that run the engine (and so load torch).
ENGINE_TASKS = frozenset({"remediation.tasks.run_execute", "remediation.tasks.scan_execute"})
_allocator_tuned = False


@worker_init.connect
def wait_passively(**_: object) -> None:
    """A worker's OpenMP threads wait passively, as under the CLI: busy waiting makes a
    small shared CPU many times slower. Set in the worker's main process, before its pool
    starts and before anything loads torch; a value given in the environment wins. Not at
    import: the site's own process (which builds the demo model) imports this app too."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@task_prerun.connect
def tune_worker_allocator(sender: object = None, **_: object) -> None:
    """Keep freed memory in a process that runs the engine, as the CLI does (once, before
    its first engine task; a process that only runs the light periodic tasks never loads
    torch). Not at ``worker_process_init``: importing torch there takes seconds (far more
    on a cold start), and a pool process that is not up within
    ``worker_proc_alive_timeout`` (4 s) is killed."""
    global _allocator_tuned
    if _allocator_tuned or getattr(sender, "name", None) not in ENGINE_TASKS:
        return
    _allocator_tuned = True
    from remediation.unlearning.runtime import tune_allocator  # imports torch

    logger.info(
        "worker process %d: OMP_WAIT_POLICY=%s, freed memory kept (mallopt): %s",
        os.getpid(),
        os.environ.get("OMP_WAIT_POLICY"),
        tune_allocator(),
    )
