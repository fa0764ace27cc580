"""Leak scans over the API: the input of a scan and its per-item rows.

A row carries item text (prompt and completion) only for users who may read the request's
items (permissions.can_see_item_text); everyone else gets the position, the keyed
fingerprint and `redacted: true`.
"""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from remediation import permissions
from remediation.api.base import MAX_ID
from remediation.api.run_serializers import visible_requests, visible_version
from remediation.models import ForgetRequest, LeakScan, ModelVersion
from remediation.services.forget_requests import forget_request_is_shredded
from remediation.services.scans import scan_rows


class ScanStartSerializer(serializers.Serializer):
    request = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, help_text="Id of an approved request."
    )
    model_version = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, help_text="Id of a version of a model in its scope."
    )

    def validate_request(self, request_id: int) -> ForgetRequest:
        return visible_requests(self, [request_id])[0]

    def validate_model_version(self, version_id: int) -> ModelVersion:
        return visible_version(self, version_id)


class ScanRowSerializer(serializers.Serializer):
    position = serializers.IntegerField()
    fingerprint = serializers.CharField(help_text="Keyed hash of the unwanted completion.")
    leaked = serializers.BooleanField(allow_null=True, help_text="Null until the scan is done.")
    leaked_probes = serializers.ListField(
        child=serializers.CharField(), help_text="The probes that reproduced the completion."
    )
    target_loss = serializers.FloatField(allow_null=True)
    exposure = serializers.FloatField(allow_null=True, help_text="In bits.")
    prompt = serializers.CharField(allow_null=True)
    completion = serializers.CharField(allow_null=True)
    redacted = serializers.BooleanField(help_text="Your role may not read the text.")
    shredded = serializers.BooleanField(help_text="The text was destroyed (key shredded).")


def _row(row: dict[str, Any], *, redacted: bool, shredded: bool) -> dict[str, Any]:
    text = None if redacted else row.get("text")
    return {
        "position": row["position"],
        "fingerprint": row["fingerprint"],
        "leaked": row.get("leaked"),
        "leaked_probes": list(row.get("leaked_probes") or []),
        "target_loss": row.get("target_loss"),
        "exposure": row.get("exposure"),
        "prompt": text.prompt if text is not None else None,
        "completion": text.completion if text is not None else None,
        "redacted": redacted,
        "shredded": shredded,
    }


class ScanListSerializer(serializers.ModelSerializer):
    model = serializers.CharField(source="model_version.model.name", read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    leaked_items = serializers.SerializerMethodField()

    class Meta:
        model = LeakScan
        fields = [
            "id",
            "request",
            "model",
            "model_version",
            "status",
            "leaked_items",
            "error",
            "created_by",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_leaked_items(self, scan: LeakScan) -> int | None:
        result = scan.result if isinstance(scan.result, dict) else {}
        return result.get("leaked_items")


class ScanDetailSerializer(ScanListSerializer):
    rows = serializers.SerializerMethodField()

    class Meta(ScanListSerializer.Meta):
        fields = [*ScanListSerializer.Meta.fields, "rows"]
        read_only_fields = fields

    @extend_schema_field(ScanRowSerializer(many=True))
    def get_rows(self, scan: LeakScan) -> list[dict[str, Any]]:
        user = self.context["request"].user
        redacted = not permissions.can_see_item_text(user, scan.request)
        shredded = forget_request_is_shredded(scan.request)
        return [_row(row, redacted=redacted, shredded=shredded) for row in scan_rows(scan, user)]
