"""Publishing records: the announcement intent per part, the sweep's heartbeat, and each
series' release cadence with the parts queued for it.

A series releases on a cadence (weekly on chosen days, or every N days) at a local time in the
series' time zone. Parts marked ready for release (a queue entry) take the next free slots in part
order; a part can be pinned to a date instead. The planner (pipeline.publishing.services.cadence)
turns the plan into Wagtail schedules (go_live_at / approved_go_live_at), so the publishing sweep
releases them like any scheduled page. The validation rules live here, beside the models.
"""

import zoneinfo
from datetime import date, datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from modelcluster.fields import ParentalKey
from modelcluster.models import ClusterableModel
from wagtail.admin.panels import FieldPanel, FieldRowPanel, InlinePanel, MultiFieldPanel

from pipeline.publishing.calendar import (
    HORIZON_DAYS,
    cadence_dates,
    describe_local,
    gap_message,
    in_dst_gap,
    slot_at,
)
from pipeline.publishing.forms import ReleaseQueueEntryForm


class Announcement(models.Model):
    """A part went live for the first time and must be announced, exactly once.

    Created in the same transaction as the part's first publish; the unique part is what makes
    it exactly once (a second insert does nothing, and only the insert that made the row hands
    it over).
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
        db_table = "pipeline_announcement"  # the table of the days of one app
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

    class Meta:
        db_table = "pipeline_sweepheartbeat"  # the table of the days of one app

    def __str__(self):
        return f"{self.name} sweep (last success {self.last_success_at})"


WEEKDAY_FIELDS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


class ReleaseCadence(ClusterableModel):
    class Kind(models.TextChoices):
        WEEKLY = "weekly", "Weekly, on the chosen days"
        EVERY_N_DAYS = "every_n_days", "Every N days"

    series = models.OneToOneField(
        "cms.SeriesPage", on_delete=models.CASCADE, related_name="release_cadence"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.WEEKLY)
    monday = models.BooleanField(default=False)
    tuesday = models.BooleanField(default=False)
    wednesday = models.BooleanField(default=False)
    thursday = models.BooleanField(default=False)
    friday = models.BooleanField(default=False)
    saturday = models.BooleanField(default=False)
    sunday = models.BooleanField(default=False)
    every_n_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text="For 'every N days': the number of days between releases.",
    )
    starting_on = models.DateField(
        null=True, blank=True, help_text="For 'every N days': the first release date."
    )
    release_time = models.TimeField(help_text="Local time in the series' time zone.")
    paused = models.BooleanField(
        default=False, help_text="While paused, queued parts are not scheduled."
    )
    updated_at = models.DateTimeField(auto_now=True)

    panels = [
        FieldPanel("series"),
        FieldPanel("kind"),
        MultiFieldPanel(
            [FieldRowPanel([FieldPanel(name) for name in WEEKDAY_FIELDS])],
            heading="Weekly: release days",
        ),
        FieldRowPanel([FieldPanel("every_n_days"), FieldPanel("starting_on")]),
        FieldPanel("release_time"),
        FieldPanel("paused"),
        InlinePanel("skipped_dates", heading="Skipped dates", label="Skipped date"),
    ]

    class Meta:
        db_table = "pipeline_releasecadence"  # the table of the days of one app
        verbose_name = "release cadence"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(every_n_days__isnull=True) | models.Q(every_n_days__gte=1),
                name="cadence_every_n_days_positive",
            )
        ]

    def __str__(self):
        return f"{self.series} – {self.describe()}"

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.series.time_zone)

    def weekdays(self) -> set[int]:
        return {i for i, name in enumerate(WEEKDAY_FIELDS) if getattr(self, name)}

    def describe(self) -> str:
        at = self.release_time.strftime("%H:%M") if self.release_time else "?"
        if self.kind == self.Kind.WEEKLY:
            days = ", ".join(WEEKDAY_FIELDS[i].title()[:3] for i in sorted(self.weekdays()))
            text = f"weekly on {days or 'no day'} at {at}"
        else:
            text = f"every {self.every_n_days} days from {self.starting_on} at {at}"
        return text + (" (paused)" if self.paused else "")

    def clean(self):
        super().clean()
        if self.series_id and self.release_time:
            problems = cadence_problems(cadence=self, today=timezone.now().date())
            if problems:
                raise ValidationError(problems)


class SkippedReleaseDate(models.Model):
    cadence = ParentalKey(ReleaseCadence, on_delete=models.CASCADE, related_name="skipped_dates")
    date = models.DateField(help_text="No part is released on this local date.")

    panels = [FieldPanel("date")]

    class Meta:
        db_table = "pipeline_skippedreleasedate"  # the table of the days of one app
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["cadence", "date"], name="unique_skipped_date")
        ]

    def __str__(self):
        return f"{self.date} skipped"


class ReleaseQueueEntry(models.Model):
    """A part marked ready for release on its series' cadence, optionally pinned to a date.

    Queuing a part approves its release: in the admin it needs the publish permission on the part
    (forms.py), and the entry records who queued it and the revision they approved. The planner
    schedules that revision in their name, with Wagtail's own permission check.
    """

    part = models.OneToOneField(
        "cms.PartPage", on_delete=models.CASCADE, related_name="release_entry"
    )
    series = models.ForeignKey(
        "cms.SeriesPage", on_delete=models.CASCADE, related_name="+", editable=False
    )
    pinned_date = models.DateField(
        null=True,
        blank=True,
        help_text="Release on this local date at the cadence's time instead of the next free "
        "slot.",
    )
    # Deleting the user takes their approvals with them (the parts are unscheduled).
    queued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
        related_name="+", editable=False,
        help_text="Who approved the release; none for an entry made by code.",
    )
    revision = models.ForeignKey(
        "wagtailcore.Revision", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", editable=False,
        help_text="The part's content as approved when it was queued.",
    )
    planned_for = models.DateTimeField(null=True, blank=True, editable=False)
    plan_note = models.CharField(max_length=300, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    base_form_class = ReleaseQueueEntryForm
    panels = [FieldPanel("part"), FieldPanel("pinned_date")]

    class Meta:
        db_table = "pipeline_releasequeueentry"  # the table of the days of one app
        verbose_name = "part ready for release"
        verbose_name_plural = "release queue"
        constraints = [
            models.UniqueConstraint(
                fields=["series", "pinned_date"], name="one_pinned_part_per_date"
            )
        ]

    def __str__(self):
        return f"{self.part} ready for release"

    def save(self, *args, **kwargs):
        if self.part_id and not self.series_id:
            self.series_id = self.part.series_id
        super().save(*args, **kwargs)

    def clean(self):
        super().clean()
        if not self.part_id:
            return
        self.series_id = self.part.series_id
        problems = queue_entry_problems(entry=self, now=timezone.now())
        if problems:
            raise ValidationError(problems)


def cadence_problems(*, cadence: ReleaseCadence, today: date) -> dict[str, str]:
    """Validation messages for a cadence, keyed by field ('__all__' for the form)."""
    problems: dict[str, str] = {}
    if cadence.kind == ReleaseCadence.Kind.WEEKLY and not cadence.weekdays():
        problems["__all__"] = (
            "A weekly cadence needs at least one release day; as it stands it has no valid "
            "release slot."
        )
    if cadence.kind == ReleaseCadence.Kind.EVERY_N_DAYS:
        if not cadence.every_n_days:
            problems["every_n_days"] = "Say how many days apart releases are (1 or more)."
        if cadence.starting_on is None:
            problems["starting_on"] = "Give the first release date for an every-N-days cadence."
    if problems:
        return problems
    skipped = set()
    if cadence.pk:
        skipped = {d.date for d in cadence.skipped_dates.all()}
    tz = cadence.tz
    for day in cadence_dates(cadence, start=today, days=HORIZON_DAYS):
        if day not in skipped and in_dst_gap(day=day, at=cadence.release_time, tz=tz):
            problems["release_time"] = gap_message(day, cadence.release_time, tz)
            break
    return problems


def queue_entry_problems(*, entry: ReleaseQueueEntry, now: datetime) -> dict[str, str]:
    """Validation messages for marking a part ready for release (optionally pinned)."""
    part = entry.part
    if part.live:
        return {"part": f"Part {part.part_number} “{part.title}” is already live."}
    cadence = ReleaseCadence.objects.filter(series_id=part.series_id).first()
    if cadence is None:
        return {
            "part": f"The series “{part.series.title}” has no release cadence yet; set one up "
            "under Releases → Release cadences first."
        }
    if entry.pinned_date is None:
        return {}
    tz = cadence.tz
    day = entry.pinned_date
    if in_dst_gap(day=day, at=cadence.release_time, tz=tz):
        return {"pinned_date": gap_message(day, cadence.release_time, tz)}
    instant = slot_at(day=day, at=cadence.release_time, tz=tz)
    if instant <= now:
        return {
            "pinned_date": f"{describe_local(instant, tz)} is in the past; pin the part to a "
            "later date."
        }
    if cadence.skipped_dates.filter(date=day).exists():
        return {"pinned_date": f"{day:%-d %B %Y} is a skipped date for this series."}
    clash = (
        ReleaseQueueEntry.objects.filter(series_id=part.series_id, pinned_date=day)
        .exclude(pk=entry.pk)
        .select_related("part")
        .first()
    )
    if clash:
        return {
            "pinned_date": f"Part {clash.part.part_number} “{clash.part.title}” is already "
            f"pinned to {day:%-d %B %Y}; two parts cannot share one release slot."
        }
    return {}
