"""Forget requests (the tickets), their items and the key each request's data is under."""

import datetime

from django.conf import settings
from django.db import models


class ForgetRequest(models.Model):
    class Kind(models.TextChoices):
        PII = "pii", "Personal data (PII)"
        CONTENT = "content", "Content (confidential, copyrighted)"
        BEHAVIOUR = "behaviour", "Behaviour (bias, injection, hallucination)"

    class LegalGround(models.TextChoices):
        ART17_1A = "art17_1a", "GDPR Art. 17(1)(a) — no longer necessary"
        ART17_1B = "art17_1b", "GDPR Art. 17(1)(b) — consent withdrawn"
        ART17_1C = "art17_1c", "GDPR Art. 17(1)(c) — objection"
        ART17_1D = "art17_1d", "GDPR Art. 17(1)(d) — unlawfully processed"
        ART17_1E = "art17_1e", "GDPR Art. 17(1)(e) — legal obligation"
        ART17_1F = "art17_1f", "GDPR Art. 17(1)(f) — child's information society service"
        OTHER = "other", "Other basis"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SUBMITTED = "submitted", "Submitted"
        IN_REVIEW = "in_review", "In review"
        APPROVED = "approved", "Approved"
        SCHEDULED = "scheduled", "Scheduled"
        RUNNING = "running", "Running"
        VERIFYING = "verifying", "Verifying"
        AWAITING_SIGNOFF = "awaiting_signoff", "Awaiting sign-off"
        COMPLETED = "completed", "Completed"
        REJECTED = "rejected", "Rejected"
        CANCELLED = "cancelled", "Cancelled"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    # The subject reference is personal data: encrypted under the request's key.
    subject_reference_ct = models.BinaryField()
    legal_ground = models.CharField(max_length=16, choices=LegalGround.choices)
    legal_ground_detail = models.CharField(max_length=500, blank=True)
    received_on = models.DateField()
    due_on = models.DateField()
    extended_due_on = models.DateField(null=True, blank=True)
    extension_reason = models.TextField(blank=True)
    subject_notified_on = models.DateField(null=True, blank=True)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    models_in_scope = models.ManyToManyField("remediation.MLModel", related_name="requests")
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="forget_requests"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reviewed_requests",
    )
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="approved_requests",
    )
    identity_verified = models.BooleanField(default=False)
    identity_method = models.CharField(max_length=200, blank=True)
    scope_note = models.TextField(blank=True)
    decision_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # After the report is issued, items are kept (encrypted) until then for re-checks of
    # later versions; the retention job shreds them at that time.
    retain_items_until = models.DateTimeField(null=True, blank=True)

    OPEN_STATUSES = (
        Status.DRAFT,
        Status.SUBMITTED,
        Status.IN_REVIEW,
        Status.APPROVED,
        Status.SCHEDULED,
    )

    # Finished with: the deadline no longer runs and the items may be shredded. Running,
    # verifying, awaiting sign-off and failed (retryable) requests are not open to
    # cancellation, but they are not done either.
    CLOSED_STATUSES = (Status.COMPLETED, Status.REJECTED, Status.CANCELLED)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.ticket

    @property
    def ticket(self) -> str:
        return f"FR-{self.pk:05d}"

    @property
    def effective_due_on(self) -> datetime.date:
        return self.extended_due_on or self.due_on

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def is_closed(self) -> bool:
        return self.status in self.CLOSED_STATUSES


class RequestKey(models.Model):
    """A request's data key, wrapped by the master key. Deleting it shreds the items."""

    request = models.OneToOneField(ForgetRequest, on_delete=models.CASCADE, related_name="key")
    wrapped_key = models.BinaryField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)
    shredded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"key of request {self.request_id}"


class ForgetItem(models.Model):
    """What the model must stop producing. All text is ciphertext under the request's key."""

    request = models.ForeignKey(ForgetRequest, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField()
    prompt_ct = models.BinaryField()
    completion_ct = models.BinaryField()
    preferred_ct = models.BinaryField(null=True, blank=True)
    # Keyed hash of the unwanted completion: lets reports and runs refer to an item
    # without its text.
    fingerprint = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["request", "position"]
        constraints = [
            models.UniqueConstraint(fields=["request", "position"], name="unique_item_position")
        ]

    def __str__(self) -> str:
        return f"item {self.position} of request {self.request_id}"
