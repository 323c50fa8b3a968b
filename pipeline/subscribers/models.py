"""The mailing list: subscribers and their consent history.

Suppression rule: a row is never deleted. ``unsubscribed`` and ``cleaned`` rows keep the address so
nothing is ever sent to it again by accident; leaving that state always needs a fresh, confirmed
consent (see pipeline/subscribers/services.py for the exact rules).
"""

from django.db import models
from django.db.models.functions import Lower


class SubscriberStatus(models.TextChoices):
    PENDING = "pending", "Pending confirmation"
    SUBSCRIBED = "subscribed", "Subscribed"
    UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
    CLEANED = "cleaned", "Cleaned (address bounced)"


SUPPRESSED_STATUSES = (SubscriberStatus.UNSUBSCRIBED, SubscriberStatus.CLEANED)


class SubscriberQuerySet(models.QuerySet):
    def receiving(self):
        """Those we may send list email to: confirmed and not suppressed."""
        return self.filter(status=SubscriberStatus.SUBSCRIBED)


class Subscriber(models.Model):
    email = models.CharField(
        max_length=254,
        unique=True,
        help_text="Normalized: trimmed, lower-case, IDNA-encoded domain "
        "(pipeline.subscribers.email_address.normalize_email).",
    )
    status = models.CharField(
        max_length=16, choices=SubscriberStatus.choices, default=SubscriberStatus.PENDING
    )
    series = models.ManyToManyField("cms.SeriesPage", blank=True, related_name="list_subscribers")

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # When the current status / series / address took effect. A change dated earlier (a Mailchimp
    # webhook's fired_at arriving late) never overwrites a later one.
    status_changed_at = models.DateTimeField(null=True, blank=True)
    preferences_changed_at = models.DateTimeField(null=True, blank=True)
    email_changed_at = models.DateTimeField(null=True, blank=True)
    name = models.CharField(max_length=200, blank=True, help_text="As given by an import.")
    # Erased at the person's request (subscriber_erase): the address and every personal field
    # are gone, the row stays (delivery counts, the consent trail without personal data).
    erased_at = models.DateTimeField(null=True, blank=True)

    # Audience sync state (the sync itself lives in the audience service). The hash covers what
    # we last pushed (address, status, interests), so a member is re-sent only when it changed.
    mailchimp_synced_status = models.CharField(max_length=16, blank=True)
    mailchimp_synced_hash = models.CharField(max_length=64, blank=True)
    mailchimp_synced_at = models.DateTimeField(null=True, blank=True)
    mailchimp_sync_error = models.TextField(blank=True)

    objects = SubscriberQuerySet.as_manager()

    class Meta:
        db_table = "pipeline_subscriber"  # the table of the days of one app
        constraints = [
            # Belt and braces: the service stores only normalized addresses, and the database
            # refuses a case variant even if someone writes around the service.
            models.UniqueConstraint(Lower("email"), name="subscriber_email_ci_unique"),
        ]
        indexes = [
            models.Index(fields=["status"], name="subscriber_status_idx"),
            # The incremental audience sync reads who changed since its last run.
            models.Index(fields=["updated_at"], name="subscriber_updated_idx"),
        ]
        permissions = [
            ("import_subscribers", "Can import subscribers from CSV"),
            ("export_subscribers", "Can export subscribers and a subscriber's data"),
            ("erase_subscriber", "Can erase a subscriber's personal data"),
        ]

    def __str__(self):
        return f"{self.email} ({self.status})"

    @property
    def is_suppressed(self) -> bool:
        return self.status in SUPPRESSED_STATUSES


class ConsentKind(models.TextChoices):
    GIVEN = "given", "Consent given (awaiting confirmation)"
    CONFIRMED = "confirmed", "Consent confirmed (double opt-in)"
    WITHDRAWN = "withdrawn", "Consent withdrawn"
    # The reader changed which series they follow (status untouched): ``requested_series`` holds
    # the series followed afterwards, the note what was added and stopped.
    PREFERENCES = "preferences", "Series preferences changed"


class ConsentSource(models.TextChoices):
    API = "api", "Public API form"
    MAILCHIMP = "mailchimp", "Mailchimp (webhook)"
    ADMIN = "admin", "Operator"
    IMPORT = "import", "Import"
    FEEDBACK = "feedback", "Bounce or complaint report"


class ConsentRecord(models.Model):
    """One row per consent event, never updated or deleted: the audit trail regulators ask for."""

    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="consents")
    kind = models.CharField(max_length=16, choices=ConsentKind.choices)
    source = models.CharField(max_length=16, choices=ConsentSource.choices)
    recorded_at = models.DateTimeField()
    form_id = models.CharField(max_length=200, blank=True)
    consent_text = models.TextField(blank=True, help_text="The exact wording the person agreed to.")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    requested_series = models.JSONField(
        default=list, blank=True, help_text="Series slugs asked for with this consent."
    )
    # The consent row a confirmation or withdrawal answers, when there is one.
    answers = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="answered_by"
    )
    # The double opt-in email a GIVEN consent owes, sent by a worker (services.py): due from this
    # time (pushed on by a worker's claim and by the backoff after a failure); empty once sent or
    # when none is owed. The sweep finds what a lost message or a crash left due.
    confirmation_due_at = models.DateTimeField(null=True, blank=True)
    confirmation_attempts = models.PositiveSmallIntegerField(default=0)
    confirmation_sent_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=500, blank=True)
    # The lawful basis an import states for the row (e.g. "consent", "legitimate interest"),
    # empty for our own forms (their basis is the consent itself).
    basis = models.CharField(max_length=100, blank=True)

    class Meta:
        db_table = "pipeline_consentrecord"  # the table of the days of one app
        ordering = ["recorded_at", "id"]
        indexes = [
            models.Index(fields=["subscriber", "recorded_at"], name="consent_sub_time_idx"),
            models.Index(fields=["confirmation_due_at"], name="consent_confirmation_due_idx",
                         condition=models.Q(confirmation_due_at__isnull=False)),
        ]

    def __str__(self):
        return f"{self.kind} {self.subscriber_id} {self.recorded_at:%Y-%m-%d %H:%M}"


class SuppressedAddress(models.Model):
    """An address erased at its owner's request, as a keyed HMAC of its normal form (never the
    address): imports refuse it and a subscribe needs its owner's confirmation
    (pipeline/subscribers/suppression.py)."""

    digest = models.CharField(max_length=64, unique=True)
    reason = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"suppressed {self.digest[:12]}… ({self.reason})"


class ImportState(models.TextChoices):
    UPLOADED = "uploaded", "Uploaded: map the columns"
    CHECKING = "checking", "Dry run running"
    CHECKED = "checked", "Dry run done"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class SubscriberImport(models.Model):
    """One CSV import from the admin: the stored file, its column mapping, its dry run and its
    progress (written by the worker, read by the progress page). ``rows_done`` is the resume
    point: a worker that dies mid-file leaves it, and the next run of the task goes on from there
    (re-importing a row only updates it)."""

    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    original_name = models.CharField(max_length=255)
    stored_name = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField(default=0)
    headers = models.JSONField(default=list)
    mapping = models.JSONField(default=dict, blank=True, help_text="Field → CSV column.")
    send_confirmation = models.BooleanField(default=False)
    state = models.CharField(max_length=16, choices=ImportState.choices,
                             default=ImportState.UPLOADED)
    dry_run = models.JSONField(default=dict, blank=True)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True)
    errors = models.JSONField(default=list, blank=True,
                              help_text="[row, email, message], the first 10,000.")
    error_count = models.PositiveIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"import {self.pk} {self.original_name} ({self.state})"

    @property
    def percent(self) -> int:
        if not self.rows_total:
            return 100 if self.state == ImportState.DONE else 0
        return min(100, round(100 * self.rows_done / self.rows_total))
