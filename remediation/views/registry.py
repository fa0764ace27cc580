"""Pages for the model registry."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from remediation import permissions
from remediation.selectors import model_versions_visible_to, models_visible_to
from remediation.services.errors import ServiceError
from remediation.services.registry import model_version_register
from remediation.views.access import require
from remediation.views.forms import ModelRegisterForm, attach_service_errors


@login_required
def model_list(request: HttpRequest) -> HttpResponse:
    models = models_visible_to(request.user).prefetch_related("versions")
    context = {"models": models, "can_register": permissions.can_register_model(request.user)}
    return render(request, "remediation/model_list.html", context)


@login_required
def model_detail(request: HttpRequest, pk: int) -> HttpResponse:
    model = get_object_or_404(models_visible_to(request.user), pk=pk)
    versions = model_versions_visible_to(request.user).filter(model=model)
    return render(request, "remediation/model_detail.html", {"model": model, "versions": versions})


@login_required
def version_detail(request: HttpRequest, pk: int) -> HttpResponse:
    version = get_object_or_404(model_versions_visible_to(request.user), pk=pk)
    manifest = sorted(version.manifest.items())
    context = {"version": version, "manifest": manifest}
    return render(request, "remediation/version_detail.html", context)


@require(permissions.can_register_model)
@require_http_methods(["GET", "POST"])
def model_register(request: HttpRequest) -> HttpResponse:
    """Register a local Hugging Face directory as a model version (validated, hashed)."""
    form = ModelRegisterForm(request.POST or None)
    form.fields["parent"].queryset = model_versions_visible_to(request.user)
    if request.method == "POST" and form.is_valid():
        try:
            version = model_version_register(actor=request.user, **form.cleaned_data)
        except ServiceError as exc:
            attach_service_errors(form, exc)
        else:
            messages.success(request, f"Registered {version}.")
            return redirect("version_detail", pk=version.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "remediation/model_register.html", {"form": form}, status=status)
