"""Reads, restricted to what the user may see. Views and the API start from these."""

import datetime

from django.db.models import Q, QuerySet
from django.utils import timezone

from remediation.models import (
    AuditEvent,
    ComplianceReport,
    ForgetRequest,
    LeakScan,
    MLModel,
    ModelVersion,
    RemediationRun,
)
from remediation.permissions import OPERATOR_VISIBLE, can_view_audit
from remediation.roles import ADMIN, APPROVER, AUDITOR, OPERATOR, REVIEWER, UserLike, has_role

DUE_SOON_DAYS = 7


def forget_requests_visible_to(user: UserLike) -> QuerySet[ForgetRequest]:
    """The requests a user may see; the same rule as permissions.can_view_request."""
    if not user.is_authenticated:
        return ForgetRequest.objects.none()
    visible = Q(requester_id=user.pk)
    if has_role(user, REVIEWER, APPROVER, AUDITOR, ADMIN):
        visible |= ~Q(status=ForgetRequest.Status.DRAFT)
    elif has_role(user, OPERATOR):
        visible |= Q(status__in=OPERATOR_VISIBLE)
    return ForgetRequest.objects.filter(visible).select_related("requester", "reviewer")


def overdue_q(today: datetime.date) -> Q:
    not_closed = ~Q(status__in=ForgetRequest.CLOSED_STATUSES)
    late_extended = Q(extended_due_on__lt=today)
    late_plain = Q(extended_due_on__isnull=True, due_on__lt=today)
    return not_closed & (late_extended | late_plain)


def due_soon_q(today: datetime.date) -> Q:
    horizon = today + datetime.timedelta(days=DUE_SOON_DAYS)
    not_closed = ~Q(status__in=ForgetRequest.CLOSED_STATUSES)
    soon_extended = Q(extended_due_on__gte=today, extended_due_on__lte=horizon)
    soon_plain = Q(extended_due_on__isnull=True, due_on__gte=today, due_on__lte=horizon)
    return not_closed & (soon_extended | soon_plain)


def deadline_state(request: ForgetRequest, today: datetime.date | None = None) -> str:
    """'overdue', 'due_soon' or '' for an open request's effective due date."""
    today = today or timezone.localdate()
    if request.is_closed:
        return ""
    due = request.effective_due_on
    if due < today:
        return "overdue"
    if due <= today + datetime.timedelta(days=DUE_SOON_DAYS):
        return "due_soon"
    return ""


def models_visible_to(user: UserLike) -> QuerySet[MLModel]:
    if not user.is_authenticated:
        return MLModel.objects.none()
    return MLModel.objects.all()


def model_versions_visible_to(user: UserLike) -> QuerySet[ModelVersion]:
    if not user.is_authenticated:
        return ModelVersion.objects.none()
    return ModelVersion.objects.select_related("model", "parent")


def audit_events_visible_to(user: UserLike) -> QuerySet[AuditEvent]:
    if not can_view_audit(user):
        return AuditEvent.objects.none()
    return AuditEvent.objects.all()


def request_timeline(request: ForgetRequest) -> QuerySet[AuditEvent]:
    """The audit events about one request (the caller has checked it may be seen)."""
    return AuditEvent.objects.filter(object_type="forget_request", object_id=str(request.pk))


def runs_visible_to(user: UserLike) -> QuerySet[RemediationRun]:
    """Operators, approvers, auditors and admins see every run; a requester sees the runs
    on their own requests (never item text: runs hold none)."""
    if not user.is_authenticated:
        return RemediationRun.objects.none()
    runs = RemediationRun.objects.select_related("model_version__model", "planned_by")
    if has_role(user, OPERATOR, APPROVER, AUDITOR, ADMIN):
        return runs
    return runs.filter(requests__requester_id=user.pk).distinct()


def scans_visible_to(user: UserLike) -> QuerySet[LeakScan]:
    """Scans follow their request's visibility."""
    requests = forget_requests_visible_to(user)
    return LeakScan.objects.filter(request__in=requests).select_related("model_version__model")


def reports_visible_to(user: UserLike) -> QuerySet[ComplianceReport]:
    """A report is visible to whoever may see its run."""
    return ComplianceReport.objects.filter(run__in=runs_visible_to(user))
