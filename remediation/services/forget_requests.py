"""Forget requests: filing, review, approval, rejection, cancellation, extension, shredding.

Each transition checks the actor's role and the request's state, claims the transition
with a conditional update (so two concurrent clicks cannot both win), and writes the
audit event in the same transaction.
"""

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from remediation import permissions
from remediation.models import ForgetItem, ForgetRequest, MLModel, RequestKey
from remediation.roles import UserLike
from remediation.services import crypto
from remediation.services.audit import audit_event_record
from remediation.services.deadlines import MAX_EXTENSION_MONTHS, add_months, due_date_for
from remediation.services.errors import InvalidTransition, NotAllowed, ValidationFailed
from remediation.services.item_files import ItemInput, check_item_count, validate_items

Status = ForgetRequest.Status
OBJECT_TYPE = "forget_request"


@dataclass(frozen=True)
class ItemText:
    """A decrypted item, for the people and the worker that need it. Never log this."""

    position: int
    prompt: str
    completion: str
    preferred: str
    fingerprint: str


def _record(request: ForgetRequest, actor: UserLike | None, action: str, **payload: Any) -> None:
    audit_event_record(
        actor=actor,
        action=f"forget_request.{action}",
        object_type=OBJECT_TYPE,
        object_id=request.pk,
        payload=payload,
    )


def _claim(
    request: ForgetRequest, *, source: Sequence[str], extra: Q | None = None, **changes: Any
) -> None:
    """Move the request out of one of `source` states; refuse if someone got there first."""
    rows = ForgetRequest.objects.filter(pk=request.pk, status__in=source)
    if extra is not None:
        rows = rows.filter(extra)
    changes["updated_at"] = timezone.now()
    if rows.update(**changes) != 1:
        request.refresh_from_db()
        raise InvalidTransition(
            f"{request.ticket} is now '{request.get_status_display()}': "
            "someone else acted on it first, or it no longer allows this."
        )
    request.refresh_from_db()


def _data_key(request: ForgetRequest) -> bytes:
    key = RequestKey.objects.get(request=request)
    return crypto.unwrap_key(key.wrapped_key, request_id=request.pk)


def _item_context(request_id: int, position: int, field: str) -> str:
    return f"request:{request_id}:item:{position}:{field}"


def _store_items(request: ForgetRequest, items: Sequence[ItemInput], start: int) -> None:
    data_key = _data_key(request)
    rows = []
    for position, item in enumerate(items, start=start):

        def seal(text: str, field: str, position: int = position) -> bytes:
            context = _item_context(request.pk, position, field)
            return crypto.seal(data_key, text.encode(), context=context)

        rows.append(
            ForgetItem(
                request=request,
                position=position,
                prompt_ct=seal(item.prompt, "prompt"),
                completion_ct=seal(item.completion, "completion"),
                preferred_ct=seal(item.preferred, "preferred") if item.preferred else None,
                fingerprint=crypto.keyed_hash(item.completion, purpose="item"),
            )
        )
    ForgetItem.objects.bulk_create(rows)


def _check_models(models: Sequence[MLModel]) -> None:
    if not models:
        raise ValidationFailed("Choose at least one model in scope.", {"models": ["Required."]})


@transaction.atomic
def forget_request_create(
    *,
    actor: UserLike,
    kind: str,
    subject_reference: str,
    legal_ground: str,
    legal_ground_detail: str = "",
    received_on: datetime.date,
    models: Sequence[MLModel],
    items: Sequence[ItemInput],
) -> ForgetRequest:
    """File a new request as a draft, with its items encrypted under a fresh data key."""
    if not permissions.can_create_request(actor):
        raise NotAllowed("Only requesters can file forget requests.")
    items = validate_items(items)
    _check_models(models)
    _validate_header(kind, subject_reference, legal_ground, legal_ground_detail, received_on)
    request = ForgetRequest.objects.create(
        kind=kind,
        subject_reference_ct=b"",
        legal_ground=legal_ground,
        legal_ground_detail=legal_ground_detail.strip(),
        received_on=received_on,
        due_on=due_date_for(received_on),
        requester=actor,
    )
    data_key = crypto.new_data_key()
    RequestKey.objects.create(
        request=request, wrapped_key=crypto.wrap_key(data_key, request_id=request.pk)
    )
    request.subject_reference_ct = crypto.seal(
        data_key, subject_reference.strip().encode(), context=f"request:{request.pk}:subject"
    )
    request.save(update_fields=["subject_reference_ct"])
    request.models_in_scope.set(models)
    _store_items(request, items, start=1)
    _record(request, actor, "created", kind=kind, items=len(items), models=_model_ids(models))
    return request


def _model_ids(models: Sequence[MLModel]) -> list[int]:
    return sorted(model.pk for model in models)


def _validate_header(
    kind: str,
    subject_reference: str,
    legal_ground: str,
    legal_ground_detail: str,
    received_on: datetime.date,
) -> None:
    errors: dict[str, list[str]] = {}
    if kind not in ForgetRequest.Kind.values:
        errors["kind"] = [f"Unknown kind '{kind}'."]
    if not subject_reference.strip() or len(subject_reference) > 500:
        errors["subject_reference"] = ["Give a subject reference (at most 500 characters)."]
    if legal_ground not in ForgetRequest.LegalGround.values:
        errors["legal_ground"] = [f"Unknown legal ground '{legal_ground}'."]
    elif legal_ground == ForgetRequest.LegalGround.OTHER and not legal_ground_detail.strip():
        errors["legal_ground_detail"] = ["Describe the legal basis when it is 'other'."]
    if len(legal_ground_detail.strip()) > 500:
        errors["legal_ground_detail"] = ["Describe the legal basis in at most 500 characters."]
    if received_on > timezone.localdate():
        errors["received_on"] = ["The date received cannot be in the future."]
    if errors:
        raise ValidationFailed("The request is not valid.", errors)


@transaction.atomic
def forget_request_add_items(
    *, request: ForgetRequest, actor: UserLike, items: Sequence[ItemInput]
) -> int:
    """Add items to a draft. Returns how many the request now has."""
    if not permissions.can_edit_request(actor, request):
        raise NotAllowed("Only the requester can add items, and only to a draft.")
    locked = ForgetRequest.objects.select_for_update().get(pk=request.pk)
    if locked.status != Status.DRAFT:
        # The check above read the caller's copy; it may have been submitted since.
        raise InvalidTransition(
            f"{locked.ticket} is now '{locked.get_status_display()}': "
            "items can only be added to a draft."
        )
    existing = locked.items.count()
    items = validate_items(items)
    check_item_count(existing + len(items))
    _check_not_present(locked, items)
    _store_items(locked, items, start=existing + 1)
    _record(locked, actor, "items_added", items=len(items))
    return existing + len(items)


def _check_not_present(request: ForgetRequest, items: Sequence[ItemInput]) -> None:
    """Adding must not duplicate an item the request already holds (as filing refuses)."""
    held = {ItemInput(i.prompt, i.completion, i.preferred) for i in forget_request_items(request)}
    if held & set(items):
        raise ValidationFailed("An item you are adding is already in the request.")


@transaction.atomic
def forget_request_submit(*, request: ForgetRequest, actor: UserLike) -> ForgetRequest:
    """Send a draft to the reviewers."""
    if not permissions.can_submit_request(actor, request):
        raise NotAllowed("Only the requester can submit their own draft.")
    if not request.items.exists():
        raise ValidationFailed("Add at least one item before submitting.")
    if not request.models_in_scope.exists():
        raise ValidationFailed("Choose at least one model in scope before submitting.")
    _claim(request, source=[Status.DRAFT], status=Status.SUBMITTED, submitted_at=timezone.now())
    _record(request, actor, "submitted")
    return request


@transaction.atomic
def forget_request_review(
    *,
    request: ForgetRequest,
    actor: UserLike,
    identity_verified: bool,
    identity_method: str,
    scope_note: str = "",
) -> ForgetRequest:
    """Record identity verification and scope, and pass the request on for approval."""
    if not permissions.can_review_request(actor, request):
        raise NotAllowed("Only a reviewer other than the requester can review a submitted request.")
    if not identity_verified or not identity_method.strip():
        raise ValidationFailed(
            "Verify the subject's identity and say how before passing the request on.",
            {"identity_method": ["Say how the identity was verified."]},
        )
    _claim(
        request,
        source=[Status.SUBMITTED],
        extra=~Q(requester_id=actor.pk),
        status=Status.IN_REVIEW,
        reviewer_id=actor.pk,
        identity_verified=True,
        identity_method=identity_method.strip()[:200],
        scope_note=scope_note.strip(),
    )
    _record(request, actor, "reviewed", identity_verified=True)
    return request


@transaction.atomic
def forget_request_approve(*, request: ForgetRequest, actor: UserLike) -> ForgetRequest:
    """Approve a reviewed request. Four eyes: never by its requester or reviewer."""
    if not permissions.can_approve_request(actor, request):
        if not permissions.is_four_eyes_clear(actor, request):
            raise NotAllowed("Four eyes: you requested or reviewed this request.")
        raise NotAllowed("Only an approver can approve a request that is in review.")
    _claim(
        request,
        source=[Status.IN_REVIEW],
        # The four-eyes rule is part of the claim, so it holds even under a race.
        extra=~Q(requester_id=actor.pk) & ~Q(reviewer_id=actor.pk),
        status=Status.APPROVED,
        approver_id=actor.pk,
        decided_at=timezone.now(),
    )
    _record(request, actor, "approved")
    return request


@transaction.atomic
def forget_request_reject(*, request: ForgetRequest, actor: UserLike, reason: str) -> ForgetRequest:
    """Reject with a reason: a reviewer at submission, an approver in review."""
    if not permissions.can_reject_request(actor, request):
        raise NotAllowed("You cannot reject this request in its current state.")
    if not reason.strip():
        raise ValidationFailed("Give a reason for the rejection.", {"reason": ["Required."]})
    source = [request.status]
    _claim(
        request,
        source=source,
        extra=~Q(requester_id=actor.pk),
        status=Status.REJECTED,
        decision_reason=reason.strip(),
        decided_at=timezone.now(),
    )
    _record(request, actor, "rejected", from_status=source[0])
    return request


@transaction.atomic
def forget_request_cancel(
    *, request: ForgetRequest, actor: UserLike, reason: str = ""
) -> ForgetRequest:
    """Withdraw an open request (its requester, or an admin)."""
    if not permissions.can_cancel_request(actor, request):
        raise NotAllowed("Only the requester (or an admin) can cancel an open request.")
    source = [request.status]
    _claim(request, source=source, status=Status.CANCELLED, decision_reason=reason.strip())
    _record(request, actor, "cancelled", from_status=source[0])
    return request


@transaction.atomic
def forget_request_extend(
    *,
    request: ForgetRequest,
    actor: UserLike,
    months: int,
    reason: str,
    subject_notified_on: datetime.date,
) -> ForgetRequest:
    """Extend the deadline once, by at most two months, with a reason and notice date."""
    if not permissions.can_extend_request(actor, request):
        raise NotAllowed("Only a reviewer or approver can extend an open request, once.")
    _validate_extension(request, months, reason, subject_notified_on)
    _claim(
        request,
        source=[request.status],
        extra=Q(extended_due_on__isnull=True),
        # Counted from receipt, not from the clamped due date: 31 Jan + 1 + 2 months is
        # 30 Apr, where 28 Feb + 2 months would cut the subject's period to 28 Apr.
        extended_due_on=add_months(request.received_on, 1 + months),
        extension_reason=reason.strip(),
        subject_notified_on=subject_notified_on,
    )
    _record(request, actor, "extended", months=months, due_on=str(request.extended_due_on))
    return request


def _validate_extension(
    request: ForgetRequest, months: int, reason: str, notified: datetime.date
) -> None:
    errors: dict[str, list[str]] = {}
    if not 1 <= months <= MAX_EXTENSION_MONTHS:
        errors["months"] = [f"Extend by 1 to {MAX_EXTENSION_MONTHS} months."]
    if not reason.strip():
        errors["reason"] = ["Give the reason for the extension."]
    if notified > timezone.localdate() or notified < request.received_on:
        errors["subject_notified_on"] = [
            "The date the subject was told must be between receipt and today."
        ]
    if errors:
        raise ValidationFailed("The extension is not valid.", errors)


@transaction.atomic
def forget_request_shred(*, request: ForgetRequest, actor: UserLike | None) -> ForgetRequest:
    """Crypto-shred: delete the request's data key so its items can never be read again.

    actor None means the system (the retention job)."""
    if actor is not None and not permissions.can_shred_request(actor, request):
        raise NotAllowed("Only an admin can shred the items of a closed request.")
    rows = RequestKey.objects.filter(request=request, wrapped_key__isnull=False).update(
        wrapped_key=None, shredded_at=timezone.now()
    )
    if rows != 1:
        raise InvalidTransition(f"The items of {request.ticket} were already shredded.")
    _record(request, actor, "shredded")
    return request


def forget_request_is_shredded(request: ForgetRequest) -> bool:
    return RequestKey.objects.filter(request=request, wrapped_key__isnull=True).exists()


def forget_request_subject(request: ForgetRequest) -> str:
    """The decrypted subject reference (callers check can_see_item_text first)."""
    key = _data_key(request)
    context = f"request:{request.pk}:subject"
    return crypto.open_sealed(key, bytes(request.subject_reference_ct), context=context).decode()


def forget_request_items(request: ForgetRequest) -> list[ItemText]:
    """The decrypted items (callers check can_see_item_text first). Never log them."""
    key = _data_key(request)

    def open_field(item: ForgetItem, field: str, sealed: bytes | None) -> str:
        if sealed is None:
            return ""
        context = _item_context(request.pk, item.position, field)
        return crypto.open_sealed(key, bytes(sealed), context=context).decode()

    return [
        ItemText(
            position=item.position,
            prompt=open_field(item, "prompt", item.prompt_ct),
            completion=open_field(item, "completion", item.completion_ct),
            preferred=open_field(item, "preferred", item.preferred_ct),
            fingerprint=item.fingerprint,
        )
        for item in request.items.order_by("position")
    ]


def forget_requests_retention_shred(now: datetime.datetime | None = None) -> list[int]:
    """Shred the items of completed requests whose retention period has ended."""
    now = now or timezone.now()
    due = ForgetRequest.objects.filter(
        status=Status.COMPLETED, retain_items_until__lte=now, key__wrapped_key__isnull=False
    )
    shredded = []
    for request in due:
        try:
            forget_request_shred(request=request, actor=None)
        except InvalidTransition:
            continue  # shredded meanwhile by someone else
        shredded.append(request.pk)
    return shredded
