"""Run transitions that need no engine: approval, dispatch, claim, cancel, watchdog."""

import datetime
import threading

import pytest
from django.db import connection
from django.utils import timezone

from remediation.models import AuditEvent, ForgetRequest, RemediationRun, RunEvent
from remediation.services import runs as svc
from remediation.services.audit import audit_chain_verify
from remediation.services.errors import InvalidTransition, NotAllowed

pytestmark = pytest.mark.django_db
Status = RemediationRun.Status


def test_approval_queues_the_run_and_schedules_its_requests(planned_run, carol):
    # when
    svc.run_approve(run=planned_run, actor=carol)
    # then
    planned_run.refresh_from_db()
    assert planned_run.status == Status.QUEUED
    assert planned_run.approved_by == carol
    assert planned_run.requests.get().status == ForgetRequest.Status.SCHEDULED
    assert AuditEvent.objects.filter(action="run.approved").count() == 1


def test_the_planner_cannot_approve_even_as_approver(planned_run, dave):
    # given: Dave planned the run and also holds the approver role
    from remediation.services.accounts import role_groups_ensure

    dave.groups.add(role_groups_ensure()["approver"])
    # when / then
    with pytest.raises(NotAllowed, match="Four eyes"):
        svc.run_approve(run=planned_run, actor=dave)
    planned_run.refresh_from_db()
    assert planned_run.status == Status.PLANNED


def test_a_queued_run_is_claimed_once(planned_run, carol):
    # given
    svc.run_approve(run=planned_run, actor=carol)
    # when
    first = svc.run_claim(run_id=planned_run.pk, worker="w1")
    second = svc.run_claim(run_id=planned_run.pk, worker="w2")
    # then
    planned_run.refresh_from_db()
    assert (first, second) == (True, False)
    assert planned_run.worker == "w1"
    assert planned_run.requests.get().status == ForgetRequest.Status.RUNNING


@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_for_one_run_claim_it_once(planned_run, carol):
    # given
    svc.run_approve(run=planned_run, actor=carol)
    barrier, results = threading.Barrier(2), []

    def claim(name: str) -> None:
        barrier.wait()
        try:
            results.append(svc.run_claim(run_id=planned_run.pk, worker=name))
        finally:
            connection.close()

    # when
    threads = [threading.Thread(target=claim, args=(f"w{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then
    assert sorted(results) == [False, True]
    assert AuditEvent.objects.filter(action="run.started").count() == 1


def test_cancelling_a_queued_run_returns_requests_to_approved(planned_run, carol, dave):
    # given
    svc.run_approve(run=planned_run, actor=carol)
    # when
    svc.run_cancel(run=planned_run, actor=dave)
    # then
    planned_run.refresh_from_db()
    assert planned_run.status == Status.CANCELLED
    assert planned_run.requests.get().status == ForgetRequest.Status.APPROVED


def test_cancelling_a_running_run_asks_the_worker(planned_run, carol, dave):
    # given
    svc.run_approve(run=planned_run, actor=carol)
    svc.run_claim(run_id=planned_run.pk, worker="w1")
    # when
    svc.run_cancel(run=planned_run, actor=dave)
    # then
    assert svc.run_heartbeat(planned_run.pk) is True
    svc.run_mark_cancelled(run_id=planned_run.pk)
    planned_run.refresh_from_db()
    assert planned_run.status == Status.CANCELLED
    assert planned_run.requests.get().status == ForgetRequest.Status.APPROVED


def test_requesters_cannot_cancel_runs(planned_run, alice):
    with pytest.raises(NotAllowed):
        svc.run_cancel(run=planned_run, actor=alice)


def test_watchdog_fails_a_silent_run_and_audits_it(planned_run, carol, settings):
    # given: a running run whose last heartbeat is older than the limit
    svc.run_approve(run=planned_run, actor=carol)
    svc.run_claim(run_id=planned_run.pk, worker="w1")
    old = timezone.now() - datetime.timedelta(seconds=settings.UNLEARN_STALE_AFTER_SECONDS + 5)
    RemediationRun.objects.filter(pk=planned_run.pk).update(heartbeat_at=old)
    # when
    failed = svc.runs_watchdog()
    # then
    planned_run.refresh_from_db()
    assert failed == [planned_run.pk]
    assert planned_run.status == Status.FAILED
    assert "stopped responding" in planned_run.failure_reason
    assert planned_run.requests.get().status == ForgetRequest.Status.FAILED
    assert AuditEvent.objects.filter(action="run.failed").count() == 1
    assert audit_chain_verify().ok


def test_watchdog_leaves_a_live_run_alone(planned_run, carol):
    svc.run_approve(run=planned_run, actor=carol)
    svc.run_claim(run_id=planned_run.pk, worker="w1")
    assert svc.runs_watchdog() == []


def test_progress_events_are_numbered_in_order(planned_run, carol):
    # given
    svc.run_approve(run=planned_run, actor=carol)
    svc.run_claim(run_id=planned_run.pk, worker="w1")
    # when
    svc.run_phase_enter(planned_run.pk, "remediate")
    for step in range(1, 4):
        svc.run_progress(
            planned_run.pk,
            phase="remediate",
            step=step,
            total=3,
            metrics={"forget_loss": 1.0 / step},
        )
    # then
    events = list(RunEvent.objects.filter(run=planned_run).order_by("seq"))
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    progress = [e for e in events if e.kind == "progress"]
    assert [e.step for e in progress] == [1, 2, 3]
    planned_run.refresh_from_db()
    assert (planned_run.phase, planned_run.step, planned_run.total) == ("remediate", 3, 3)


def test_a_finished_run_cannot_be_failed_again(planned_run, carol):
    svc.run_approve(run=planned_run, actor=carol)
    svc.run_cancel(run=planned_run, actor=planned_run.planned_by)
    assert svc.run_fail(run_id=planned_run.pk, reason="late") is False


def test_a_run_cannot_be_approved_twice(planned_run, carol):
    svc.run_approve(run=planned_run, actor=carol)
    with pytest.raises(NotAllowed):
        svc.run_approve(run=planned_run, actor=carol)
    assert InvalidTransition  # the claim is what refuses a concurrent second approval
