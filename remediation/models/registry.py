"""The model registry: models and their versions (Hugging Face causal-LM directories)."""

from django.conf import settings
from django.db import models


class MLModel(models.Model):
    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ModelVersion(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        QUARANTINED = "quarantined", "Quarantined"
        SUPERSEDED = "superseded", "Superseded"

    model = models.ForeignKey(MLModel, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    path = models.CharField(max_length=1024)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    architecture = models.CharField(max_length=200)
    model_type = models.CharField(max_length=100)
    parameter_count = models.PositiveBigIntegerField()
    manifest = models.JSONField(help_text="relative file path -> sha256")
    manifest_digest = models.CharField(max_length=64)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["model__name", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["model", "number"], name="unique_version_number")
        ]

    def __str__(self) -> str:
        return f"{self.model.name} v{self.number}"
