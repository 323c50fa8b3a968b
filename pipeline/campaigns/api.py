"""The campaigns' part of the public JSON API: a series' archive of sent announcements, each
with its web version. Mounted by config/api.py. Only live, public series and parts appear."""

from datetime import datetime

from django.conf import settings
from django.urls import reverse
from ninja import Path, Router, Schema
from ninja.errors import HttpError

from cms.selectors import series_by_slug
from pipeline.campaigns.services.web_version import series_archive

router = Router()


class ArchivedEmailOut(Schema):
    subject: str
    sent_at: datetime
    part_number: int
    part_title: str
    part_url: str
    web_version_url: str


class SeriesEmailsOut(Schema):
    series: str
    archive_url: str
    emails: list[ArchivedEmailOut]


class ErrorOut(Schema):
    detail: str


@router.get(
    "/series/{slug}/emails",
    response={200: SeriesEmailsOut, 404: ErrorOut},
    tags=["content"],
    summary="A series' sent announcements, newest first, with their web versions",
)
def series_emails(request, slug: str = Path(..., examples=["strong-back"])):
    series = series_by_slug(slug)
    if series is None:
        raise HttpError(404, f"No published series with slug {slug!r}.")
    return {
        "series": series.slug,
        "archive_url": settings.BASE_URL
        + reverse("series_email_archive", kwargs={"slug": series.slug}),
        "emails": [entry.__dict__ for entry in series_archive(series=series)],
    }
