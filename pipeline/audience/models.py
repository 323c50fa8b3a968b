"""Our list in the Mailchimp audience: each series as a Mailchimp interest, every list webhook
received, and each run of the audience sync with its resume point."""

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
    changed_since = models.DateTimeField(
        null=True, blank=True, help_text="Incremental run: only subscribers updated since this "
        "time (the last finished run's start) or left with a sync error are looked at.")

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
        db_table = "pipeline_audiencesyncrun"  # the table of the days of one app
        ordering = ["-started_at", "-id"]

    def __str__(self):
        return f"audience sync {self.pk} ({self.state}, {self.started_at:%Y-%m-%d %H:%M})"


class MailchimpSeriesInterest(models.Model):
    """A series is a Mailchimp interest (group) in one interest category of the audience."""

    series = models.OneToOneField(
        "cms.SeriesPage", on_delete=models.CASCADE, related_name="mailchimp_interest"
    )
    category_id = models.CharField(max_length=64)
    interest_id = models.CharField(max_length=64, unique=True)
    interest_name = models.CharField(
        max_length=200, help_text="The group name Mailchimp shows and puts in webhook INTERESTS."
    )

    class Meta:
        db_table = "pipeline_mailchimpseriesinterest"  # the table of the days of one app

    def __str__(self):
        return f"{self.interest_name} → {self.interest_id}"


class WebhookOutcome(models.TextChoices):
    APPLIED = "applied", "Applied"
    STALE = "stale", "Older than the state it would change: recorded only"
    IGNORED = "ignored", "Not a list change we track"
    UNMATCHED = "unmatched", "No subscriber with that address (yet)"
    CONFLICT = "conflict", "The new address already belongs to another subscriber"
    UNVERIFIED = "unverified", "Unsigned: sent our confirmation email, applied only once confirmed"


class MailchimpWebhookEvent(models.Model):
    """Every accepted webhook body, once: a replay has the same hash and changes nothing."""

    body_sha256 = models.CharField(max_length=64, unique=True)
    event_type = models.CharField(max_length=32)
    fired_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)
    email = models.CharField(max_length=254, blank=True, help_text="The address the event is about "
                             "(for upemail: the old one), normalized.")
    new_email = models.CharField(max_length=254, blank=True)
    payload = models.JSONField()
    subscriber = models.ForeignKey(
        "subscribers.Subscriber", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="webhook_events",
    )
    outcome = models.CharField(max_length=16, choices=WebhookOutcome.choices)

    class Meta:
        db_table = "pipeline_mailchimpwebhookevent"  # the table of the days of one app
        ordering = ["fired_at", "id"]
        indexes = [
            models.Index(fields=["email", "fired_at"], name="mc_event_email_time_idx"),
            models.Index(fields=["event_type", "outcome"], name="mc_event_type_outcome_idx"),
        ]

    def __str__(self):
        return f"{self.event_type} {self.email} @ {self.fired_at:%Y-%m-%d %H:%M:%S}"


class MailchimpErasure(models.Model):
    """A member to delete permanently at Mailchimp after our subscriber was erased: written in
    the erasure's transaction, processed after commit by a worker and retried with backoff until
    Mailchimp confirms (a crash loses nothing: the row is still due). The member hash (the MD5
    Mailchimp names members by) is kept only until then."""

    subscriber = models.ForeignKey("subscribers.Subscriber", null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    list_id = models.CharField(max_length=64)
    member_hash = models.CharField(max_length=32, blank=True)
    requested_at = models.DateTimeField()
    due_at = models.DateTimeField(null=True, blank=True, help_text="Empty once done.")
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["due_at"], name="mc_erasure_due_idx",
                                condition=models.Q(due_at__isnull=False))]

    def __str__(self):
        return f"Mailchimp erasure {self.pk} ({'done' if self.done_at else 'pending'})"
