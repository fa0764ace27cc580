"""Compliance reports over the API: summaries, verification verdicts, the public key."""

from rest_framework import serializers

from remediation.models import ComplianceReport


class ReportSerializer(serializers.ModelSerializer):
    run_label = serializers.CharField(source="run.label", read_only=True)

    class Meta:
        model = ComplianceReport
        fields = ["id", "report_id", "run", "run_label", "issued_at", "digest", "key_id"]
        read_only_fields = fields


class ReportUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="A report as downloaded: its PDF or its JSON document.")


class VerificationSerializer(serializers.Serializer):
    ok = serializers.BooleanField(help_text="Signed with our key and true to our audit chain.")
    reasons = serializers.ListField(
        child=serializers.CharField(), help_text="Why it failed (empty when ok)."
    )
    digest = serializers.CharField(allow_null=True)
    key_id = serializers.CharField(allow_null=True)


class PublicKeySerializer(serializers.Serializer):
    public_key = serializers.CharField(help_text="The site's Ed25519 public key, PEM.")
