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
        indexes = [models.Index(fields=["status"], name="subscriber_status_idx")]

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
