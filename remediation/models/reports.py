"""Compliance reports: the signed evidence that a run carried out its requests."""

import json
import uuid

from django.db import models


class ComplianceReport(models.Model):
    """One signed report per signed-off run. The signed document is stored whole; the HTML,
    the PDF and the JSON download are all rendered from it."""

    run = models.OneToOneField(
        "remediation.RemediationRun", on_delete=models.PROTECT, related_name="report"
    )
    report_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    issued_at = models.DateTimeField()
    # Text, not JSON: PostgreSQL's jsonb would normalise numbers (-0.0, large floats) and
    # the stored bundle must stay byte-for-byte what was signed.
    document_json = models.TextField(help_text="bundle, digest, signature, public key")
    digest = models.CharField(max_length=64)
    key_id = models.CharField(max_length=32)

    class Meta:
        ordering = ["-issued_at", "-pk"]

    def __str__(self) -> str:
        return f"report {self.report_id}"

    @property
    def document(self) -> dict:
        return json.loads(self.document_json)
