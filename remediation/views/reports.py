"""Sign-off and compliance reports: the HTML page, PDF and JSON downloads, verification."""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from remediation.models import ComplianceReport
from remediation.selectors import reports_visible_to, runs_visible_to
from remediation.services.errors import ServiceError
from remediation.services.reports import report_verify_upload, site_public_key_pem
from remediation.services.signoff import run_send_back, run_signoff

MAX_VERIFY_UPLOAD = 20 * 1024 * 1024


@login_required
@require_POST
def run_signoff_view(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(runs_visible_to(request.user), pk=pk)
    decision, note = request.POST.get("decision"), request.POST.get("note", "")
    try:
        if decision == "approve":
            report = run_signoff(run=run, actor=request.user, note=note)
            messages.success(request, "Signed off: the new version is active; report issued.")
            return redirect("report_detail", pk=report.pk)
        if decision == "send_back":
            run_send_back(run=run, actor=request.user, reason=note)
            messages.info(request, f"{run.label} sent back; its requests can be re-planned.")
        else:
            messages.error(request, "Choose to sign off or to send back.")
    except ServiceError as exc:
        messages.error(request, str(exc))
    return redirect("run_detail", pk=run.pk)


def _visible_report(request: HttpRequest, pk: int) -> ComplianceReport:
    return get_object_or_404(reports_visible_to(request.user), pk=pk)


@login_required
def report_list(request: HttpRequest) -> HttpResponse:
    reports = reports_visible_to(request.user).select_related("run__model_version__model")
    return render(request, "reports/report_list.html", {"reports": reports})


@login_required
def report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    report = _visible_report(request, pk)
    context = {"report": report, "document": report.document, "bundle": report.document["bundle"]}
    return render(request, "reports/report_detail.html", context)


@login_required
def report_json(request: HttpRequest, pk: int) -> HttpResponse:
    report = _visible_report(request, pk)
    body = json.dumps(report.document, indent=2, sort_keys=True, ensure_ascii=False)
    response = HttpResponse(body, content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="report-{report.report_id}.json"'
    return response


@login_required
def report_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    from remediation.reports.pdf import render_report_pdf

    report = _visible_report(request, pk)
    response = HttpResponse(render_report_pdf(report.document), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="report-{report.report_id}.pdf"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def report_verify(request: HttpRequest) -> HttpResponse:
    """Upload a report (JSON or PDF): is the signature ours and its chain position real?"""
    result, error = None, ""
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            error = "Choose a report file (.json or .pdf)."
        elif upload.size > MAX_VERIFY_UPLOAD:
            error = "The file is larger than 20 MiB."
        else:
            result = report_verify_upload(upload.read())
    context = {"result": result, "error": error, "public_key": site_public_key_pem()}
    return render(request, "reports/report_verify.html", context, status=400 if error else 200)


@login_required
def public_key(request: HttpRequest) -> HttpResponse:
    return HttpResponse(site_public_key_pem(), content_type="text/plain")
