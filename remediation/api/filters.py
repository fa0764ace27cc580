"""Query-string filters of the API's lists."""

from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django.utils import timezone

from remediation.api.base import MAX_ID
from remediation.models import (
    AuditEvent,
    ForgetRequest,
    LeakScan,
    MLModel,
    ModelVersion,
    RemediationRun,
)
from remediation.selectors import due_soon_q, overdue_q


class ForgetRequestFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=ForgetRequest.Status.choices)
    kind = django_filters.ChoiceFilter(choices=ForgetRequest.Kind.choices)
    overdue = django_filters.BooleanFilter(
        method="filter_overdue", label="Open and past its (extended) due date."
    )
    due_soon = django_filters.BooleanFilter(
        method="filter_due_soon", label="Open and due within the next seven days."
    )

    class Meta:
        model = ForgetRequest
        fields = ["status", "kind"]

    def filter_overdue(
        self, queryset: QuerySet[ForgetRequest], name: str, value: bool
    ) -> QuerySet[ForgetRequest]:
        q = overdue_q(timezone.localdate())
        return queryset.filter(q) if value else queryset.exclude(q)

    def filter_due_soon(
        self, queryset: QuerySet[ForgetRequest], name: str, value: bool
    ) -> QuerySet[ForgetRequest]:
        q = due_soon_q(timezone.localdate())
        return queryset.filter(q) if value else queryset.exclude(q)


class ModelVersionFilter(django_filters.FilterSet):
    model = django_filters.ModelChoiceFilter(queryset=MLModel.objects.all())
    status = django_filters.ChoiceFilter(choices=ModelVersion.Status.choices)

    class Meta:
        model = ModelVersion
        fields = ["model", "status"]


class AuditEventFilter(django_filters.FilterSet):
    action = django_filters.CharFilter(max_length=64)
    object_type = django_filters.CharFilter(max_length=64)
    object_id = django_filters.CharFilter(max_length=64)
    actor_name = django_filters.CharFilter(lookup_expr="iexact", max_length=150)
    since = django_filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="gte", label="Events at or after (ISO 8601)."
    )
    until = django_filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="lte", label="Events at or before (ISO 8601)."
    )

    class Meta:
        model = AuditEvent
        fields = ["action", "object_type", "object_id", "actor_name", "since", "until"]


class IdFilter(django_filters.NumberFilter):
    """An object id: a whole number a BigAutoField can hold (1.5 and 10**30 are refused)."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, min_value=1, max_value=MAX_ID, **kwargs)


class RunFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=RemediationRun.Status.choices)
    # A number, not a choice of requests: an unknown id and an unseen one both give an
    # empty list, so the filter tells nobody which requests exist.
    request = IdFilter(field_name="requests", label="Id of a request.")

    class Meta:
        model = RemediationRun
        fields = ["status", "request"]


class ScanFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=LeakScan.Status.choices)
    request = IdFilter(field_name="request_id", label="Id of a request.")

    class Meta:
        model = LeakScan
        fields = ["status", "request"]
