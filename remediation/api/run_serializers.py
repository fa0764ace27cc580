"""Remediation runs over the API: the plan the views parse and the shapes they render.

A run holds no item text (its result names items by position), and the shapes below list
their fields explicitly, so nothing stored later on the run leaks out by accident.
"""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from remediation.api.base import MAX_ID, MAX_REASON_CHARS, TextField
from remediation.models import ForgetRequest, ModelVersion, RemediationRun, RunEvent
from remediation.selectors import forget_requests_visible_to, model_versions_visible_to

MAX_REQUESTS_PER_RUN = 100
MAX_SEED = 2**31 - 1


def _id_list(help_text: str) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        allow_empty=False,
        max_length=MAX_REQUESTS_PER_RUN,
        help_text=help_text,
    )


def _json_object(help_text: str) -> serializers.DictField:
    return serializers.DictField(
        required=False,
        default=dict,
        help_text=help_text,
        error_messages={"not_a_dict": "Must be a JSON object (name → value)."},
    )


def visible_version(serializer: serializers.Serializer, version_id: int) -> ModelVersion:
    """The version with this id that the user may see; an unknown or unseen id is an error."""
    user = serializer.context["request"].user
    version = model_versions_visible_to(user).filter(pk=version_id).first()
    if version is None:
        raise serializers.ValidationError(f"Unknown model version id {version_id}.")
    return version


def visible_requests(serializer: serializers.Serializer, ids: list[int]) -> list[ForgetRequest]:
    """The requests with these ids that the user may see; any other id is an error."""
    user = serializer.context["request"].user
    found = list(forget_requests_visible_to(user).filter(pk__in=set(ids)).order_by("pk"))
    missing = sorted(set(ids) - {request.pk for request in found})
    if missing:
        raise serializers.ValidationError(f"Unknown request id(s): {', '.join(map(str, missing))}.")
    return found


class RunPlanSerializer(serializers.Serializer):
    model_version = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, help_text="Id of the version to remediate."
    )
    requests = _id_list("Ids of the approved requests whose items the run removes.")
    method = TextField(
        max_length=32, required=False, help_text="One of /api/methods/; default: its default."
    )
    settings = _json_object("The method's settings; omitted ones take their defaults.")
    policy = _json_object("Verification thresholds; omitted ones take their defaults.")
    seed = serializers.IntegerField(min_value=0, max_value=MAX_SEED, required=False, default=0)

    def validate_model_version(self, version_id: int) -> ModelVersion:
        return visible_version(self, version_id)

    def validate_requests(self, ids: list[int]) -> list[ForgetRequest]:
        return visible_requests(self, ids)


class NoteSerializer(serializers.Serializer):
    note = TextField(max_length=MAX_REASON_CHARS, required=False, allow_blank=True, default="")


class EventsQuerySerializer(serializers.Serializer):
    after = serializers.IntegerField(
        min_value=0, max_value=MAX_ID, required=False, default=0, help_text="Only events after."
    )


class MethodSerializer(serializers.Serializer):
    name = serializers.CharField()
    default = serializers.BooleanField(help_text="The method a plan gets when it names none.")
    settings = serializers.DictField(help_text="Every setting with its default value.")


class MethodsSerializer(serializers.Serializer):
    default_method = serializers.CharField()
    methods = MethodSerializer(many=True)
    policy = serializers.DictField(help_text="The default verification policy.")


class CheckSerializer(serializers.Serializer):
    name = serializers.CharField()
    value = serializers.FloatField(allow_null=True)
    op = serializers.CharField(allow_blank=True)
    threshold = serializers.CharField(help_text="The bound the value had to meet.")
    passed = serializers.BooleanField()


class RunResultSerializer(serializers.Serializer):
    passed = serializers.BooleanField(allow_null=True, help_text="Null until verified.")
    failures = serializers.ListField(child=serializers.CharField())
    checks = CheckSerializer(many=True)


def run_result(run: RemediationRun) -> dict[str, Any]:
    """The verdict of the run's verification, and nothing else of its stored result."""
    result = run.result if isinstance(run.result, dict) else {}
    checks = [c for c in result.get("checks") or [] if isinstance(c, dict)]
    return {
        "passed": result.get("passed"),
        "failures": [str(f) for f in result.get("failures") or []],
        "checks": [
            {
                "name": str(c.get("name", "")),
                "value": c.get("value"),
                "op": str(c.get("op", "")),
                "threshold": str(c.get("threshold", "")),
                "passed": bool(c.get("passed")),
            }
            for c in checks
        ],
    }


class RunListSerializer(serializers.ModelSerializer):
    label = serializers.CharField(read_only=True)
    model = serializers.CharField(source="model_version.model.name", read_only=True)
    planned_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = RemediationRun
        fields = [
            "id",
            "label",
            "status",
            "phase",
            "step",
            "total",
            "model",
            "model_version",
            "method",
            "planned_by",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields


class RunRequestSerializer(serializers.ModelSerializer):
    class Meta:
        model = ForgetRequest
        fields = ["id", "ticket", "status"]
        read_only_fields = fields


class RunDetailSerializer(RunListSerializer):
    approved_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    signed_off_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    requests = serializers.SerializerMethodField()
    result = serializers.SerializerMethodField()
    report = serializers.SerializerMethodField()

    class Meta(RunListSerializer.Meta):
        fields = [
            *RunListSerializer.Meta.fields,
            "requests",
            "settings",
            "policy",
            "seed",
            "approved_by",
            "approved_at",
            "started_at",
            "cancel_requested",
            "device",
            "result",
            "failure_reason",
            "output_version",
            "signed_off_by",
            "signed_off_at",
            "signoff_note",
            "report",
        ]
        read_only_fields = fields

    @extend_schema_field(RunRequestSerializer(many=True))
    def get_requests(self, run: RemediationRun) -> list[dict[str, Any]]:
        # Only the run's requests this user may see: a requester sees the run, not the
        # other requesters' tickets in it.
        user = self.context["request"].user
        requests = forget_requests_visible_to(user).filter(runs=run).order_by("pk")
        return list(RunRequestSerializer(requests, many=True).data)

    @extend_schema_field(RunResultSerializer)
    def get_result(self, run: RemediationRun) -> dict[str, Any]:
        return run_result(run)

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_report(self, run: RemediationRun) -> int | None:
        report = getattr(run, "report", None)
        return report.pk if report is not None else None


class RunEventSerializer(serializers.Serializer):
    """The shape of services.runs.run_event_payload, the same a websocket receives."""

    seq = serializers.IntegerField()
    time = serializers.DateTimeField()
    kind = serializers.ChoiceField(choices=RunEvent.Kind.choices)
    phase = serializers.CharField(allow_blank=True)
    step = serializers.IntegerField()
    total = serializers.IntegerField()
    metrics = serializers.DictField(child=serializers.FloatField(allow_null=True))
    message = serializers.CharField(allow_blank=True)
    status = serializers.ChoiceField(
        choices=RemediationRun.Status.choices, help_text="The run's status now."
    )
