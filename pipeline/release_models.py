"""Release cadence per series, and the parts queued for it.

A series releases on a cadence (weekly on chosen days, or every N days) at a local time in the
series' time zone. Parts marked ready for release (a queue entry) take the next free slots in part
order; a part can be pinned to a date instead. The planner (pipeline.services.cadence) turns the
plan into Wagtail schedules (go_live_at / approved_go_live_at), so the publishing sweep releases
them like any scheduled page.
"""

import zoneinfo

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from modelcluster.fields import ParentalKey
from modelcluster.models import ClusterableModel
from wagtail.admin.panels import FieldPanel, FieldRowPanel, InlinePanel, MultiFieldPanel

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
        from pipeline.services.cadence import cadence_problems

        if self.series_id and self.release_time:
            problems = cadence_problems(cadence=self, today=timezone.now().date())
            if problems:
                raise ValidationError(problems)


class SkippedReleaseDate(models.Model):
    cadence = ParentalKey(ReleaseCadence, on_delete=models.CASCADE, related_name="skipped_dates")
    date = models.DateField(help_text="No part is released on this local date.")

    panels = [FieldPanel("date")]

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["cadence", "date"], name="unique_skipped_date")
        ]

    def __str__(self):
        return f"{self.date} skipped"


class ReleaseQueueEntry(models.Model):
    """A part marked ready for release on its series' cadence, optionally pinned to a date."""

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
    planned_for = models.DateTimeField(null=True, blank=True, editable=False)
    plan_note = models.CharField(max_length=300, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    panels = [FieldPanel("part"), FieldPanel("pinned_date")]

    class Meta:
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
        from pipeline.services.cadence import queue_entry_problems

        problems = queue_entry_problems(entry=self, now=timezone.now())
        if problems:
            raise ValidationError(problems)
