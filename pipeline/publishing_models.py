"""Publishing records: the announcement intent per part and the sweep's heartbeat."""

from django.db import models


class Announcement(models.Model):
    """A part went live for the first time and must be announced, exactly once.

    Created in the same transaction as the part's first publish; the unique part is what makes
    it exactly once (the insert of a second one fails and is read back instead).
    The campaigns work picks up announcements in state READY and takes them further.
    """

    class State(models.TextChoices):
        PENDING = "pending", "Pending (publish committed, hand-over not yet queued)"
        READY = "ready", "Ready for the announcement campaign"

    part = models.OneToOneField(
        "cms.PartPage", on_delete=models.CASCADE, related_name="announcement"
    )
    revision = models.ForeignKey(
        "wagtailcore.Revision", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    ready_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["state", "created_at"])]

    def __str__(self):
        return f"Announcement of {self.part}"


class SweepHeartbeat(models.Model):
    """One row per sweep name: when it last finished and what it did. Read by the health check."""

    name = models.CharField(max_length=40, primary_key=True)
    last_started_at = models.DateTimeField(null=True)
    last_success_at = models.DateTimeField(null=True)
    last_duration_ms = models.PositiveIntegerField(default=0)
    last_published = models.PositiveIntegerField(default=0)
    last_unpublished = models.PositiveIntegerField(default=0)
    last_overdue = models.PositiveIntegerField(default=0)
    last_max_lateness_seconds = models.FloatField(default=0)
    total_published = models.PositiveBigIntegerField(default=0)
    total_unpublished = models.PositiveBigIntegerField(default=0)
    total_sweeps = models.PositiveBigIntegerField(default=0)

    def __str__(self):
        return f"{self.name} sweep (last success {self.last_success_at})"
