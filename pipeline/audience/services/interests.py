"""Followed series as Mailchimp interests: one per series, in the category "Series"."""

from collections import Counter

from cms.models import SeriesPage
from pipeline.audience.models import MailchimpSeriesInterest
from pipeline.providers.mailchimp_client import MailchimpClient
from pipeline.subscribers.models import Subscriber

SERIES_CATEGORY_TITLE = "Series"


def series_interests_ensure(*, client: MailchimpClient) -> dict[int, str]:
    """Series id → Mailchimp interest id for every live, public series somebody follows (created
    on demand). A series behind a view restriction is never made an interest (Mailchimp shows
    interests on its own forms and preference centre), nor pushed if it became restricted."""
    public = set(SeriesPage.objects.live().public().values_list("pk", flat=True))
    followed = set(Subscriber.series.through.objects.values_list("seriespage_id", flat=True)
                   .distinct()) & public
    known = {m.series_id: m.interest_id
             for m in MailchimpSeriesInterest.objects.filter(series_id__in=public)}
    missing = followed - set(known)
    if missing:
        series_interests_for(client=client, series_ids=sorted(missing))
        known.update(MailchimpSeriesInterest.objects.filter(series_id__in=missing)
                     .values_list("series_id", "interest_id"))
    return known


def series_interests_for(*, client: MailchimpClient, series_ids: list[int]) -> None:
    """Make sure each of these series has its interest, creating what is missing now (the first
    announcement of a new series needs it before any sync has run). Restricted or unpublished
    series are left out, as in the sync."""
    missing = (set(SeriesPage.objects.live().public().filter(pk__in=series_ids)
                   .values_list("pk", flat=True))
               - set(MailchimpSeriesInterest.objects.filter(series_id__in=series_ids)
                     .values_list("series_id", flat=True)))
    if not missing:
        return
    category = client.ensure_interest_category(SERIES_CATEGORY_TITLE)
    titles = Counter(SeriesPage.objects.values_list("title", flat=True))
    for series in SeriesPage.objects.filter(pk__in=missing).order_by("pk"):
        name = series.title if titles[series.title] == 1 else f"{series.title} ({series.slug})"
        interest = client.ensure_interest(category["id"], name[:100])
        MailchimpSeriesInterest.objects.update_or_create(
            series=series, defaults={"category_id": category["id"],
                                     "interest_id": interest["id"],
                                     "interest_name": interest["name"]})
