"""Remediation runs, their progress events, and leak scans.

The run row is the truth about a run's state; the task queue is only transport.
"""

from django.conf import settings as django_settings
from django.db import models


class RemediationRun(models.Model):
    class Status(models.TextChoices):
        PLANNED = "planned", "Planned (awaiting approval)"
        REJECTED = "rejected", "Plan rejected"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        AWAITING_SIGNOFF = "awaiting_signoff", "Awaiting sign-off"
        COMPLETED = "completed", "Completed (signed off)"
        SENT_BACK = "sent_back", "Sent back"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    class Phase(models.TextChoices):
        SCAN = "scan", "Scan"
        ISOLATE = "isolate", "Isolate"
        REMEDIATE = "remediate", "Remediate"
        VERIFY = "verify", "Verify"
        REGISTER = "register", "Register"

    ACTIVE_STATUSES = (Status.QUEUED, Status.RUNNING)

    model_version = models.ForeignKey(
        "remediation.ModelVersion", on_delete=models.PROTECT, related_name="runs"
    )
    requests = models.ManyToManyField("remediation.ForgetRequest", related_name="runs")
    method = models.CharField(max_length=32)
    settings = models.JSONField(default=dict, blank=True)
    policy = models.JSONField(default=dict, blank=True)
    seed = models.PositiveIntegerField(default=0)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.PLANNED, db_index=True
    )
    phase = models.CharField(max_length=16, choices=Phase.choices, blank=True)
    step = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    planned_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="planned_runs"
    )
    approved_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="approved_runs",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=200, blank=True)
    cancel_requested = models.BooleanField(default=False)
    failure_reason = models.TextField(blank=True)
    result = models.JSONField(default=dict, blank=True)
    signed_off_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="signed_off_runs",
    )
    signed_off_at = models.DateTimeField(null=True, blank=True)
    signoff_note = models.TextField(blank=True)
    device = models.CharField(max_length=64, blank=True)
    output_version = models.OneToOneField(
        "remediation.ModelVersion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="produced_by_run",
    )

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return f"RUN-{self.pk:05d}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES


class RunEvent(models.Model):
    """One persisted progress event: the history a late browser gets before the stream."""

    class Kind(models.TextChoices):
        STATE = "state", "State change"
        PROGRESS = "progress", "Progress"
        LOG = "log", "Log line"

    run = models.ForeignKey(RemediationRun, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    phase = models.CharField(max_length=16, blank=True)
    step = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    metrics = models.JSONField(default=dict, blank=True)
    message = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["run", "seq"]
        constraints = [models.UniqueConstraint(fields=["run", "seq"], name="unique_run_event")]

    def __str__(self) -> str:
        return f"event {self.seq} of run {self.run_id}"


class LeakScan(models.Model):
    """Does a model version produce a request's items, and by which probes?"""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    model_version = models.ForeignKey(
        "remediation.ModelVersion", on_delete=models.PROTECT, related_name="scans"
    )
    request = models.ForeignKey(
        "remediation.ForgetRequest", on_delete=models.CASCADE, related_name="scans"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    # Per item position: which probes leaked and how strongly. No item text.
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"scan {self.pk}"
