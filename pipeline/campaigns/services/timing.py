"""When a campaign may still go out: the expiry guard, and the offer's end in the reader's terms.

The guard runs when a campaign is claimed and again just before the provider call. Its rule:
a discount or last-chance email is never sent at or after its offer's end less a safety margin,
and no campaign is sent later than its kind's allowed lateness after its send time.
"""

import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from cms.models import Offer
from pipeline.campaigns.models import Campaign


def offer_send_deadline(offer: Offer) -> datetime:
    """The last moment (exclusive) an email about this offer may be handed to a provider."""
    return offer.ends_at - settings.CAMPAIGN_OFFER_SAFETY_MARGIN


@dataclass(frozen=True)
class ReminderTime:
    at: datetime | None  # None: the discount campaign asks for no reminder
    problem: str | None = None  # why ``at`` is not a valid time, in words for the editor


def reminder_time(*, parent: Campaign, offer: Offer, now: datetime) -> ReminderTime:
    """When the last-chance reminder of the discount campaign ``parent`` goes, and whether it may.

    The one home of the rule, used when the campaign is scheduled and when its offer moves: the
    reminder goes ``reminder_before`` the offer's end, before the safety margin, after the
    discount email itself, and not in the past.
    """
    if not parent.reminder_before:
        return ReminderTime(at=None)
    at = offer.ends_at - parent.reminder_before
    problem = None
    if at >= offer_send_deadline(offer):
        problem = "it would fall within the safety margin before the offer's end"
    elif parent.send_at and at <= parent.send_at:
        problem = "it would go before (or with) the discount email itself"
    elif at <= now:
        problem = "that time has already passed"
    return ReminderTime(at=at, problem=problem)


@dataclass(frozen=True)
class Expiry:
    reason: str


def campaign_expiry(
    *, campaign: Campaign, at: datetime, include_lateness: bool = True
) -> Expiry | None:
    """Why sending ``campaign`` at ``at`` is too late, or None when it may still go.

    ``include_lateness=False`` checks the offer's end only (a long local send already started).
    """
    if campaign.is_discount:
        offer = Offer.objects.get(pk=campaign.offer_id)  # fresh: the window may have moved
        deadline = offer_send_deadline(offer)
        if at >= deadline:
            margin_minutes = int(settings.CAMPAIGN_OFFER_SAFETY_MARGIN.total_seconds() // 60)
            return Expiry(
                f"Not sent: at {at:%Y-%m-%d %H:%M:%S} UTC it is at or after the offer's end "
                f"({offer.ends_at:%Y-%m-%d %H:%M} UTC) less the "
                f"{margin_minutes}-minute safety margin."
            )
    if include_lateness and campaign.send_at is not None:
        late_by = at - campaign.send_at
        allowed = settings.CAMPAIGN_MAX_LATENESS[campaign.kind]
        if late_by > allowed:
            return Expiry(
                f"Not sent: overdue by {_human(late_by)} (a {campaign.get_kind_display().lower()} "
                f"is not sent more than {_human(allowed)} late)."
            )
    return None


def offer_window_problem(*, offer: Offer, at: datetime) -> str | None:
    """Why the offer is not valid at ``at`` (for the pre-send checks), or None."""
    if not offer.live:
        return f"The offer “{offer.name}” is not published; publish it before sending."
    if at < offer.starts_at:
        return (
            f"The offer “{offer.name}” starts at {offer.starts_at:%Y-%m-%d %H:%M} UTC, after the "
            f"send time {at:%Y-%m-%d %H:%M} UTC: the code would not work yet."
        )
    if at >= offer_send_deadline(offer):
        return (
            f"The offer “{offer.name}” ends at {offer.ends_at:%Y-%m-%d %H:%M} UTC: the send time "
            f"{at:%Y-%m-%d %H:%M} UTC is at or after its end less the safety margin."
        )
    return None


def reader_time_zone(campaign: Campaign) -> zoneinfo.ZoneInfo:
    """The time zone readers of this campaign live in: its series', else the default."""
    series = None
    if campaign.part_id:
        series = campaign.part.series
    elif campaign.pk and campaign.audience == "series":
        series = campaign.audience_series.order_by("pk").first()
    name = series.time_zone if series else settings.CAMPAIGN_DEFAULT_TIME_ZONE
    return zoneinfo.ZoneInfo(name)


def offer_end_phrase(*, ends_at: datetime, tz: zoneinfo.ZoneInfo) -> str:
    """E.g. "Sunday 30 November at 23:59 GMT" (the last minute the code works, local time).

    An offer ending at midnight is stated as 23:59 the day before, which is how people read it.
    """
    local = ends_at.astimezone(tz)
    if local.hour == 0 and local.minute == 0:
        local = local - timedelta(minutes=1)
    return f"{local:%A} {local.day} {local:%B} at {local:%H:%M} {local.tzname()}"


def _human(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} minutes"
    hours = minutes // 60
    return f"{hours} hours" if hours < 48 else f"{hours // 24} days"
