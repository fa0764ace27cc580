"""Forms of the pages. They parse input; services decide."""

import datetime

from django import forms
from django.forms import formset_factory
from django.utils import timezone

from remediation.models import ForgetRequest, MLModel, ModelVersion
from remediation.services.deadlines import MAX_EXTENSION_MONTHS
from remediation.services.errors import ServiceError, ValidationFailed


class DateInput(forms.DateInput):
    input_type = "date"


class ForgetRequestForm(forms.Form):
    kind = forms.ChoiceField(choices=ForgetRequest.Kind.choices)
    subject_reference = forms.CharField(
        max_length=500, help_text="Who the data is about: a name, customer or ticket number."
    )
    legal_ground = forms.ChoiceField(choices=ForgetRequest.LegalGround.choices)
    legal_ground_detail = forms.CharField(
        max_length=500, required=False, help_text="Required when the ground is 'Other basis'."
    )
    received_on = forms.DateField(widget=DateInput, initial=timezone.localdate)
    models = forms.ModelMultipleChoiceField(
        queryset=MLModel.objects.all(), widget=forms.CheckboxSelectMultiple
    )
    items_file = forms.FileField(
        required=False,
        help_text="Optional: a .csv (columns prompt, completion, preferred) or .jsonl file.",
    )


class ItemForm(forms.Form):
    prompt = forms.CharField(max_length=2000, required=False, widget=forms.TextInput)
    completion = forms.CharField(max_length=2000, required=False, label="Unwanted completion")
    preferred = forms.CharField(max_length=2000, required=False, label="Preferred (optional)")

    def clean(self) -> dict:
        data = super().clean() or {}
        prompt, completion = data.get("prompt"), data.get("completion")
        if bool(prompt) != bool(completion):
            raise forms.ValidationError("Give both the prompt and the unwanted completion.")
        return data


ItemFormSet = formset_factory(ItemForm, extra=3, max_num=50, absolute_max=200)


class ReviewForm(forms.Form):
    identity_verified = forms.BooleanField(
        required=True, label="I verified the data subject's identity"
    )
    identity_method = forms.CharField(
        max_length=200, help_text="How: e.g. ID document checked by support, signed e-mail."
    )
    scope_note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)


class OptionalReasonForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), max_length=2000, required=False
    )


class ExtendForm(forms.Form):
    months = forms.TypedChoiceField(
        choices=[
            (n, f"{n} month{'s' if n > 1 else ''}") for n in range(1, MAX_EXTENSION_MONTHS + 1)
        ],
        coerce=int,
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)
    subject_notified_on = forms.DateField(
        widget=DateInput, label="Date the subject was told", initial=timezone.localdate
    )


class ModelRegisterForm(forms.Form):
    name = forms.CharField(max_length=100)
    path = forms.CharField(
        max_length=1024, help_text="A Hugging Face model directory under a model root."
    )
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    parent = forms.ModelChoiceField(
        queryset=ModelVersion.objects.select_related("model"), required=False
    )


class RequestFilterForm(forms.Form):
    SORTS = ["due", "-due", "created", "-created", "status", "-status", "ticket", "-ticket"]
    status = forms.ChoiceField(
        choices=[("", "Any status"), *ForgetRequest.Status.choices], required=False
    )
    kind = forms.ChoiceField(
        choices=[("", "Any kind"), *ForgetRequest.Kind.choices], required=False
    )
    deadline = forms.ChoiceField(
        choices=[("", "Any deadline"), ("overdue", "Overdue"), ("due_soon", "Due within 7 days")],
        required=False,
    )
    sort = forms.ChoiceField(choices=[(s, s) for s in SORTS], required=False)


class AuditFilterForm(forms.Form):
    action = forms.CharField(required=False, max_length=64)
    object_type = forms.CharField(required=False, max_length=64)
    object_id = forms.CharField(required=False, max_length=64)
    actor = forms.CharField(required=False, max_length=150)
    since = forms.DateField(required=False, widget=DateInput)
    until = forms.DateField(required=False, widget=DateInput)

    def clean(self) -> dict:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if isinstance(since, datetime.date) and isinstance(until, datetime.date) and since > until:
            raise forms.ValidationError("'Since' must not be after 'until'.")
        return data


def attach_service_errors(form: forms.Form, exc: ServiceError) -> None:
    """Put a service's refusal on the form: by field where it names one, else on top."""
    placed = False
    field_errors = exc.errors if isinstance(exc, ValidationFailed) else {}
    for field, errors in field_errors.items():
        if field in form.fields:
            for error in errors:
                form.add_error(field, error)
            placed = True
    if not placed:
        form.add_error(None, str(exc))


class JSONObjectField(forms.CharField):
    """A textarea holding a JSON object."""

    widget = forms.Textarea(attrs={"rows": 6, "class": "mono"})

    def to_python(self, value: str | None) -> dict:
        import json

        text = (value or "").strip() or "{}"
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc.msg} (line {exc.lineno}).") from exc
        if not isinstance(parsed, dict):
            raise forms.ValidationError('Give a JSON object, e.g. {"steps": 40}.')
        return parsed

    def prepare_value(self, value: object) -> str:
        import json

        return value if isinstance(value, str) else json.dumps(value or {}, indent=2)


class RunPlanForm(forms.Form):
    model_version = forms.ModelChoiceField(queryset=ModelVersion.objects.none())
    requests = forms.ModelMultipleChoiceField(
        queryset=ForgetRequest.objects.none(), widget=forms.CheckboxSelectMultiple
    )
    method = forms.ChoiceField(choices=[])
    settings = JSONObjectField(required=False, help_text="Method settings; defaults shown.")
    policy = JSONObjectField(
        required=False, help_text="Verification thresholds, fixed before the run."
    )
    seed = forms.IntegerField(min_value=0, max_value=2**31 - 1, initial=0)


class ScanForm(forms.Form):
    # No empty choice: the current version is the one to scan, preselected.
    model_version = forms.ModelChoiceField(queryset=ModelVersion.objects.none(), empty_label=None)
