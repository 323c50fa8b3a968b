"""Campaigns: announcements of new parts and time-limited discount campaigns, with their ledger.

A Campaign row is the source of truth for one email to the list. Its status only moves through
pipeline.campaigns.services.state.campaign_transition (a conditional UPDATE plus a
CampaignTransition row), so every step is logged with its reason and two workers can never both
move the same campaign forward. Delivery rows are the local (SMTP) path's per-recipient ledger.
"""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from wagtail.admin.panels import FieldPanel, MultiFieldPanel
from wagtail.fields import RichTextField

from pipeline.campaigns.forms import CampaignAdminForm

# Scheduling or sending a campaign to the list, and deciding who else receives campaign mail
# (the saved test addresses, a series or part announcing itself automatically).
SEND_PERMISSION = "campaigns.send_campaign"


class CampaignKind(models.TextChoices):
    ANNOUNCEMENT = "announcement", "Part announcement"
    DISCOUNT = "discount", "Discount"
    LAST_CHANCE = "last_chance", "Last-chance reminder"


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SCHEDULED = "scheduled", "Scheduled"
    CLAIMED = "claimed", "Claimed by a worker"
    CREATED = "created", "Created at the provider"
    SEND_REQUESTED = "send_requested", "Send requested"
    SENT = "sent", "Sent"
    EXPIRED = "expired", "Expired (never sent)"
    CANCELLED = "cancelled", "Cancelled"
    FAILED = "failed", "Failed"


TERMINAL_STATUSES = (
    CampaignStatus.SENT,
    CampaignStatus.EXPIRED,
    CampaignStatus.CANCELLED,
    CampaignStatus.FAILED,
)
# A worker holds the campaign (under a lease) in these.
IN_FLIGHT_STATUSES = (
    CampaignStatus.CLAIMED,
    CampaignStatus.CREATED,
    CampaignStatus.SEND_REQUESTED,
)


class CampaignAudience(models.TextChoices):
    ALL = "all", "All subscribers"
    SERIES = "series", "Followers of chosen series"


def new_web_token() -> str:
    """The secret part of a campaign's web version URL: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


class Campaign(models.Model):
    kind = models.CharField(
        max_length=16, choices=CampaignKind.choices, default=CampaignKind.DISCOUNT
    )
    status = models.CharField(
        max_length=16, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT
    )
    name = models.CharField(max_length=200, help_text="For editors; readers never see it.")

    # What it is about.
    announcement = models.OneToOneField(
        "publishing.Announcement",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="campaign",
        help_text="One campaign per announcement (the one-to-one is the unique constraint).",
    )
    # A deleted part takes its announcement with it: a sent campaign keeps its stored copy and
    # report with both links empty; waiting ones are removed (services/parts.py).
    part = models.ForeignKey(
        "cms.PartPage", null=True, blank=True, on_delete=models.SET_NULL, related_name="campaigns"
    )
    offer = models.ForeignKey(
        "cms.Offer", null=True, blank=True, on_delete=models.PROTECT, related_name="campaigns"
    )
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="reminders",
        help_text="The discount campaign a last-chance reminder belongs to.",
    )
    reminder_before = models.DurationField(
        null=True,
        blank=True,
        help_text="On a discount: send a last-chance reminder this long before the offer ends.",
    )

    # Who gets it.
    audience = models.CharField(
        max_length=16, choices=CampaignAudience.choices, default=CampaignAudience.ALL
    )
    audience_series = models.ManyToManyField(
        "cms.SeriesPage", blank=True, related_name="campaigns"
    )

    # What the editor wrote (the rest comes from the part or the offer).
    subject = models.CharField(max_length=200, blank=True)
    preheader = models.CharField(max_length=200, blank=True)
    message = RichTextField(
        blank=True,
        features=["bold", "italic", "link"],
        help_text="Optional words above the offer. Merge tags such as *|FNAME|* pass through.",
    )
    send_at = models.DateTimeField(null=True, blank=True)
    track_clicks = models.BooleanField(
        default=False,
        help_text="Count clicks on this email's links, per link and reader (local delivery "
        "only; links go through a redirect on this site). Off unless you tick it.",
    )

    # The worker's hold on it.
    attempts = models.PositiveIntegerField(default=0)
    claimed_by = models.CharField(max_length=200, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    # The provider's side.
    provider = models.CharField(max_length=32, blank=True)
    provider_campaign_id = models.CharField(max_length=64, blank=True)
    # Mailchimp: the static segment of readers an announcement leaves out (catching up).
    provider_exclusion_segment_id = models.PositiveBigIntegerField(null=True, blank=True)
    provider_status = models.CharField(max_length=32, blank=True)
    send_requested_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    # The copy approved when it was scheduled (services/approval.py), which is exactly what goes
    # out; empty while a draft.
    sent_subject = models.CharField(max_length=300, blank=True)
    sent_preheader = models.CharField(max_length=300, blank=True)
    sent_html = models.TextField(blank=True)
    sent_text = models.TextField(blank=True)
    sent_audience = models.CharField(max_length=500, blank=True)
    recipient_count = models.PositiveIntegerField(null=True, blank=True)
    # The web version's address (services/web_version.py): random, never derived from the id, so
    # nobody can walk the list of campaigns. Made with the campaign, as its copy links to it.
    web_token = models.CharField(
        max_length=64, unique=True, default=new_web_token, editable=False
    )

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "pipeline_campaign"  # the table of the days of one app
        ordering = ["-created_at"]
        permissions = [("send_campaign", "Can schedule and send campaigns to the list")]
        indexes = [models.Index(fields=["status", "send_at"], name="campaign_due_idx")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind__in=["discount", "last_chance"]) | Q(offer__isnull=False),
                name="campaign_discount_has_offer",
            ),
            models.CheckConstraint(
                condition=~Q(kind="last_chance") | Q(parent__isnull=False),
                name="campaign_last_chance_has_parent",
            ),
            models.UniqueConstraint(
                fields=["parent"],
                condition=Q(kind="last_chance"),
                name="campaign_one_reminder_per_parent",
            ),
        ]

    base_form_class = CampaignAdminForm
    panels = [
        FieldPanel("name"),
        FieldPanel("offer"),
        FieldPanel("send_at", help_text="UTC. Leave empty to choose when you schedule."),
        FieldPanel("reminder_hours"),
        MultiFieldPanel(
            [FieldPanel("audience"), FieldPanel("audience_series")], heading="Audience"
        ),
        MultiFieldPanel(
            [FieldPanel("subject"), FieldPanel("preheader"), FieldPanel("message")],
            heading="Words (optional: sensible defaults come from the offer)",
        ),
        FieldPanel("track_clicks"),
    ]

    def __str__(self):
        return f"{self.name} ({self.get_status_display()})"

    @property
    def is_discount(self) -> bool:
        return self.kind in (CampaignKind.DISCOUNT, CampaignKind.LAST_CHANCE)

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


class CampaignTransition(models.Model):
    """One row per status change, never updated: what happened to a campaign, when and why."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(max_length=16, choices=CampaignStatus.choices)
    to_status = models.CharField(max_length=16, choices=CampaignStatus.choices)
    reason = models.TextField()
    actor = models.CharField(max_length=200, help_text="A user name, or worker@host / sweep.")
    at = models.DateTimeField()

    class Meta:
        db_table = "pipeline_campaigntransition"  # the table of the days of one app
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.from_status} → {self.to_status}: {self.reason}"


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    UNCERTAIN = "uncertain", "Uncertain (in flight during a crash; not resent)"


class Delivery(models.Model):
    """The local path's ledger: one row per (campaign, subscriber), written before and after."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="deliveries")
    subscriber = models.ForeignKey(
        "subscribers.Subscriber", on_delete=models.PROTECT, related_name="deliveries"
    )
    email = models.CharField(max_length=254, help_text="The address it was sent to.")
    state = models.CharField(
        max_length=16, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    message_id = models.CharField(max_length=250, blank=True)
    error = models.TextField(blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "pipeline_delivery"  # the table of the days of one app
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "subscriber"], name="delivery_once_per_recipient"
            )
        ]
        indexes = [models.Index(fields=["campaign", "state"], name="delivery_campaign_state_idx")]

    def __str__(self):
        return f"{self.email}: {self.state}"


class SeriesAnnouncementSetting(models.Model):
    """Per series: announce each new part automatically when it goes live (default yes)."""

    series = models.OneToOneField(
        "cms.SeriesPage", on_delete=models.CASCADE, related_name="announcement_setting"
    )
    announce_automatically = models.BooleanField(default=True)

    class Meta:
        db_table = "pipeline_seriesannouncementsetting"  # the table of the days of one app

    def __str__(self):
        return f"{self.series}: {'automatic' if self.announce_automatically else 'by hand'}"


class PartAnnouncementOverride(models.Model):
    """Per part: override the series' setting (always or never announce automatically)."""

    class Choice(models.TextChoices):
        ALWAYS = "always", "Announce automatically"
        NEVER = "never", "Do not announce automatically (send by hand)"

    part = models.OneToOneField(
        "cms.PartPage", on_delete=models.CASCADE, related_name="announcement_override"
    )
    choice = models.CharField(max_length=8, choices=Choice.choices)

    class Meta:
        db_table = "pipeline_partannouncementoverride"  # the table of the days of one app

    def __str__(self):
        return f"{self.part}: {self.get_choice_display()}"


class CampaignTestAddress(models.Model):
    """The saved list of addresses test sends go to."""

    email = models.EmailField(unique=True)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        db_table = "pipeline_campaigntestaddress"  # the table of the days of one app
        ordering = ["email"]
        verbose_name = "campaign test address"

    def __str__(self):
        return self.email
