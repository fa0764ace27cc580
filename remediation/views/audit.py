"""The auditor's pages: browse, filter, export and verify the audit trail."""

import datetime
from typing import Any

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_POST

from remediation import permissions
from remediation.audit_export import audit_csv_lines, audit_jsonl_lines
from remediation.models import AuditEvent
from remediation.selectors import audit_events_visible_to
from remediation.services.audit import audit_chain_verify
from remediation.views.access import require
from remediation.views.forms import AuditFilterForm

PAGE_SIZE = 50


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _filtered_events(request: HttpRequest) -> tuple[AuditFilterForm, QuerySet[AuditEvent]]:
    form = AuditFilterForm(request.GET or None)
    events = audit_events_visible_to(request.user)
    data: dict[str, Any] = form.cleaned_data if form.is_valid() else {}
    for field, lookup in [
        ("action", "action__icontains"),
        ("object_type", "object_type"),
        ("object_id", "object_id"),
        ("actor", "actor_name__icontains"),
    ]:
        if data.get(field):
            events = events.filter(**{lookup: data[field]})
    if data.get("since"):
        events = events.filter(created_at__gte=_day_start(data["since"]))
    if data.get("until"):
        next_day = data["until"] + datetime.timedelta(days=1)
        events = events.filter(created_at__lt=_day_start(next_day))
    return form, events


@require(permissions.can_view_audit)
def audit_list(request: HttpRequest) -> HttpResponse:
    form, events = _filtered_events(request)
    page = Paginator(events.order_by("-seq"), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "query": query.urlencode()}
    return render(request, "remediation/audit_list.html", context)


@require(permissions.can_view_audit)
def audit_export(request: HttpRequest, fmt: str) -> StreamingHttpResponse:
    """The filtered trail as CSV or JSONL, streamed (the trail can be long)."""
    if fmt not in ("csv", "jsonl"):
        raise Http404("Export as .csv or .jsonl")
    _, events = _filtered_events(request)
    events = events.order_by("seq")
    lines, content_type = (
        (audit_csv_lines(events), "text/csv")
        if fmt == "csv"
        else (audit_jsonl_lines(events), "application/x-ndjson")
    )
    response = StreamingHttpResponse(lines, content_type=content_type)
    stamp = timezone.now().strftime("%Y%m%dT%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.{fmt}"'
    return response


@require(permissions.can_view_audit)
@require_POST
def audit_verify(request: HttpRequest) -> HttpResponse:
    """Walk the chain now; answers an htmx fragment (or the full page without htmx)."""
    report = audit_chain_verify()
    template = "remediation/_audit_verify.html"
    if not request.headers.get("HX-Request"):
        template = "remediation/audit_verify_page.html"
    return render(request, template, {"report": report})
