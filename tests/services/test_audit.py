"""The audit trail: a hash chain that shows any edit, removal or reordering; no item text;
names that outlive their users; and, on PostgreSQL, a table that refuses changes."""

import json

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from remediation.models import AuditEvent, AuditHead, ForgetRequest
from remediation.services.audit import GENESIS_HASH, audit_chain_verify, audit_event_record
from remediation.services.forget_requests import (
    forget_request_add_items,
    forget_request_cancel,
    forget_request_extend,
    forget_request_reject,
    forget_request_shred,
)
from remediation.services.item_files import ItemInput
from tests.conftest import ITEMS, tampering

SUBJECT = "Maria Okafor, customer 4711"


@pytest.fixture
def five_events(request_in) -> list[AuditEvent]:
    """created, submitted, reviewed, approved, then cancelled: five events."""
    request = request_in(ForgetRequest.Status.APPROVED)
    forget_request_cancel(request=request, actor=request.requester)
    events = list(AuditEvent.objects.order_by("seq"))
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    return events


def test_a_normal_history_verifies(five_events):
    # when
    report = audit_chain_verify()
    # then
    assert report.ok, report.reason
    assert (report.events_checked, report.broken_at_seq) == (5, None)
    assert report.head_hash == five_events[-1].hash
    assert five_events[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in zip(five_events, five_events[1:], strict=False))


def test_an_empty_trail_verifies(db):
    # when
    report = audit_chain_verify()
    # then
    assert (report.ok, report.events_checked, report.head_hash) == (True, 0, GENESIS_HASH)


def test_recording_outside_a_transaction_is_refused(transactional_db):
    # when / then: an event must commit together with the change it records
    with pytest.raises(RuntimeError, match="inside transaction.atomic"):
        audit_event_record(actor=None, action="x", object_type="y", object_id=1)
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    "change",
    [
        {"payload": {"kind": "content", "items": 2}},
        {"actor_name": "someone else"},
        {"action": "forget_request.rejected"},
        {"object_id": "999"},
        {"actor_id": 424242},
    ],
    ids=lambda change: next(iter(change)),
)
def test_an_edited_row_is_detected_at_its_seq(five_events, change):
    # given
    with tampering():
        AuditEvent.objects.filter(seq=3).update(**change)
    # when
    report = audit_chain_verify()
    # then
    assert (report.ok, report.broken_at_seq, report.events_checked) == (False, 3, 2)
    assert "edited" in report.reason


def test_a_payload_edited_with_raw_sql_is_detected(five_events):
    # given
    with tampering(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE remediation_auditevent SET payload = %s WHERE seq = %s",
            [json.dumps({"from_status": "draft"}), 5],
        )
    # when
    report = audit_chain_verify()
    # then
    assert (report.ok, report.broken_at_seq) == (False, 5)


def test_a_row_edited_with_a_recomputed_own_hash_is_detected_at_the_next_link(five_events):
    # given: the forger recomputes #2's hash, but #3 still points at the old one
    from remediation.services.audit import event_hash

    event = five_events[1]
    event.actor_name = "forger"
    with tampering():
        AuditEvent.objects.filter(pk=event.pk).update(actor_name="forger", hash=event_hash(event))
    # when
    report = audit_chain_verify()
    # then
    assert (report.ok, report.broken_at_seq) == (False, 3)
    assert "previous-hash" in report.reason


def test_a_deleted_middle_row_is_detected_at_its_seq(five_events):
    # given
    with tampering():
        AuditEvent.objects.filter(seq=3).delete()
    # when
    report = audit_chain_verify()
    # then
    assert (report.ok, report.broken_at_seq, report.events_checked) == (False, 3, 2)
    assert "removed" in report.reason


@pytest.mark.parametrize(("removed", "broken_at"), [([5], 5), ([4, 5], 4)])
def test_deleted_last_rows_are_detected_by_the_head(five_events, removed, broken_at):
    # given
    with tampering():
        AuditEvent.objects.filter(seq__in=removed).delete()
    # when
    report = audit_chain_verify()
    # then
    assert (report.ok, report.broken_at_seq) == (False, broken_at)
    assert "tail removed" in report.reason


def test_swapped_seqs_are_detected_at_the_first(five_events):
    # given: #2 and #4 trade places (through a spare number: seq is unique)
    with tampering():
        AuditEvent.objects.filter(seq=2).update(seq=1000)
        AuditEvent.objects.filter(seq=4).update(seq=2)
        AuditEvent.objects.filter(seq=1000).update(seq=4)
    # when
    report = audit_chain_verify()
    # then
    assert (report.ok, report.broken_at_seq) == (False, 2)


def test_audit_verify_command_succeeds_on_a_sound_chain(five_events, capsys):
    # when
    call_command("audit_verify")
    # then
    out = capsys.readouterr().out
    assert "Audit chain OK: 5 events" in out
    assert five_events[-1].hash in out


def test_audit_verify_command_fails_with_the_broken_seq(five_events):
    # given
    with tampering():
        AuditEvent.objects.filter(seq=4).update(payload={"by": "someone else"})
    # when
    with pytest.raises(CommandError) as failed:
        call_command("audit_verify")
    # then
    assert "BROKEN at event #4" in str(failed.value)


def test_a_full_lifecycle_leaves_no_item_text_in_the_trail(request_in, bob, frank):
    # given: every request action, with text the trail must never hold
    extra = ItemInput("Where does Maria Okafor bank?", "IBAN GB29 NWBK 6016 1331 9268 19", "No.")
    draft = request_in(ForgetRequest.Status.DRAFT)
    forget_request_add_items(request=draft, actor=draft.requester, items=[extra])
    forget_request_cancel(request=draft, actor=frank)
    request = request_in(ForgetRequest.Status.SUBMITTED)
    forget_request_extend(
        request=request,
        actor=bob,
        months=1,
        reason="Extension",
        subject_notified_on=request.received_on,
    )
    forget_request_reject(request=request, actor=bob, reason="Out of scope")
    forget_request_shred(request=request, actor=frank)
    forget_request_shred(request=draft, actor=frank)
    # when
    trail = json.dumps(
        list(AuditEvent.objects.values("actor_name", "action", "object_id", "payload")),
        default=str,
    )
    # then
    secrets = [SUBJECT, "Maria Okafor", "Okafor", "NWBK"]
    for item in [*ITEMS, extra]:
        secrets += [item.prompt, item.completion]
        secrets += [item.preferred] if item.preferred else []
    assert [s for s in secrets if s in trail] == []
    assert AuditEvent.objects.count() == 9
    assert audit_chain_verify().ok


def test_events_keep_the_actors_name_after_the_user_is_deleted(request_in, frank):
    # given
    frank.first_name, frank.last_name = "Frank", "Admin"
    frank.save()
    request = request_in(ForgetRequest.Status.SUBMITTED)
    forget_request_cancel(request=request, actor=frank)
    frank_id = frank.pk
    # when
    frank.delete()
    # then
    event = AuditEvent.objects.get(action="forget_request.cancelled")
    assert (event.actor_id, event.actor_name) == (frank_id, "Frank Admin")
    assert AuditEvent.objects.get(action="forget_request.created").actor_name == "alice"
    assert audit_chain_verify().ok


def test_a_system_event_is_named_system(db):
    # when
    with transaction.atomic():
        event = audit_event_record(
            actor=None, action="retention.tick", object_type="job", object_id=1
        )
    # then
    assert (event.actor_id, event.actor_name) == (None, "system")
    assert AuditHead.objects.get().seq == 1


@pytest.mark.postgres
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE remediation_auditevent SET actor_name = 'mallory'",
        "UPDATE remediation_auditevent SET payload = '{}'::jsonb WHERE seq = 1",
        "DELETE FROM remediation_auditevent WHERE seq = 2",
        "DELETE FROM remediation_auditevent",
    ],
)
def test_postgres_refuses_update_and_delete(five_events, statement):
    if connection.vendor != "postgresql":
        pytest.skip("the append-only trigger exists on PostgreSQL only")
    # when
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)
    # then
    assert AuditEvent.objects.count() == 5
    assert audit_chain_verify().ok


@pytest.mark.postgres
def test_postgres_refuses_orm_update_and_delete(five_events):
    if connection.vendor != "postgresql":
        pytest.skip("the append-only trigger exists on PostgreSQL only")
    # when / then
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(seq=1).update(action="x")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(seq=5).delete()
    assert audit_chain_verify().ok
