"""Pages for leak scans and remediation runs: plan, approve, watch live, cancel."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from remediation import permissions
from remediation.models import ModelVersion, RemediationRun
from remediation.selectors import (
    forget_requests_visible_to,
    model_versions_visible_to,
    runs_visible_to,
    scans_visible_to,
)
from remediation.services import run_options
from remediation.services import runs as run_svc
from remediation.services import scans as scan_svc
from remediation.services.errors import ServiceError
from remediation.views.access import require, visible_request_or_404
from remediation.views.forms import RunPlanForm, ScanForm, attach_service_errors
from remediation.views.requests import PLANNABLE


@login_required
def run_list(request: HttpRequest) -> HttpResponse:
    runs = runs_visible_to(request.user)
    status = request.GET.get("status", "")
    if status in RemediationRun.Status.values:
        runs = runs.filter(status=status)
    page = Paginator(runs, 25).get_page(request.GET.get("page"))
    context = {"page": page, "query": f"status={status}" if status else "", "status": status}
    return render(request, "remediation/run_list.html", context)


def _current_versions(user: Any) -> QuerySet[ModelVersion]:
    return model_versions_visible_to(user).exclude(status=ModelVersion.Status.SUPERSEDED)


def _plan_form(request: HttpRequest) -> RunPlanForm:
    method = request.POST.get("method") or run_options.default_method()
    initial = {
        "method": run_options.default_method(),
        "settings": run_options.method_defaults(run_options.default_method()),
        "policy": run_options.policy_defaults(),
        "requests": request.GET.getlist("request"),
    }
    form = RunPlanForm(request.POST or None, initial=initial)
    form.fields["model_version"].queryset = _current_versions(request.user)
    form.fields["requests"].queryset = forget_requests_visible_to(request.user).filter(
        status__in=PLANNABLE
    )
    form.fields["method"].choices = [(name, name) for name in run_options.method_names()]
    form.method_for_defaults = method  # type: ignore[attr-defined]
    return form


@require(permissions.can_plan_run)
@require_http_methods(["GET", "POST"])
def run_new(request: HttpRequest) -> HttpResponse:
    """Plan a run: version, approved requests, method and settings, verification policy."""
    form = _plan_form(request)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            run = run_svc.run_plan(
                actor=request.user,
                model_version=data["model_version"],
                requests=list(data["requests"]),
                method=data["method"],
                settings_=data["settings"],
                policy=data["policy"],
                seed=data["seed"],
            )
        except ServiceError as exc:
            attach_service_errors(form, exc)
        else:
            messages.success(request, f"{run.label} planned; an approver must approve it.")
            return redirect("run_detail", pk=run.pk)
    status = 400 if request.method == "POST" else 200
    defaults = {name: run_options.method_defaults(name) for name in run_options.method_names()}
    context = {"form": form, "method_defaults": defaults}
    return render(request, "remediation/run_new.html", context, status=status)


@login_required
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(runs_visible_to(request.user), pk=pk)
    context = {
        "run": run,
        "requests": forget_requests_visible_to(request.user).filter(runs=run),
        "can_approve": permissions.can_approve_run(request.user, run),
        "can_cancel": permissions.can_cancel_run(request.user, run),
        "four_eyes_blocked": run.status == RemediationRun.Status.PLANNED
        and run.planned_by_id == request.user.pk,
        "can_signoff": permissions.can_signoff_run(request.user, run),
        "report": getattr(run, "report", None),
        "phases": RemediationRun.Phase.choices,
        "result": run.result or {},
    }
    return render(request, "remediation/run_detail.html", context)


RUN_ACTIONS = {
    "approve": (run_svc.run_approve, "approved and queued"),
    "reject": (run_svc.run_reject, "rejected"),
    "cancel": (run_svc.run_cancel, "cancellation requested"),
}


@login_required
@require_POST
def run_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    run = get_object_or_404(runs_visible_to(request.user), pk=pk)
    if action not in RUN_ACTIONS:
        raise Http404("No such action")
    service, done = RUN_ACTIONS[action]
    extra = {"reason": request.POST.get("reason", "")} if action == "reject" else {}
    try:
        service(run=run, actor=request.user, **extra)
    except ServiceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{run.label} {done}.")
    return redirect("run_detail", pk=run.pk)


@login_required
@require_POST
def scan_new(request: HttpRequest, pk: int) -> HttpResponse:
    """Start a leak scan of one model version for a request's items."""
    fr = visible_request_or_404(request, pk)
    form = ScanForm(request.POST)
    form.fields["model_version"].queryset = _current_versions(request.user).filter(
        model__in=fr.models_in_scope.all()
    )
    if not form.is_valid():
        messages.error(request, "Choose a current version of a model in the request's scope.")
        return redirect("request_detail", pk=fr.pk)
    try:
        scan_svc.scan_start(
            request=fr, model_version=form.cleaned_data["model_version"], actor=request.user
        )
    except ServiceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Leak scan queued; results appear below when it finishes.")
    return redirect("request_detail", pk=fr.pk)


@login_required
def scan_detail(request: HttpRequest, pk: int) -> HttpResponse:
    scan = get_object_or_404(scans_visible_to(request.user), pk=pk)
    context = {"scan": scan, "rows": scan_svc.scan_rows(scan, request.user)}
    return render(request, "remediation/scan_detail.html", context)
