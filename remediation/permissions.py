"""Who may do what: one place, used by pages, the API, consumers and tasks.

Each predicate takes the user and the object; a caller that gets False for a *view*
answers 404 (unseen), and for an action answers 403 or a clear refusal.
"""

from remediation.models import ForgetRequest, RemediationRun
from remediation.roles import (
    ADMIN,
    APPROVER,
    AUDITOR,
    OPERATOR,
    REQUESTER,
    REVIEWER,
    UserLike,
    has_role,
)

Status = ForgetRequest.Status

# Operators work on requests once they are approved; before that they have no business.
OPERATOR_VISIBLE = (
    Status.APPROVED,
    Status.SCHEDULED,
    Status.RUNNING,
    Status.VERIFYING,
    Status.AWAITING_SIGNOFF,
    Status.COMPLETED,
    Status.FAILED,
)


def is_requester_of(user: UserLike, request: ForgetRequest) -> bool:
    return user.is_authenticated and request.requester_id == user.pk


def can_view_request(user: UserLike, request: ForgetRequest) -> bool:
    if is_requester_of(user, request):
        return True
    if request.status == Status.DRAFT:
        return False
    if has_role(user, REVIEWER, APPROVER, AUDITOR, ADMIN):
        return True
    return has_role(user, OPERATOR) and request.status in OPERATOR_VISIBLE


def can_see_item_text(user: UserLike, request: ForgetRequest) -> bool:
    """Cleartext of items and subject reference: only those who must judge them."""
    if not can_view_request(user, request):
        return False
    return is_requester_of(user, request) or has_role(user, REVIEWER, APPROVER)


def can_create_request(user: UserLike) -> bool:
    return has_role(user, REQUESTER)


def can_edit_request(user: UserLike, request: ForgetRequest) -> bool:
    return is_requester_of(user, request) and request.status == Status.DRAFT


def can_submit_request(user: UserLike, request: ForgetRequest) -> bool:
    return can_edit_request(user, request)


def can_cancel_request(user: UserLike, request: ForgetRequest) -> bool:
    cancellable = request.status in (
        Status.DRAFT,
        Status.SUBMITTED,
        Status.IN_REVIEW,
        Status.APPROVED,
    )
    return cancellable and (is_requester_of(user, request) or has_role(user, ADMIN))


def can_review_request(user: UserLike, request: ForgetRequest) -> bool:
    return (
        request.status == Status.SUBMITTED
        and has_role(user, REVIEWER)
        and not is_requester_of(user, request)
    )


def is_four_eyes_clear(user: UserLike, request: ForgetRequest) -> bool:
    """The approver is never the requester or the reviewer of the same request."""
    return user.pk not in (request.requester_id, request.reviewer_id)


def can_approve_request(user: UserLike, request: ForgetRequest) -> bool:
    return (
        request.status == Status.IN_REVIEW
        and has_role(user, APPROVER)
        and is_four_eyes_clear(user, request)
    )


def can_reject_request(user: UserLike, request: ForgetRequest) -> bool:
    return can_review_request(user, request) or can_approve_request(user, request)


def can_extend_request(user: UserLike, request: ForgetRequest) -> bool:
    open_after_submit = request.status in (Status.SUBMITTED, Status.IN_REVIEW, Status.APPROVED)
    return (
        open_after_submit
        and request.extended_due_on is None
        and has_role(user, REVIEWER, APPROVER)
        and not is_requester_of(user, request)
    )


def can_shred_request(user: UserLike, request: ForgetRequest) -> bool:
    return has_role(user, ADMIN) and request.is_closed


def can_view_models(user: UserLike) -> bool:
    return user.is_authenticated


def can_register_model(user: UserLike) -> bool:
    return has_role(user, OPERATOR, ADMIN)


def can_view_audit(user: UserLike) -> bool:
    return has_role(user, AUDITOR, ADMIN)


def can_plan_run(user: UserLike) -> bool:
    return has_role(user, OPERATOR)


def can_scan(user: UserLike, request: ForgetRequest) -> bool:
    return has_role(user, OPERATOR) and request.status in OPERATOR_VISIBLE


def can_approve_run(user: UserLike, run: RemediationRun) -> bool:
    """Four eyes: never the operator who planned it, nor the requester of one of its
    requests (who may hold the approver role too)."""
    planned = run.status == RemediationRun.Status.PLANNED
    if not planned or not has_role(user, APPROVER) or run.planned_by_id == user.pk:
        return False
    return not run.requests.filter(requester_id=user.pk).exists()


def can_cancel_run(user: UserLike, run: RemediationRun) -> bool:
    cancellable = run.status in (
        RemediationRun.Status.PLANNED,
        RemediationRun.Status.QUEUED,
        RemediationRun.Status.RUNNING,
    )
    return cancellable and has_role(user, OPERATOR, ADMIN)


def can_signoff_run(user: UserLike, run: RemediationRun) -> bool:
    """Separation of duties: an approver who neither planned the run nor requested any
    of its requests."""
    if run.status != RemediationRun.Status.AWAITING_SIGNOFF or not has_role(user, APPROVER):
        return False
    if run.planned_by_id == user.pk:
        return False
    return not run.requests.filter(requester_id=user.pk).exists()
