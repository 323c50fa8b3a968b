"""One run of the audience sync (our list into the Mailchimp audience) and its resume point."""

from django.db import models


class SyncRunState(models.TextChoices):
    RUNNING = "running", "Running"
    INTERRUPTED = "interrupted", "Interrupted (resumable)"
    FINISHED = "finished", "Finished"


class AudienceSyncRun(models.Model):
    """Batches are formed in primary-key order among the subscribers that changed since they were
    last synced, up to ``upper_pk`` (the highest id when the run began). ``cursor_pk`` is the last
    id of the last batch whose result is recorded; it is written in the same transaction as that
    result, never before, so a crash re-sends at most the batches that were in flight."""

    started_at = models.DateTimeField()
    heartbeat_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=16, choices=SyncRunState.choices,
                             default=SyncRunState.RUNNING)
    full = models.BooleanField(default=False, help_text="Send every member, changed or not.")
    list_id = models.CharField(max_length=64)
    upper_pk = models.BigIntegerField(default=0)
    cursor_pk = models.BigIntegerField(default=0)
    pulled_since = models.DateTimeField(null=True, blank=True,
                                        help_text="Mailchimp changes read back from this time.")
    pull_done = models.BooleanField(default=False)

    members_sent = models.PositiveIntegerField(default=0)
    members_created = models.PositiveIntegerField(default=0)
    members_updated = models.PositiveIntegerField(default=0)
    errors_by_kind = models.JSONField(default=dict, blank=True)
    statuses_from_mailchimp = models.PositiveIntegerField(
        default=0, help_text="Our subscribers whose status was taken from Mailchimp's.")
    batches = models.PositiveIntegerField(default=0)
    requests = models.PositiveIntegerField(default=0)
    resumed = models.PositiveIntegerField(default=0, help_text="Times this run was resumed.")
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self):
        return f"audience sync {self.pk} ({self.state}, {self.started_at:%Y-%m-%d %H:%M})"
