"""Items at rest: encrypted under a key of their own request, bound to their place, and
unreadable for good once the key is shredded."""

import datetime
import re

import pytest
from cryptography.exceptions import InvalidTag
from django.db import connection
from django.utils import timezone

from remediation.models import AuditEvent, ForgetItem, ForgetRequest, RequestKey
from remediation.services import crypto
from remediation.services.audit import audit_chain_verify
from remediation.services.errors import InvalidTransition, ItemsUnavailable, NotAllowed
from remediation.services.forget_requests import (
    forget_request_is_shredded,
    forget_request_items,
    forget_request_shred,
    forget_request_subject,
    forget_requests_retention_shred,
)
from tests.conftest import ITEMS
from tests.services.conftest import snapshot

Status = ForgetRequest.Status
SUBJECT = "Maria Okafor, customer 4711"


def raw_rows(sql: str, *params: object) -> list[tuple[bytes, ...]]:
    """Rows as the database holds them, bypassing the ORM."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [tuple(bytes(v) if v is not None else b"" for v in row) for row in cursor]


def data_key(request: ForgetRequest) -> bytes:
    wrapped = RequestKey.objects.get(request=request).wrapped_key
    return crypto.unwrap_key(wrapped, request_id=request.pk)


def test_stored_items_and_subject_are_ciphertext(make_request, alice):
    # given
    request = make_request(alice)
    # when
    items = raw_rows(
        "SELECT prompt_ct, completion_ct, preferred_ct FROM remediation_forgetitem"
        " WHERE request_id = %s ORDER BY position",
        request.pk,
    )
    (subject,) = raw_rows(
        "SELECT subject_reference_ct FROM remediation_forgetrequest WHERE id = %s", request.pk
    )
    # then
    stored = b"".join(b"".join(row) for row in [*items, subject])
    cleartexts = [SUBJECT, "Okafor", "+1-415-555-0134", "415-555", "maria.okafor", "share that"]
    assert [text for text in cleartexts if text.encode() in stored] == []
    assert len(items) == 2
    # nonce + tag + text: each field is at least as long as what it hides
    for (prompt_ct, completion_ct, _), item in zip(items, ITEMS, strict=True):
        assert len(prompt_ct) == crypto.NONCE_BYTES + 16 + len(item.prompt.encode())
        assert len(completion_ct) == crypto.NONCE_BYTES + 16 + len(item.completion.encode())


def test_each_request_has_its_own_key(make_request, alice):
    # given: the same items filed twice
    first, second = make_request(alice), make_request(alice)
    # when
    key_a, key_b = data_key(first), data_key(second)
    item_a = ForgetItem.objects.get(request=first, position=1)
    item_b = ForgetItem.objects.get(request=second, position=1)
    # then
    assert key_a != key_b
    assert bytes(item_a.completion_ct) != bytes(item_b.completion_ct)
    assert item_a.fingerprint == item_b.fingerprint  # the keyed hash names the same text
    context_b = f"request:{second.pk}:item:1:completion"
    with pytest.raises(InvalidTag):
        crypto.open_sealed(key_a, bytes(item_b.completion_ct), context=context_b)
    assert crypto.open_sealed(key_b, bytes(item_b.completion_ct), context=context_b) == (
        b"+1-415-555-0134"
    )


def test_a_ciphertext_moved_to_another_item_does_not_decrypt(make_request, alice):
    # given: item 1's completion copied over item 2's, within the same request and key
    request = make_request(alice)
    first = ForgetItem.objects.get(request=request, position=1)
    ForgetItem.objects.filter(request=request, position=2).update(completion_ct=first.completion_ct)
    # when / then
    with pytest.raises(InvalidTag):
        forget_request_items(request)


def test_a_ciphertext_moved_between_fields_does_not_decrypt(make_request, alice):
    # given: an item's prompt and completion swapped
    request = make_request(alice)
    item = ForgetItem.objects.get(request=request, position=1)
    ForgetItem.objects.filter(pk=item.pk).update(
        prompt_ct=item.completion_ct, completion_ct=item.prompt_ct
    )
    # when / then
    with pytest.raises(InvalidTag):
        forget_request_items(request)


def test_a_ciphertext_moved_to_another_request_does_not_decrypt(make_request, alice):
    # given
    source, target = make_request(alice), make_request(alice)
    moved = ForgetItem.objects.get(request=source, position=1)
    ForgetItem.objects.filter(request=target, position=1).update(prompt_ct=moved.prompt_ct)
    ForgetRequest.objects.filter(pk=target.pk).update(
        subject_reference_ct=source.subject_reference_ct
    )
    target.refresh_from_db()
    # when / then
    with pytest.raises(InvalidTag):
        forget_request_items(target)
    with pytest.raises(InvalidTag):
        forget_request_subject(target)
    assert forget_request_items(source)[0].prompt == ITEMS[0].prompt


def test_a_wrapped_key_moved_to_another_request_does_not_unwrap(make_request, alice):
    # given
    source, target = make_request(alice), make_request(alice)
    RequestKey.objects.filter(request=target).update(
        wrapped_key=RequestKey.objects.get(request=source).wrapped_key
    )
    # when / then
    with pytest.raises(InvalidTag):
        forget_request_items(target)


def test_after_shredding_items_and_subject_cannot_be_read(request_in, frank):
    # given
    request = request_in(Status.COMPLETED)
    ciphertext = bytes(ForgetItem.objects.filter(request=request).first().completion_ct)
    # when
    forget_request_shred(request=request, actor=frank)
    # then
    assert forget_request_is_shredded(request)
    assert RequestKey.objects.get(request=request).shredded_at is not None
    with pytest.raises(ItemsUnavailable):
        forget_request_items(request)
    with pytest.raises(ItemsUnavailable):
        forget_request_subject(request)
    # the ciphertext is still there, and no key in the database opens it
    assert bytes(ForgetItem.objects.filter(request=request).first().completion_ct) == ciphertext
    event = AuditEvent.objects.order_by("seq").last()
    assert (event.action, event.object_id, event.actor_id) == (
        "forget_request.shredded",
        str(request.pk),
        frank.pk,
    )
    assert audit_chain_verify().ok


def test_shredding_one_request_leaves_the_others_readable(request_in, frank):
    # given
    shredded, kept = request_in(Status.CANCELLED), request_in(Status.SUBMITTED)
    # when
    forget_request_shred(request=shredded, actor=frank)
    # then
    assert [i.completion for i in forget_request_items(kept)] == [i.completion for i in ITEMS]


def test_shredding_twice_is_refused(request_in, frank):
    # given
    request = request_in(Status.REJECTED)
    forget_request_shred(request=request, actor=frank)
    before = snapshot(request)
    # when
    with pytest.raises(InvalidTransition, match="already shredded"):
        forget_request_shred(request=request, actor=frank)
    # then
    assert snapshot(request) == before
    assert AuditEvent.objects.filter(action="forget_request.shredded").count() == 1


def test_the_retention_job_shreds_completed_requests_whose_time_is_up(request_in):
    # given
    now = timezone.now()
    expired, keep, undated, cancelled = (
        request_in(status)
        for status in (Status.COMPLETED, Status.COMPLETED, Status.COMPLETED, Status.CANCELLED)
    )
    for request, until in [(expired, -1), (keep, 1), (cancelled, -1)]:
        ForgetRequest.objects.filter(pk=request.pk).update(
            retain_items_until=now + datetime.timedelta(days=until)
        )
    # when
    first, second = forget_requests_retention_shred(now), forget_requests_retention_shred(now)
    # then
    assert (first, second) == ([expired.pk], [])
    assert [forget_request_is_shredded(r) for r in (expired, keep, undated, cancelled)] == [
        True,
        False,
        False,
        False,
    ]
    event = AuditEvent.objects.get(action="forget_request.shredded")
    assert (event.object_id, event.actor_id, event.actor_name) == (str(expired.pk), None, "system")
    with pytest.raises(ItemsUnavailable):
        forget_request_items(expired)


@pytest.mark.parametrize("persona", ["alice", "bob", "carol", "dave", "erin"])
def test_only_an_admin_may_shred(request_in, personas, persona):
    # given
    request = request_in(Status.COMPLETED)
    before = snapshot(request)
    # when
    with pytest.raises(NotAllowed):
        forget_request_shred(request=request, actor=personas[persona])
    # then
    assert snapshot(request) == before
    assert not forget_request_is_shredded(request)


@pytest.mark.parametrize(
    "status",
    [
        Status.DRAFT,
        Status.SUBMITTED,
        Status.IN_REVIEW,
        Status.APPROVED,
        Status.SCHEDULED,
        Status.RUNNING,
        Status.VERIFYING,
        Status.AWAITING_SIGNOFF,
        Status.FAILED,
    ],
)
def test_only_closed_requests_may_be_shredded(request_in, frank, status):
    # given: the items are still needed (to review, to run, to retry)
    request = request_in(status)
    # when
    with pytest.raises(NotAllowed):
        forget_request_shred(request=request, actor=frank)
    # then
    assert not forget_request_is_shredded(request)
    assert forget_request_items(request)[0].completion == ITEMS[0].completion


@pytest.mark.parametrize("status", ForgetRequest.CLOSED_STATUSES)
def test_closed_requests_may_be_shredded(request_in, frank, status):
    # given
    request = request_in(status)
    # when
    forget_request_shred(request=request, actor=frank)
    # then
    assert forget_request_is_shredded(request)


def test_keyed_hash_depends_on_purpose_and_value(settings):
    # when
    a = crypto.keyed_hash("+1-415-555-0134", purpose="item")
    # then
    assert a == crypto.keyed_hash("+1-415-555-0134", purpose="item")
    assert a != crypto.keyed_hash("+1-415-555-0134", purpose="subject")
    assert a != crypto.keyed_hash("+1-415-555-0135", purpose="item")
    # a hex digest, so no part of the value shows through it (asking that "415" is not in it
    # failed for about 1.5% of random keys: three digits turn up in 64 hex digits by chance)
    assert re.fullmatch(r"[0-9a-f]{64}", a)
    assert "415-555" not in a
    settings.UNLEARN_MASTER_KEY = "c29tZXRoaW5nIGVsc2U="
    assert a != crypto.keyed_hash("+1-415-555-0134", purpose="item")
