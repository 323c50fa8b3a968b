"""What editors write: series, their parts, and offers."""

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models, transaction
from django.db.models import Max, Q
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from wagtail.admin.panels import FieldPanel, FieldRowPanel, MultiFieldPanel
from wagtail.api import APIField
from wagtail.fields import RichTextField, StreamField
from wagtail.models import (
    DraftStateMixin,
    Page,
    PageViewRestriction,
    PreviewableMixin,
    RevisionMixin,
)
from wagtail.search import index

from cms.blocks import PartBodyBlock
from cms.forms import PartPageForm

FRONT_END_PREVIEW_MODE = "frontend"
TIME_ZONE_CHOICES = [(name, name) for name in sorted(zoneinfo.available_timezones())]


def visible_to(request, *, under: Page, pages) -> list:
    """Those of ``pages`` (live pages below ``under``) this request may read, by the restrictions
    Wagtail checks before serving a page: the page's own and its ancestors' (password, login,
    groups). For the public pages' lists and links; the API and feeds serve only ``.public()``."""
    restrictions = list(
        PageViewRestriction.objects.filter(
            Q(page__in=Page.objects.ancestor_of(under, inclusive=True))
            | Q(page__path__startswith=under.path, page__depth__gt=under.depth)
        ).select_related("page")
    )
    return [
        page
        for page in pages
        if all(
            restriction.accept_request(request)
            for restriction in restrictions
            if page.path.startswith(restriction.page.path)
        )
    ]


class SeriesIndexPage(Page):
    intro = RichTextField(blank=True)

    content_panels = Page.content_panels + [FieldPanel("intro")]
    parent_page_types = ["wagtailcore.Page"]
    subpage_types = ["cms.SeriesPage"]
    max_count = 1

    class Meta:
        verbose_name = "series index"

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        children = SeriesPage.objects.child_of(self).live().order_by("path")
        context["series_list"] = visible_to(request, under=self, pages=children)
        return context


class SeriesPage(Page):
    summary = models.TextField(blank=True)
    hero_image = models.ForeignKey(
        "wagtailimages.Image", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    time_zone = models.CharField(max_length=64, choices=TIME_ZONE_CHOICES, default="Europe/London")

    content_panels = Page.content_panels + [
        FieldPanel("summary"),
        FieldPanel("hero_image"),
        FieldPanel("time_zone"),
    ]
    parent_page_types = ["cms.SeriesIndexPage"]
    subpage_types = ["cms.PartPage"]
    api_fields = [APIField("summary"), APIField("time_zone")]
    search_fields = Page.search_fields + [index.SearchField("summary")]

    class Meta:
        verbose_name = "series"
        verbose_name_plural = "series"

    def live_parts(self):
        return PartPage.objects.live().filter(series=self).order_by("part_number")

    def public_parts(self):
        """Live parts that no view restriction covers, on the part or any ancestor (Wagtail's
        own privacy rule): what the API and feeds may serve, count and link."""
        return self.live_parts().public()

    def parts_visible_to(self, request) -> list["PartPage"]:
        """The live parts this reader may open, for the series' and parts' own pages."""
        return visible_to(request, under=self, pages=self.live_parts())

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["parts"] = self.parts_visible_to(request)
        return context


class PartPage(Page):
    series = models.ForeignKey(
        # The parts are the series' children in the page tree, so deleting the series (a tree
        # delete) deletes them in the same statement; the database's deferred foreign key still
        # refuses a series row deleted without its parts. (Not CASCADE: Wagtail forbids it, as a
        # delete outside the tree would corrupt the tree.)
        SeriesPage, on_delete=models.DO_NOTHING, related_name="parts", editable=False
    )
    part_number = models.PositiveIntegerField(
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Leave empty for the next free number in the series.",
    )
    standfirst = models.TextField(blank=True, help_text="One or two sentences under the title.")
    body = StreamField(PartBodyBlock(), blank=True)

    content_panels = Page.content_panels + [
        FieldPanel("part_number"),
        FieldPanel("standfirst"),
        FieldPanel("body"),
    ]
    parent_page_types = ["cms.SeriesPage"]
    subpage_types = []
    api_fields = [APIField("part_number"), APIField("standfirst"), APIField("body")]
    search_fields = Page.search_fields + [
        index.SearchField("standfirst"),
        index.SearchField("body"),
    ]

    class Meta:
        verbose_name = "part"
        constraints = [
            models.UniqueConstraint(
                fields=["series", "part_number"], name="unique_part_number_in_series"
            )
        ]

    def _series_from_tree(self) -> SeriesPage | None:
        if self.series_id:
            return self.series
        # treebeard sets the path before the first save, so the parent is known from it.
        parent = self.get_parent() if self.path else None
        return parent.specific if parent is not None else None

    base_form_class = PartPageForm

    # The (pk, series, number) the database holds for this part, as last read or saved: a number
    # unchanged from it needs no clash check, the unique constraint already guarantees it.
    _stored_placement: tuple | None = None

    @classmethod
    def from_db(cls, db, field_names, values):
        part = super().from_db(db, field_names, values)
        if {"series_id", "part_number"} <= set(field_names):  # never load a deferred field here
            part._remember_placement()
        return part

    def _remember_placement(self):
        self._stored_placement = (self.pk, self.series_id, self.part_number)

    def refresh_from_db(self, using=None, fields=None, from_queryset=None):
        super().refresh_from_db(using=using, fields=fields, from_queryset=from_queryset)
        if fields is None:
            self._remember_placement()

    def with_content_json(self, content):
        """The part as a revision has it. Its series is the stored part's (the parent in the tree,
        like its path), not the revision's copy, which Wagtail would check exists first."""
        part = super().with_content_json({k: v for k, v in content.items() if k != "series"})
        part.series_id = self.series_id
        part._stored_placement = self._stored_placement
        return part

    def full_clean(self, *args, **kwargs):
        if not self.series_id:
            series = self._series_from_tree()
            if series is not None:
                self.series = series
        if self.series_id and self.part_number is None:
            self.part_number = next_part_number(self.series_id)
        super().full_clean(*args, **kwargs)

    def clean_fields(self, exclude=None):
        # The series is the parent page, set from the tree, never typed in: no need to ask the
        # database whether it exists.
        super().clean_fields(exclude={*(exclude or ()), "series"})

    def validate_constraints(self, exclude=None):
        # clean() checks the part-number constraint, with a message naming the number.
        super().validate_constraints(exclude={*(exclude or ()), "part_number"})

    @classmethod
    def number_clash(cls, series_id: int, number: int, *, exclude_pk: int | None) -> str | None:
        """Why ``number`` cannot be used in the series, or None when it is free."""
        taken = cls.objects.filter(series_id=series_id, part_number=number)
        if exclude_pk:
            taken = taken.exclude(pk=exclude_pk)
        if taken.exists():
            return (
                f"Part {number} already exists in this series. Choose another number, or "
                "renumber the series explicitly."
            )
        return None

    def clean(self):
        super().clean()
        placement = (self.pk, self.series_id, self.part_number)
        # A publish of a part keeping its number asks nothing; a new or changed number is checked
        # here, and a race between two checks is refused by the unique constraint.
        if self.series_id and self.part_number and placement != self._stored_placement:
            message = self.number_clash(self.series_id, self.part_number, exclude_pk=self.pk)
            if message:
                raise ValidationError({"part_number": message})

    def save(self, *args, **kwargs):
        if not self.series_id:
            series = self._series_from_tree()
            if series is None:
                raise ValidationError("A part must be created under a series.")
            self.series = series
        if self.part_number is None:
            self.part_number = next_part_number(self.series_id)
        result = super().save(*args, **kwargs)
        self._remember_placement()
        return result

    def previous_part(self):
        """The public part before this one (what the API links)."""
        return self.series.public_parts().filter(part_number__lt=self.part_number).last()

    def next_part(self):
        return self.series.public_parts().filter(part_number__gt=self.part_number).first()

    @property
    def preview_modes(self):
        """Wagtail's own preview, plus the front end's when FRONTEND_PREVIEW_URL is set."""
        modes = list(super().preview_modes)
        if settings.FRONTEND_PREVIEW_URL:
            modes.append((FRONT_END_PREVIEW_MODE, "Front end (last saved draft)"))
        return modes

    def serve_preview(self, request, mode_name):
        if mode_name != FRONT_END_PREVIEW_MODE:
            return super().serve_preview(request, mode_name)
        if self.pk is None:
            return HttpResponse("<p>Save a draft first: the front end previews the last saved "
                                "draft.</p>")
        # The admin view checks the edit permission on a real request, mints the token and
        # sends the browser on to the front end (cms/previews.py).
        return redirect(reverse("cms_front_end_preview", args=[self.pk]))

    def get_context(self, request, *args, **kwargs):
        """The page's neighbours among the parts this reader may see."""
        context = super().get_context(request, *args, **kwargs)
        series = self._series_from_tree()  # a new part's preview may have no series yet
        visible = series.parts_visible_to(request) if series is not None else []
        context["previous"] = next(
            (p for p in reversed(visible) if p.part_number < self.part_number), None
        )
        context["next"] = next((p for p in visible if p.part_number > self.part_number), None)
        return context


def next_part_number(series_id: int) -> int:
    highest = PartPage.objects.filter(series_id=series_id).aggregate(n=Max("part_number"))["n"]
    return (highest or 0) + 1


def renumber_parts(*, series: SeriesPage, order: list[int]) -> None:
    """Give the parts with these page ids the numbers 1..n in this order. Explicit, atomic."""
    parts = {p.pk: p for p in PartPage.objects.filter(series=series)}
    if sorted(order) != sorted(parts):
        raise ValidationError("Renumbering must list every part of the series exactly once.")
    with transaction.atomic():
        # Move out of the way first so the unique constraint holds at every step.
        offset = max(p.part_number for p in parts.values()) + len(parts) + 1
        for pk in order:
            PartPage.objects.filter(pk=pk).update(part_number=models.F("part_number") + offset)
        for number, pk in enumerate(order, start=1):
            PartPage.objects.filter(pk=pk).update(part_number=number)


code_validator = RegexValidator(
    r"^[A-Za-z0-9-]+$", "Use letters, digits and dashes only (no spaces or symbols)."
)


class OfferQuerySet(models.QuerySet):
    def active(self, at=None):
        at = at or timezone.now()
        return self.filter(live=True, starts_at__lte=at, ends_at__gt=at)


class Offer(DraftStateMixin, RevisionMixin, PreviewableMixin, index.Indexed, models.Model):
    """A time-limited discount. Active only while live and between starts_at and ends_at."""

    name = models.CharField(max_length=200)
    code = models.CharField(max_length=40, validators=[code_validator])
    percent_off = models.PositiveSmallIntegerField(
        validators=[
            MinValueValidator(1, "Percent off must be at least 1."),
            MaxValueValidator(100, "Percent off cannot be more than 100."),
        ]
    )
    terms = models.TextField(blank=True)
    landing_url = models.URLField(blank=True)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    objects = OfferQuerySet.as_manager()

    panels = [
        FieldPanel("name"),
        FieldRowPanel([FieldPanel("code"), FieldPanel("percent_off")]),
        MultiFieldPanel([FieldPanel("starts_at"), FieldPanel("ends_at")], heading="Window"),
        FieldPanel("landing_url"),
        FieldPanel("terms"),
    ]
    search_fields = [index.SearchField("name"), index.SearchField("code")]

    class Meta:
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="offer_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(percent_off__gte=1) & Q(percent_off__lte=100),
                name="offer_percent_in_range",
            ),
        ]

    def __str__(self):
        # Never the code: this is what Wagtail's offer chooser (open to every admin user, so an
        # editor can pick an offer for a part) and the chosen offer's JSON show. Offer editors
        # read codes in the Offers listing, which needs an offer permission.
        return f"{self.name} ({self.percent_off}% off)"

    def clean(self):
        super().clean()
        if self.starts_at and self.ends_at:
            if self.ends_at <= self.starts_at:
                raise ValidationError({"ends_at": "The offer must end after it starts."})
            if self.code:
                overlapping = Offer.objects.filter(
                    code__iexact=self.code, starts_at__lt=self.ends_at, ends_at__gt=self.starts_at
                )
                if self.pk:
                    overlapping = overlapping.exclude(pk=self.pk)
                clash = overlapping.first()
                if clash:
                    raise ValidationError(
                        {
                            "code": f"Code {self.code!r} is already used by “{clash.name}” from "
                            f"{clash.starts_at:%Y-%m-%d %H:%M} to {clash.ends_at:%Y-%m-%d %H:%M} "
                            "UTC; offers with the same code must not overlap."
                        }
                    )

    def is_active(self, at=None) -> bool:
        at = at or timezone.now()
        return self.live and self.starts_at <= at < self.ends_at

    def get_preview_template(self, request, mode_name):
        return "cms/offer_preview.html"
