"""The model registry over the API."""

from rest_framework import serializers

from remediation.api.base import MAX_ID, TextField
from remediation.models import MLModel, ModelVersion
from remediation.selectors import model_versions_visible_to

VERSION_SUMMARY_FIELDS = [
    "id",
    "number",
    "status",
    "path",
    "architecture",
    "model_type",
    "parameter_count",
    "manifest_digest",
    "parent",
    "created_at",
]


class ModelVersionSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = ModelVersion
        fields = VERSION_SUMMARY_FIELDS
        read_only_fields = fields


class ModelVersionListSerializer(serializers.ModelSerializer):
    model_name = serializers.CharField(source="model.name", read_only=True)

    class Meta:
        model = ModelVersion
        fields = ["model", "model_name", *VERSION_SUMMARY_FIELDS]
        read_only_fields = fields


class ModelVersionDetailSerializer(ModelVersionListSerializer):
    registered_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    manifest = serializers.DictField(
        child=serializers.CharField(), read_only=True, help_text="File path → SHA-256."
    )

    class Meta(ModelVersionListSerializer.Meta):
        fields = [*ModelVersionListSerializer.Meta.fields, "registered_by", "manifest"]
        read_only_fields = fields


class MLModelSerializer(serializers.ModelSerializer):
    versions = ModelVersionSummarySerializer(many=True, read_only=True)

    class Meta:
        model = MLModel
        fields = ["id", "name", "description", "created_at", "versions"]
        read_only_fields = fields


class ModelRegisterSerializer(serializers.Serializer):
    name = TextField(max_length=100, help_text="Created on first use.")
    path = TextField(
        max_length=1024, help_text="A model directory under one of the configured model roots."
    )
    description = TextField(max_length=5000, required=False, allow_blank=True, default="")
    parent = serializers.IntegerField(
        min_value=1,
        max_value=MAX_ID,
        required=False,
        allow_null=True,
        default=None,
        help_text="Id of the version this one derives from.",
    )

    def validate_parent(self, parent_id: int | None) -> ModelVersion | None:
        if parent_id is None:
            return None
        user = self.context["request"].user
        parent = model_versions_visible_to(user).filter(pk=parent_id).first()
        if parent is None:
            raise serializers.ValidationError(f"Unknown model version id {parent_id}.")
        return parent
