"""Runs on real Celery workers with a real Redis: completion, kill -9, Redis restart,
duplicate delivery. The worker processes use this test's database."""

import redis

from remediation.models import AuditEvent, ModelVersion, RemediationRun, RunEvent
from remediation.services.audit import audit_chain_verify
from remediation.services.runs import run_approve
from tests.support import LONG_METHOD, LONG_SETTINGS, wait_until

Status = RemediationRun.Status
FINAL = {Status.AWAITING_SIGNOFF, Status.FAILED, Status.CANCELLED}


def status_of(run: RemediationRun) -> str:
    run.refresh_from_db()
    return run.status


def remediating(run: RemediationRun) -> bool:
    run.refresh_from_db()
    return run.status == Status.RUNNING and run.phase == "remediate" and run.step >= 1


def test_a_run_goes_through_every_phase_on_a_worker(
    start_worker, plan_run, redis_server, demo_person_request, carol
):
    # given: the approved run's message waits in Redis before any worker is up
    run = plan_run(approve=False)
    run_approve(run=run, actor=carol)
    queued = redis.Redis.from_url(redis_server.url).lrange("remediation", 0, -1)
    # when
    start_worker()
    wait_until(lambda: status_of(run) in FINAL, 480, "the run to finish")
    # then: the task carried the run id only, never item text
    assert len(queued) == 1
    for value in demo_person_request.person.values.values():
        assert value not in queued[0].decode()
    assert run.status == Status.AWAITING_SIGNOFF, run.failure_reason
    states = RunEvent.objects.filter(run=run, kind="state", message__startswith="Phase:")
    assert list(states.values_list("phase", flat=True)) == [
        "scan",
        "isolate",
        "remediate",
        "verify",
        "register",
    ]
    seqs = list(RunEvent.objects.filter(run=run).order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    assert RunEvent.objects.filter(run=run, kind="progress", phase="remediate").exists()
    assert run.output_version.status == ModelVersion.Status.QUARANTINED
    assert run.output_version.parent_id == run.model_version_id
    assert demo_person_request.__class__.objects.get(pk=demo_person_request.pk).status == (
        "awaiting_signoff"
    )
    assert audit_chain_verify().ok


def test_kill_9_mid_run_fails_it_and_a_new_worker_takes_new_work(start_worker, plan_run):
    # given: a long run, caught in the middle of remediation
    first = start_worker("w1")
    run = plan_run(settings_=LONG_SETTINGS, method=LONG_METHOD)
    wait_until(lambda: remediating(run), 180, "the run to start remediating")
    versions_before = ModelVersion.objects.count()
    # when: the worker dies without a word, and another one (with the watchdog) starts
    first.kill9()
    start_worker("w2", beat=True)
    wait_until(lambda: status_of(run) == Status.FAILED, 60, "the watchdog to fail the run")
    # then
    assert "stopped responding" in run.failure_reason
    assert ModelVersion.objects.count() == versions_before
    assert run.requests.get().status == "failed"  # retryable: it can be re-planned
    assert AuditEvent.objects.filter(action="run.failed", object_id=str(run.pk)).exists()
    # and: the new worker picks up new work
    second = plan_run()
    wait_until(lambda: status_of(second) in FINAL, 480, "the second run to finish")
    assert second.status == Status.AWAITING_SIGNOFF, second.failure_reason
    assert audit_chain_verify().ok


def test_redis_restarting_mid_run_never_leaves_it_hanging(start_worker, plan_run, redis_server):
    # given
    start_worker()
    run = plan_run(settings_={"epochs": 1000, "max_steps": 30}, method=LONG_METHOD)
    wait_until(lambda: remediating(run), 180, "the run to start remediating")
    # when: Redis goes away for two seconds and comes back on the same port
    redis_server.stop()
    import time

    time.sleep(2)
    redis_server.start()
    # then: the run ends, one way or the other
    wait_until(lambda: status_of(run) in FINAL, 480, "the run to end")
    assert run.status in FINAL
    assert audit_chain_verify().ok


def test_the_same_task_delivered_twice_runs_once(start_worker, plan_run):
    # given: the run's message is sent a second time before any worker is up
    from remediation.tasks import run_execute

    run = plan_run()
    run_execute.delay(run.pk)
    # when
    start_worker()
    wait_until(lambda: status_of(run) in FINAL, 480, "the run to finish")
    # then
    import time

    time.sleep(3)  # let the duplicate be consumed too
    assert AuditEvent.objects.filter(action="run.started", object_id=str(run.pk)).count() == 1
    assert ModelVersion.objects.filter(parent=run.model_version).count() == 1
