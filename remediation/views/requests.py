"""Pages for forget requests: list/queue, filing, detail with its actions."""

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import F, QuerySet
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from remediation import permissions
from remediation.models import ForgetRequest, ModelVersion
from remediation.selectors import (
    deadline_state,
    due_soon_q,
    forget_requests_visible_to,
    model_versions_visible_to,
    overdue_q,
    request_timeline,
    runs_visible_to,
    scans_visible_to,
)
from remediation.services import demo
from remediation.services import forget_requests as svc
from remediation.services.errors import ItemsUnavailable, ServiceError, ValidationFailed
from remediation.services.item_files import ItemInput, parse_items_file, validate_items
from remediation.views.access import require, visible_request_or_404
from remediation.views.forms import (
    ExtendForm,
    ForgetRequestForm,
    ItemFormSet,
    OptionalReasonForm,
    ReasonForm,
    RequestFilterForm,
    ReviewForm,
    ScanForm,
    attach_service_errors,
)

PAGE_SIZE = 25
SORT_FIELDS = {"due": "effective_due", "created": "created_at", "status": "status", "ticket": "pk"}


def _sorted(requests: QuerySet[ForgetRequest], sort: str) -> QuerySet[ForgetRequest]:
    requests = requests.annotate(effective_due=Coalesce(F("extended_due_on"), F("due_on")))
    field = SORT_FIELDS.get(sort.lstrip("-"), "created_at")
    descending = sort.startswith("-") or not sort
    return requests.order_by(f"-{field}" if descending else field, "-pk")


def _filtered(requests: QuerySet[ForgetRequest], data: dict[str, Any]) -> QuerySet[ForgetRequest]:
    today = timezone.localdate()
    if data.get("status"):
        requests = requests.filter(status=data["status"])
    if data.get("kind"):
        requests = requests.filter(kind=data["kind"])
    if data.get("deadline") == "overdue":
        requests = requests.filter(overdue_q(today))
    elif data.get("deadline") == "due_soon":
        requests = requests.filter(due_soon_q(today))
    return requests


@login_required
def request_list(request: HttpRequest) -> HttpResponse:
    """The queue: every request this user may see, filtered, sorted, paginated."""
    form = RequestFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    rows = _sorted(_filtered(forget_requests_visible_to(request.user), data), data.get("sort", ""))
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    today = timezone.localdate()
    for row in page:
        row.deadline = deadline_state(row, today)
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "query": query.urlencode(), "sort": data.get("sort")}
    return render(request, "remediation/request_list.html", context)


def _items_from_form(formset: Any, upload: Any) -> list[ItemInput]:
    items = [
        ItemInput(f["prompt"].strip(), f["completion"].strip(), f.get("preferred", "").strip())
        for f in formset.cleaned_data
        if f and f.get("prompt")
    ]
    if upload is not None:
        items += parse_items_file(upload.name, upload.read(settings.UNLEARN_MAX_UPLOAD_BYTES + 1))
    return validate_items(items)


def _create_from_forms(request: HttpRequest, form: Any, formset: Any) -> ForgetRequest:
    data = form.cleaned_data
    items = _items_from_form(formset, data.get("items_file"))
    created = svc.forget_request_create(
        actor=request.user,
        kind=data["kind"],
        subject_reference=data["subject_reference"],
        legal_ground=data["legal_ground"],
        legal_ground_detail=data.get("legal_ground_detail", ""),
        received_on=data["received_on"],
        models=list(data["models"]),
        items=items,
    )
    if "submit" in request.POST:
        svc.forget_request_submit(request=created, actor=request.user)
    return created


@require(permissions.can_create_request)
@require_http_methods(["GET", "POST"])
def request_new(request: HttpRequest) -> HttpResponse:
    """File a forget request: the header, items typed in rows and/or an uploaded file."""
    form = ForgetRequestForm(
        request.POST or None, request.FILES or None, initial=_demo_initial(request)
    )
    formset = ItemFormSet(request.POST or None, prefix="items", initial=_demo_items(request))
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        try:
            created = _create_from_forms(request, form, formset)
        except ValidationFailed as exc:
            attach_service_errors(form, exc)
        else:
            verb = "submitted" if created.status != ForgetRequest.Status.DRAFT else "saved as draft"
            messages.success(request, f"{created.ticket} {verb}.")
            return redirect("request_detail", pk=created.pk)
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "formset": formset, "demo_choices": _demo_choices()}
    return render(request, "remediation/request_new.html", context, status=status)


def _demo_version(request: HttpRequest) -> ModelVersion | None:
    try:
        pk = int(request.GET.get("demo_version", ""))
    except ValueError:
        return None
    return next((v for v in demo.demo_versions() if v.pk == pk), None)


def _demo_items(request: HttpRequest) -> list[dict[str, str]]:
    """Rows prefilled from a demo person (fictional data), when one was chosen."""
    version = _demo_version(request)
    if version is None or request.method != "GET":
        return []
    return demo.demo_person_items(version, request.GET.get("demo_person", ""))


def _demo_initial(request: HttpRequest) -> dict[str, Any]:
    version = _demo_version(request)
    if version is None or request.method != "GET":
        return {}
    name = request.GET.get("demo_person", "")
    return {"kind": "pii", "subject_reference": name, "models": [version.model_id]}


def _demo_choices() -> list[tuple[ModelVersion, list[str]]]:
    return [(version, demo.demo_people(version)) for version in demo.demo_versions()[:1]]


def _items_for(user: Any, fr: ForgetRequest) -> dict[str, Any]:
    """Cleartext items for those who need them; redacted rows for everyone else."""
    if not permissions.can_see_item_text(user, fr):
        rows = [{"position": i.position, "fingerprint": i.fingerprint} for i in fr.items.all()]
        return {"items": rows, "redacted": True, "shredded": svc.forget_request_is_shredded(fr)}
    try:
        items = svc.forget_request_items(fr)
        subject = svc.forget_request_subject(fr)
    except ItemsUnavailable:
        rows = [{"position": i.position, "fingerprint": i.fingerprint} for i in fr.items.all()]
        return {"items": rows, "redacted": True, "shredded": True}
    return {"items": items, "redacted": False, "shredded": False, "subject": subject}


def _operator_context(user: Any, fr: ForgetRequest) -> dict[str, Any]:
    """Leak scans and runs of this request, and the scan form for operators."""
    scan_form = None
    if permissions.can_scan(user, fr):
        scan_form = ScanForm()
        versions = model_versions_visible_to(user).filter(model__in=fr.models_in_scope.all())
        scan_form.fields["model_version"].queryset = versions.exclude(
            status=ModelVersion.Status.SUPERSEDED
        )
    return {
        "scan_form": scan_form,
        "can_plan": permissions.can_plan_run(user) and fr.status in PLANNABLE,
        "scans": scans_visible_to(user).filter(request=fr)[:10],
        "runs": runs_visible_to(user).filter(requests=fr),
    }


PLANNABLE = (ForgetRequest.Status.APPROVED, ForgetRequest.Status.FAILED)

ACTION_FORMS = {
    "review": ReviewForm,
    "reject": ReasonForm,
    "cancel": OptionalReasonForm,
    "extend": ExtendForm,
}


def _detail_context(request: HttpRequest, fr: ForgetRequest, **forms: Any) -> dict[str, Any]:
    user = request.user
    allowed = {
        "submit": permissions.can_submit_request(user, fr),
        "review": permissions.can_review_request(user, fr),
        "approve": permissions.can_approve_request(user, fr),
        "reject": permissions.can_reject_request(user, fr),
        "cancel": permissions.can_cancel_request(user, fr),
        "extend": permissions.can_extend_request(user, fr),
        "shred": permissions.can_shred_request(user, fr) and not svc.forget_request_is_shredded(fr),
    }
    action_forms = {name: forms.get(name) or form() for name, form in ACTION_FORMS.items()}
    return {
        **_operator_context(user, fr),
        "fr": fr,
        "allowed": allowed,
        "forms": action_forms,
        "deadline": deadline_state(fr),
        "timeline": request_timeline(fr),
        "models": fr.models_in_scope.all(),
        "four_eyes_blocked": fr.status == ForgetRequest.Status.IN_REVIEW
        and not permissions.is_four_eyes_clear(user, fr),
        **_items_for(user, fr),
    }


@login_required
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    fr = visible_request_or_404(request, pk)
    return render(request, "remediation/request_detail.html", _detail_context(request, fr))


def _run_action(request: HttpRequest, fr: ForgetRequest, action: str, data: dict) -> None:
    user = request.user
    calls = {
        "submit": lambda: svc.forget_request_submit(request=fr, actor=user),
        "review": lambda: svc.forget_request_review(request=fr, actor=user, **data),
        "approve": lambda: svc.forget_request_approve(request=fr, actor=user),
        "reject": lambda: svc.forget_request_reject(request=fr, actor=user, **data),
        "cancel": lambda: svc.forget_request_cancel(request=fr, actor=user, **data),
        "extend": lambda: svc.forget_request_extend(request=fr, actor=user, **data),
        "shred": lambda: svc.forget_request_shred(request=fr, actor=user),
    }
    calls[action]()


ACTION_DONE = {
    "submit": "submitted for review",
    "review": "reviewed and passed on for approval",
    "approve": "approved",
    "reject": "rejected",
    "cancel": "cancelled",
    "extend": "extended",
    "shred": "shredded: its items can no longer be read",
}


@login_required
@require_POST
def request_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """One POST endpoint per transition; the service checks role, state and four eyes."""
    fr = visible_request_or_404(request, pk)
    if action not in ACTION_DONE:
        raise Http404("No such action")
    form_class = ACTION_FORMS.get(action)
    form = form_class(request.POST) if form_class else None
    if form is not None and not form.is_valid():
        context = _detail_context(request, fr, **{action: form})
        return render(request, "remediation/request_detail.html", context, status=400)
    try:
        _run_action(request, fr, action, form.cleaned_data if form else {})
    except ServiceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{fr.ticket} {ACTION_DONE[action]}.")
    return redirect("request_detail", pk=fr.pk)
