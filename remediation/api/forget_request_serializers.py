"""Forget requests over the API: the input shapes the views parse and the shapes they render."""

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from remediation.api.base import MAX_ID, MAX_REASON_CHARS, TextField
from remediation.api.disclosure import Disclosure, request_disclosure
from remediation.models import ForgetRequest, MLModel
from remediation.selectors import deadline_state, models_visible_to
from remediation.services.deadlines import MAX_EXTENSION_MONTHS
from remediation.services.item_files import ItemInput, item_from_mapping

ITEM_CHARS = settings.UNLEARN_MAX_ITEM_CHARS
MAX_MODELS_IN_SCOPE = 100


class ItemInSerializer(serializers.Serializer):
    prompt = TextField(max_length=ITEM_CHARS)
    completion = TextField(max_length=ITEM_CHARS, help_text="The unwanted completion.")
    preferred = TextField(
        max_length=ITEM_CHARS,
        required=False,
        allow_blank=True,
        default="",
        help_text="What the model should say instead (behaviour requests).",
    )


def items_from(validated: list[dict[str, str]]) -> list[ItemInput]:
    """ItemInputs through the same cleaning as the pages and the file upload."""
    return [item_from_mapping(dict(row), f"Item {n}") for n, row in enumerate(validated, 1)]


class ItemsFileSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text="A .csv (prompt, completion[, preferred]) or .jsonl file."
    )


def _check_model_ids(serializer: serializers.Serializer, ids: list[int]) -> list[MLModel]:
    """The models with these ids that the user may see; an unknown or unseen id is an error."""
    user = serializer.context["request"].user
    found = list(models_visible_to(user).filter(pk__in=set(ids)))
    missing = sorted(set(ids) - {model.pk for model in found})
    if missing:
        raise serializers.ValidationError(f"Unknown model id(s): {', '.join(map(str, missing))}.")
    return found


class ForgetRequestCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ForgetRequest.Kind.choices)
    subject_reference = TextField(max_length=500)
    legal_ground = serializers.ChoiceField(choices=ForgetRequest.LegalGround.choices)
    legal_ground_detail = TextField(max_length=500, required=False, allow_blank=True, default="")
    received_on = serializers.DateField()
    models = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        allow_empty=False,
        max_length=MAX_MODELS_IN_SCOPE,
        help_text="Ids of the models in scope.",
    )
    items = ItemInSerializer(
        many=True, allow_empty=False, max_length=settings.UNLEARN_MAX_ITEMS_PER_REQUEST
    )
    submit = serializers.BooleanField(
        required=False, default=False, help_text="Submit for review right away."
    )

    def validate_models(self, ids: list[int]) -> list[MLModel]:
        return _check_model_ids(self, ids)


class ReviewSerializer(serializers.Serializer):
    identity_verified = serializers.BooleanField()
    identity_method = TextField(max_length=200, allow_blank=True)
    scope_note = TextField(
        max_length=MAX_REASON_CHARS, required=False, allow_blank=True, default=""
    )


class ReasonSerializer(serializers.Serializer):
    reason = TextField(max_length=MAX_REASON_CHARS, allow_blank=True)


class OptionalReasonSerializer(serializers.Serializer):
    reason = TextField(max_length=MAX_REASON_CHARS, required=False, allow_blank=True, default="")


class ExtendSerializer(serializers.Serializer):
    months = serializers.IntegerField(min_value=1, max_value=MAX_EXTENSION_MONTHS)
    reason = TextField(max_length=MAX_REASON_CHARS, allow_blank=True)
    subject_notified_on = serializers.DateField()


class ItemOutSerializer(serializers.Serializer):
    position = serializers.IntegerField()
    prompt = serializers.CharField(allow_null=True)
    completion = serializers.CharField(allow_null=True)
    preferred = serializers.CharField(allow_null=True)
    fingerprint = serializers.CharField(help_text="Keyed hash of the unwanted completion.")
    redacted = serializers.BooleanField(help_text="Your role may not read the text.")
    shredded = serializers.BooleanField(help_text="The text was destroyed (key shredded).")


class ForgetRequestListSerializer(serializers.ModelSerializer):
    requester = serializers.SlugRelatedField(slug_field="username", read_only=True)
    models = serializers.PrimaryKeyRelatedField(source="models_in_scope", many=True, read_only=True)
    effective_due_on = serializers.DateField(read_only=True)
    deadline_state = serializers.SerializerMethodField()
    item_count = serializers.SerializerMethodField()

    class Meta:
        model = ForgetRequest
        fields = [
            "id",
            "ticket",
            "kind",
            "status",
            "legal_ground",
            "received_on",
            "due_on",
            "extended_due_on",
            "effective_due_on",
            "deadline_state",
            "requester",
            "models",
            "item_count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=["", "overdue", "due_soon"]))
    def get_deadline_state(self, obj: ForgetRequest) -> str:
        return deadline_state(obj)

    def get_item_count(self, obj: ForgetRequest) -> int:
        annotated = getattr(obj, "item_count", None)
        return annotated if annotated is not None else obj.items.count()


class ForgetRequestDetailSerializer(ForgetRequestListSerializer):
    reviewer = serializers.SlugRelatedField(slug_field="username", read_only=True)
    approver = serializers.SlugRelatedField(slug_field="username", read_only=True)
    subject_reference = serializers.SerializerMethodField()
    subject_reference_redacted = serializers.SerializerMethodField()
    items_redacted = serializers.SerializerMethodField()
    shredded = serializers.SerializerMethodField()
    items = serializers.SerializerMethodField()

    class Meta(ForgetRequestListSerializer.Meta):
        fields = [
            *ForgetRequestListSerializer.Meta.fields,
            "subject_reference",
            "subject_reference_redacted",
            "legal_ground_detail",
            "extension_reason",
            "subject_notified_on",
            "reviewer",
            "approver",
            "identity_verified",
            "identity_method",
            "scope_note",
            "decision_reason",
            "submitted_at",
            "decided_at",
            "items_redacted",
            "shredded",
            "items",
        ]
        read_only_fields = fields

    def _disclosure(self, obj: ForgetRequest) -> Disclosure:
        # Decrypt once per request rendered, not once per field.
        cache: dict[int, Disclosure] = self.context.setdefault("disclosures", {})
        if obj.pk not in cache:
            cache[obj.pk] = request_disclosure(obj, self.context["request"].user)
        return cache[obj.pk]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_subject_reference(self, obj: ForgetRequest) -> str | None:
        return self._disclosure(obj).subject_reference

    def get_subject_reference_redacted(self, obj: ForgetRequest) -> bool:
        return self._disclosure(obj).redacted

    def get_items_redacted(self, obj: ForgetRequest) -> bool:
        return self._disclosure(obj).redacted

    def get_shredded(self, obj: ForgetRequest) -> bool:
        return self._disclosure(obj).shredded

    @extend_schema_field(ItemOutSerializer(many=True))
    def get_items(self, obj: ForgetRequest) -> list[dict[str, Any]]:
        return self._disclosure(obj).items
