"""Who a campaign goes to: a Subscriber queryset for local delivery, segment options for Mailchimp.

Announcements go to the followers of the part's series, less the readers an upper app answers
``announcement_audience`` with (catch-up: readers catching up on the series get the part in
their queue instead); discounts to everyone, or to the followers of the chosen series. At
Mailchimp the readers left out are a static segment (the campaigns' Mailchimp path fills it)
and the announcement's conditions become "in the series' interest AND not in that segment".
"""

from django.db.models import Q, QuerySet

from cms.models import SeriesPage
from pipeline.audience.models import MailchimpSeriesInterest
from pipeline.audience.services.interests import series_interests_for
from pipeline.campaigns.models import Campaign, CampaignAudience, CampaignKind
from pipeline.campaigns.signals import announcement_audience
from pipeline.providers.mailchimp_client import MailchimpClient
from pipeline.providers.mailchimp_errors import MailchimpError, RetryableError
from pipeline.subscribers.models import Subscriber


class AudienceError(Exception):
    """The audience cannot be expressed (e.g. a series without a Mailchimp interest)."""


class AudienceRetry(AudienceError):
    """Mailchimp could not create a missing interest now (an outage): try again later."""


def audience_series_ids(campaign: Campaign) -> list[int] | None:
    """The series whose followers get it, or None for everyone."""
    if campaign.kind == CampaignKind.ANNOUNCEMENT:
        return [campaign.part.series_id]
    source = campaign.parent if campaign.kind == CampaignKind.LAST_CHANCE else campaign
    if source.audience == CampaignAudience.ALL:
        return None
    return list(source.audience_series.order_by("pk").values_list("pk", flat=True))


def audience_recipients(campaign: Campaign) -> QuerySet[Subscriber]:
    """Subscribed people who get this campaign (local delivery)."""
    recipients = Subscriber.objects.receiving()
    series_ids = audience_series_ids(campaign)
    if series_ids is not None:
        recipients = recipients.filter(series__in=series_ids).distinct()
    left_out = _announcement_left_out(campaign)
    if left_out is not None:
        recipients = recipients.exclude(left_out)
    return recipients.order_by("pk")


def _announcement_left_out(campaign: Campaign) -> Q | None:
    """Readers an upper app takes care of otherwise (catch-up: the part joins their queue)."""
    if campaign.kind != CampaignKind.ANNOUNCEMENT or not campaign.part_id:
        return None
    left_out = None
    for _receiver, skipped in announcement_audience.send(
            sender=Campaign, part_id=campaign.part_id, series_id=campaign.part.series_id):
        if skipped is not None:
            left_out = Q(pk__in=skipped) if left_out is None else left_out | Q(pk__in=skipped)
    return left_out


def audience_left_out_emails(campaign: Campaign) -> list[str]:
    """Addresses of the followers an announcement leaves out (for a Mailchimp static segment)."""
    left_out = _announcement_left_out(campaign)
    if left_out is None:
        return []
    return list(Subscriber.objects.receiving().filter(series=campaign.part.series_id)
                .filter(left_out).order_by("pk").values_list("email", flat=True).distinct())


def audience_without_segment(segment_opts: dict, segment_id: int) -> dict:
    """The campaign's conditions, less the members of a static segment. Mailchimp takes either
    a saved segment or conditions, not both, so the exclusion is a ``StaticSegment`` condition
    (``static_not``) beside the series' interest, with ``match: all``: only possible with one
    interest condition, which is what an announcement (one series) has."""
    conditions = list(segment_opts.get("conditions") or [])
    if len(conditions) != 1:
        raise AudienceError("Only a one-series audience can leave out a static segment.")
    return {"match": "all", "conditions": conditions + [
        {"condition_type": "StaticSegment", "field": "static_segment", "op": "static_not",
         "value": segment_id}]}


def audience_description(campaign: Campaign) -> str:
    series_ids = audience_series_ids(campaign)
    if series_ids is None:
        return "All subscribers"
    titles = SeriesPage.objects.filter(pk__in=series_ids).order_by("title")
    return "Followers of " + ", ".join(s.title for s in titles) if series_ids else "Nobody"


def audience_mailchimp_segment(campaign: Campaign, *, client: MailchimpClient | None = None
                               ) -> dict | None:
    """Mailchimp ``segment_opts`` for the campaign: the series' interests, or None for all.

    With ``client``, a series that has no interest yet (new since the last sync) gets it now,
    so its first announcement does not wait for a sync run."""
    series_ids = audience_series_ids(campaign)
    if series_ids is None:
        return None
    if client is not None:
        try:
            series_interests_for(client=client, series_ids=series_ids)
        except RetryableError as error:
            raise AudienceRetry(f"Could not create the series' Mailchimp interest now: {error}"
                                ) from error
        except MailchimpError as error:
            raise AudienceError(f"Mailchimp refused the series' interest: {error}") from error
    interests = list(MailchimpSeriesInterest.objects.filter(series_id__in=series_ids))
    missing = set(series_ids) - {i.series_id for i in interests}
    if missing or not interests:
        raise AudienceError(
            "These series have no Mailchimp interest (group) yet, so their followers cannot be "
            f"selected in Mailchimp: series ids {sorted(missing)}. Run the audience sync first."
        )
    by_category: dict[str, list[str]] = {}
    for interest in interests:
        by_category.setdefault(interest.category_id, []).append(interest.interest_id)
    conditions = [
        {"condition_type": "Interests", "field": f"interests-{category}",
         "op": "interestcontains", "value": ids}
        for category, ids in sorted(by_category.items())
    ]
    return {"match": "any", "conditions": conditions}
