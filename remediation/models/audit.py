"""The audit trail: an append-only, hash-chained table of every change of state."""

from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    """One change of state. Holds identifiers and keyed hashes, never item text.

    Rows are never updated or deleted (on PostgreSQL a trigger refuses it); each row's
    hash covers the previous row's hash, so an edit, removal or swap breaks the chain.
    """

    seq = models.PositiveBigIntegerField(unique=True)
    created_at = models.DateTimeField()
    # No database constraint: deleting a user must not touch the trail (that would be
    # an UPDATE), and the copied name keeps the row readable after that.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_name = models.CharField(max_length=150)
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64, db_index=True)
    object_id = models.CharField(max_length=64, db_index=True)
    payload = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64, unique=True)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id}"


class AuditHead(models.Model):
    """The chain's last link, one row. Locking it serialises writers so the chain never
    forks, and comparing it with the last event detects rows removed from the end."""

    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"audit head #{self.seq}"
