"""Catch-up for late joiners, and the welcome email, per series.

- ``CatchupSetting``: per series, whether catch-up is offered and its pace (one earlier part
  every ``every_days`` days, at the series' release time in its time zone).
- ``CatchupProgress``: one row per (reader, series) who accepted catch-up; the step finds the
  readers due by ``next_due_at``.
- ``CatchupDelivery``: the per-(reader, part) ledger, unique on (subscriber, part), written as the
  campaigns' delivery ledger is: ``pending`` rows are the reader's queue (in ``position`` order);
  a row is committed ``sending`` before the message is handed over and ``sent`` once it was; a
  row found ``sending`` after a crash becomes ``uncertain`` (shown, never resent).
- ``CatchupCampaign``: with the audience at Mailchimp, one campaign per (series, part, day) to a
  static segment of the readers due that part, taken through the campaigns' exactly-once stages
  (services/mailchimp.py); its deliveries are committed ``sending`` with it and ``sent`` once
  Mailchimp reports the campaign sent.
- ``WelcomeEmail`` (editable in the admin) and ``WelcomeDelivery`` (one per reader and series,
  the same ledger states).
"""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from wagtail.admin.panels import FieldPanel, MultiFieldPanel
from wagtail.fields import RichTextField


class CatchupSetting(models.Model):
    series = models.OneToOneField(
        "cms.SeriesPage", on_delete=models.CASCADE, related_name="catchup_setting"
    )
    enabled = models.BooleanField(
        default=True, help_text="Offer readers who join late the earlier parts, one at a time."
    )
    every_days = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text="One earlier part every this many days, at the series' release time.",
    )

    panels = [FieldPanel("series"), FieldPanel("enabled"), FieldPanel("every_days")]

    class Meta:
        verbose_name = "catch-up setting"

    def __str__(self):
        state = f"every {self.every_days} day(s)" if self.enabled else "off"
        return f"Catch-up for {self.series}: {state}"



class ProgressState(models.TextChoices):
    ACTIVE = "active", "Catching up"
    LEVEL = "level", "Level (caught up)"
    STOPPED = "stopped", "Stopped"


class CatchupProgress(models.Model):
    subscriber = models.ForeignKey(
        "subscribers.Subscriber", on_delete=models.CASCADE, related_name="catchup_progress"
    )
    series = models.ForeignKey(
        "cms.SeriesPage", on_delete=models.CASCADE, related_name="catchup_progress"
    )
    state = models.CharField(max_length=16, choices=ProgressState.choices,
                             default=ProgressState.ACTIVE)
    started_at = models.DateTimeField()
    next_due_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["subscriber", "series"],
                                    name="catchup_progress_unique"),
        ]
        indexes = [
            models.Index(fields=["next_due_at"], name="catchup_due_idx",
                         condition=models.Q(state="active")),
        ]

    def __str__(self):
        return f"{self.subscriber_id} in {self.series_id}: {self.state}"


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Queued"
    SENDING = "sending", "Handed to the mail server"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    UNCERTAIN = "uncertain", "Uncertain (in flight during a crash; not resent)"
    SKIPPED = "skipped", "Skipped (no longer live, or the reader stopped)"


class CampaignStage(models.TextChoices):
    OPEN = "open", "Taking the readers due"
    FILLED = "filled", "Readers in the static segment"
    CREATED = "created", "Created at Mailchimp, content set"
    SEND_REQUESTED = "send_requested", "Send requested"
    SENT = "sent", "Sent"
    CANCELLED = "cancelled", "Not sent (part no longer live, or nobody left)"
    FAILED = "failed", "Failed"


class CatchupCampaign(models.Model):
    """One Mailchimp campaign of one earlier part, on one day (the series' time zone), to a
    static segment of the readers due it. Ids are persisted as soon as Mailchimp makes them."""

    series = models.ForeignKey("cms.SeriesPage", on_delete=models.CASCADE,
                               related_name="catchup_campaigns")
    part = models.ForeignKey("cms.PartPage", on_delete=models.CASCADE,
                             related_name="catchup_campaigns")
    day = models.DateField(help_text="The series' local day of the catch-up step.")
    stage = models.CharField(max_length=16, choices=CampaignStage.choices,
                             default=CampaignStage.OPEN)
    segment_id = models.PositiveBigIntegerField(null=True, blank=True)
    provider_campaign_id = models.CharField(max_length=64, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Sends requested.")
    recipient_count = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["series", "part", "day"],
                                    name="catchup_campaign_once_per_day"),
        ]
        indexes = [models.Index(fields=["stage"], name="catchup_campaign_open_idx",
                                condition=~models.Q(stage__in=["sent", "cancelled", "failed"]))]

    def __str__(self):
        return f"catch-up campaign of part {self.part_id} on {self.day}: {self.stage}"


class CatchupDelivery(models.Model):
    """One earlier part for one reader: at most one row, so at most one email, ever."""

    progress = models.ForeignKey(CatchupProgress, on_delete=models.CASCADE,
                                 related_name="deliveries")
    subscriber = models.ForeignKey(
        "subscribers.Subscriber", on_delete=models.CASCADE, related_name="catchup_deliveries"
    )
    part = models.ForeignKey("cms.PartPage", on_delete=models.CASCADE,
                             related_name="catchup_deliveries")
    position = models.PositiveIntegerField(help_text="Order in the reader's queue.")
    state = models.CharField(max_length=16, choices=DeliveryState.choices,
                             default=DeliveryState.PENDING)
    message_id = models.CharField(max_length=255, blank=True)
    # Mailchimp path: the campaign (one per series, part and day) that carries it, and its id
    # at Mailchimp once sent.
    campaign = models.ForeignKey(CatchupCampaign, on_delete=models.SET_NULL, null=True,
                                 blank=True, related_name="deliveries")
    mailchimp_campaign_id = models.CharField(max_length=64, blank=True)
    updated_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["subscriber", "part"],
                                    name="catchup_delivery_once_per_part"),
        ]
        indexes = [models.Index(fields=["progress", "state", "position"],
                                name="catchup_queue_idx")]

    def __str__(self):
        return f"part {self.part_id} to {self.subscriber_id}: {self.state}"


class WelcomeEmail(models.Model):
    series = models.OneToOneField(
        "cms.SeriesPage", on_delete=models.CASCADE, related_name="welcome_email"
    )
    enabled = models.BooleanField(default=True)
    subject = models.CharField(max_length=200, blank=True,
                               help_text="Empty: “Welcome to <series title>”.")
    intro = RichTextField(blank=True, features=["bold", "italic", "link", "ol", "ul"],
                          help_text="Above the latest part and the catch-up offer.")

    panels = [
        FieldPanel("series"),
        MultiFieldPanel([FieldPanel("enabled"), FieldPanel("subject"), FieldPanel("intro")],
                        heading="Welcome email"),
    ]

    class Meta:
        verbose_name = "welcome email"

    def __str__(self):
        return f"Welcome email for {self.series}"


class WelcomeDelivery(models.Model):
    """The welcome email for one reader and series: once."""

    subscriber = models.ForeignKey(
        "subscribers.Subscriber", on_delete=models.CASCADE, related_name="welcome_deliveries"
    )
    series = models.ForeignKey("cms.SeriesPage", on_delete=models.CASCADE,
                               related_name="welcome_deliveries")
    state = models.CharField(max_length=16, choices=DeliveryState.choices,
                             default=DeliveryState.PENDING)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["subscriber", "series"], name="welcome_once"),
        ]

    def __str__(self):
        return f"welcome {self.series_id} to {self.subscriber_id}: {self.state}"
