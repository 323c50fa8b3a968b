"""What mailbox providers told us about our email: bounces and complaints, one row each.

An event is unique per (source, key): the key is what the source names the report by (the
bounce message's Message-ID with the delivery, SNS's MessageId with the recipient, Postmark's
ID), so a report read twice, a webhook retried or a poll killed midway records nothing twice.
The rules an event triggers (pipeline/deliverability/services/events.py) run in the transaction
that records it, so they too run once.
"""

from django.db import models


class EventKind(models.TextChoices):
    HARD_BOUNCE = "hard_bounce", "Hard bounce"
    SOFT_BOUNCE = "soft_bounce", "Soft bounce"
    COMPLAINT = "complaint", "Spam complaint"


class EventSource(models.TextChoices):
    MAILBOX = "mailbox", "Bounce mailbox"
    SES = "ses", "Amazon SES (SNS)"
    POSTMARK = "postmark", "Postmark webhook"


class DeliverabilityEvent(models.Model):
    kind = models.CharField(max_length=16, choices=EventKind.choices)
    source = models.CharField(max_length=16, choices=EventSource.choices)
    key = models.CharField(max_length=400, help_text="The source's name for this report.")
    subscriber = models.ForeignKey(
        "subscribers.Subscriber", null=True, blank=True, on_delete=models.PROTECT,
        related_name="deliverability_events",
    )
    delivery = models.ForeignKey(
        "campaigns.Delivery", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="deliverability_events",
    )
    campaign = models.ForeignKey(
        "campaigns.Campaign", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="deliverability_events",
    )
    email = models.CharField(max_length=254, help_text="The address the report is about.")
    status = models.CharField(max_length=32, blank=True, help_text="e.g. 5.1.1, or the "
                              "provider's bounce type.")
    diagnostic = models.TextField(blank=True)
    occurred_at = models.DateTimeField()
    recorded_at = models.DateTimeField(auto_now_add=True)
    outcome = models.CharField(max_length=300, blank=True, help_text="What the rules did.")

    class Meta:
        db_table = "pipeline_deliverabilityevent"
        ordering = ["-occurred_at", "-id"]
        verbose_name = "bounce or complaint"
        verbose_name_plural = "bounces and complaints"
        constraints = [
            models.UniqueConstraint(fields=["source", "key"], name="deliverability_event_once"),
        ]
        indexes = [
            models.Index(fields=["subscriber", "kind", "occurred_at"],
                         name="deliverability_sub_kind_idx"),
            models.Index(fields=["campaign", "kind"], name="deliverability_campaign_idx"),
        ]

    def __str__(self):
        what = f" {self.status}" if self.status else ""
        return (f"{self.occurred_at:%Y-%m-%d %H:%M} {self.get_kind_display().lower()}{what} "
                f"({self.get_source_display()}){': ' + self.outcome if self.outcome else ''}")


class MailboxMessage(models.Model):
    """A message of the bounce mailbox we have handled, by its Message-ID (or a digest of it
    when it has none): read again after a poll was killed before moving it, it is only moved."""

    key = models.CharField(max_length=400, unique=True)
    subject = models.CharField(max_length=300, blank=True)
    outcome = models.CharField(max_length=300)
    processed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "pipeline_mailboxmessage"
        ordering = ["-processed_at"]

    def __str__(self):
        return f"{self.key}: {self.outcome}"


class SnsMessage(models.Model):
    """SNS MessageIds already taken: the same message delivered again is a replay, refused."""

    message_id = models.CharField(max_length=100, unique=True)
    topic_arn = models.CharField(max_length=300)
    kind = models.CharField(max_length=40)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "pipeline_snsmessage"

    def __str__(self):
        return self.message_id
