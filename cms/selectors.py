"""Reads of published content for the API and feeds. Only live, public pages and active offers
leave: a page under a Wagtail view restriction (its own or an ancestor's: password, login or
groups) is neither served, counted nor linked."""

from datetime import datetime

from django.conf import settings
from django.db.models import Count, IntegerField, Max, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from wagtail.rich_text import expand_db_html

from cms.links import public_url
from cms.models import Offer, PartPage, SeriesPage


def series_api_url(series) -> str:
    return f"{settings.BASE_URL}/api/series/{series.slug}"


def part_api_url(series, number: int) -> str:
    return f"{series_api_url(series)}/parts/{number}"


def public_series():
    """Live, public series, each with the count and latest publish of its live, public parts."""
    parts = (
        PartPage.objects.live().public().filter(series=OuterRef("pk")).order_by()
        .values("series")
    )
    return (
        SeriesPage.objects.live()
        .public()
        .annotate(
            live_part_count=Coalesce(
                Subquery(parts.annotate(n=Count("pk")).values("n"), output_field=IntegerField()),
                Value(0),
            ),
            latest_part_at=Subquery(parts.annotate(at=Max("last_published_at")).values("at")),
        )
        .select_related("hero_image")
        .order_by("title")
    )


def series_by_slug(slug: str):
    return public_series().filter(slug=slug).first()


def public_part(series, number: int):
    return (
        PartPage.objects.live()
        .public()
        .filter(series=series, part_number=number)
        .select_related("series")
        .first()
    )


def series_summary(series) -> dict:
    return {
        "slug": series.slug,
        "title": series.title,
        "url": public_url(series),
        "api_url": series_api_url(series),
        "summary": series.summary,
        "time_zone": series.time_zone,
        "part_count": series.live_part_count,
        "hero_image_url": (
            f"{settings.BASE_URL}{series.hero_image.file.url}" if series.hero_image else None
        ),
        "last_published_at": latest(series.last_published_at, series.latest_part_at),
    }


def part_link(part) -> dict:
    return {
        "number": part.part_number,
        "title": part.title,
        "url": public_url(part),
        "api_url": part_api_url(part.series, part.part_number),
        "first_published_at": part.first_published_at,
    }


def offer_data(offer: Offer) -> dict:
    return {
        "id": offer.pk,
        "name": offer.name,
        "code": offer.code,
        "percent_off": offer.percent_off,
        "terms": offer.terms,
        "landing_url": offer.landing_url,
        "starts_at": offer.starts_at,
        "ends_at": offer.ends_at,
    }


def latest(*moments):
    present = [m for m in moments if m is not None]
    return max(present) if present else None


def next_boundary(offers, now: datetime) -> datetime | None:
    """The next moment at which one of these offers starts or ends."""
    upcoming = [m for o in offers for m in (o.starts_at, o.ends_at) if m > now]
    return min(upcoming) if upcoming else None


def body_blocks(part, now: datetime) -> tuple[list[dict], list[Offer], list[Offer]]:
    """The part's body as typed blocks; offer blocks appear only while their offer is active.

    Returns (blocks, active offers, every live offer referenced) so callers can tell when the
    answer stops being true.
    """
    blocks, active, referenced = [], [], []
    for child in part.body:
        block_type = child.block_type
        if block_type == "offer":
            offer = child.value.get("offer")
            if offer is None or not offer.live:
                continue
            referenced.append(offer)
            if not offer.is_active(now):
                continue
            if offer not in active:
                active.append(offer)
            value = {"headline": child.value.get("headline", ""), "offer": offer_data(offer)}
        elif block_type == "paragraph":
            value = {"html": expand_db_html(child.value.source)}
        else:
            value = child.block.get_api_representation(child.value)
        html = str(child.render()).strip()
        blocks.append({"type": block_type, "id": child.id or "", "value": value, "html": html})
    return blocks, active, referenced


def part_detail(part, now: datetime) -> tuple[dict, datetime | None]:
    series = part.series
    blocks, active, referenced = body_blocks(part, now)
    previous_part, next_part = part.previous_part(), part.next_part()
    data = {
        "series": {
            "slug": series.slug,
            "title": series.title,
            "url": public_url(series),
            "api_url": series_api_url(series),
        },
        "number": part.part_number,
        "title": part.title,
        "standfirst": part.standfirst,
        "url": public_url(part),
        "first_published_at": part.first_published_at,
        "last_published_at": part.last_published_at,
        "body": blocks,
        "previous": part_link(previous_part) if previous_part else None,
        "next": part_link(next_part) if next_part else None,
        "offers": [offer_data(o) for o in active],
    }
    return data, next_boundary(referenced, now)


def active_offers(now: datetime | None = None) -> tuple[list[Offer], datetime | None]:
    now = now or timezone.now()
    live = list(Offer.objects.filter(live=True, ends_at__gt=now).order_by("ends_at"))
    return [o for o in live if o.starts_at <= now], next_boundary(live, now)
