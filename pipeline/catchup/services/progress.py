"""Starting, stopping and reading a reader's catch-up on one series.

The queue: at the start, every live public part numbered before the series' latest live part
(the latest is the one the reader joined at: the welcome email shows it), less those the reader
already has (a catch-up row, a local announcement delivery, or an announcement sent at Mailchimp
while they followed the series: subscribers/following.py). While the reader catches up, a
part that goes live is left out of its announcement for them and joins the end of their queue
(step.py appends it), so they read the series in order and never get it twice. Once every queued
part is sent the reader is ``level`` and gets announcements as usual.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from cms.models import PartPage, SeriesPage
from pipeline.campaigns.models import Campaign, CampaignKind, CampaignStatus, Delivery
from pipeline.campaigns.models import DeliveryState as CampaignDeliveryState
from pipeline.catchup.models import (
    CatchupDelivery,
    CatchupProgress,
    DeliveryState,
    ProgressState,
)
from pipeline.catchup.services.pace import series_pace
from pipeline.providers.mailchimp import MailchimpProvider
from pipeline.subscribers.following import following_since
from pipeline.subscribers.models import Subscriber, SubscriberStatus

# Local announcement deliveries that count as "the reader has this part" (sent, or maybe sent).
_DELIVERED = (CampaignDeliveryState.SENT, CampaignDeliveryState.SENDING,
              CampaignDeliveryState.UNCERTAIN, CampaignDeliveryState.PENDING)

# An announcement campaign in these never reached anyone; any other may have.
_NOT_SENT = (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED, CampaignStatus.EXPIRED,
             CampaignStatus.CANCELLED, CampaignStatus.FAILED)


class CatchupRefused(ValueError):
    """``str()`` is a message for the reader."""


@dataclass(frozen=True)
class Offer:
    series: SeriesPage
    earlier_parts: int
    every_days: int
    state: str  # "" (never started), or the progress state


def live_parts(series_id: int) -> QuerySet[PartPage]:
    return PartPage.objects.live().public().filter(series_id=series_id).order_by("part_number")


def parts_received(subscriber: Subscriber, series: SeriesPage, part_ids) -> set[int]:
    """Parts the reader already has: by catch-up, by a local announcement, or by an
    announcement Mailchimp was asked to send while the reader followed the series (Mailchimp
    keeps no per-reader record; a reader it left out, catching up, has a catch-up row)."""
    caught = CatchupDelivery.objects.filter(subscriber=subscriber, part_id__in=part_ids)
    announced = Delivery.objects.filter(subscriber=subscriber, state__in=_DELIVERED,
                                        campaign__part_id__in=part_ids)
    received = (set(caught.values_list("part_id", flat=True))
                | set(announced.values_list("campaign__part_id", flat=True)))
    since = following_since(subscriber, series.slug)
    if since is not None:
        received |= set(Campaign.objects.filter(
            kind=CampaignKind.ANNOUNCEMENT, provider=MailchimpProvider.name, part_id__in=part_ids,
            send_requested_at__gte=since,
        ).exclude(status__in=_NOT_SENT).values_list("part_id", flat=True))
    return received


def parts_received_by(subscriber_ids, part_ids) -> set[tuple[int, int]]:
    """(subscriber, part) pairs already delivered, for many readers at once (two queries)."""
    caught = CatchupDelivery.objects.filter(subscriber_id__in=subscriber_ids,
                                            part_id__in=part_ids)
    announced = Delivery.objects.filter(subscriber_id__in=subscriber_ids, state__in=_DELIVERED,
                                        campaign__part_id__in=part_ids)
    return (set(caught.values_list("subscriber_id", "part_id"))
            | set(announced.values_list("subscriber_id", "campaign__part_id")))


def catchup_queue_for(subscriber_id: int, series_id: int) -> list[PartPage]:
    """The earlier parts a reader would get if they started catch-up now, in order."""
    parts = list(live_parts(series_id))
    earlier = parts[:-1]  # the latest is the part they joined at
    if not earlier:
        return []
    have = parts_received(Subscriber.objects.get(pk=subscriber_id), earlier[0].series,
                          [p.pk for p in earlier])
    return [part for part in earlier if part.pk not in have]


def catchup_offers(subscriber_id: int, series_ids) -> list[Offer]:
    """What the reader may catch up on among ``series_ids`` (only series with catch-up on)."""
    progress = dict(CatchupProgress.objects.filter(subscriber_id=subscriber_id,
                                                   series_id__in=series_ids)
                    .values_list("series_id", "state"))
    offers = []
    for series in SeriesPage.objects.live().public().filter(pk__in=series_ids).order_by("title"):
        pace = series_pace(series.pk)
        if not pace.enabled:
            continue
        queue = catchup_queue_for(subscriber_id, series.pk)
        state = progress.get(series.pk, "")
        if queue or state == ProgressState.ACTIVE:
            offers.append(Offer(series=series, earlier_parts=len(queue),
                                every_days=pace.every_days, state=state))
    return offers


def catchup_start(*, subscriber_id: int, series_id: int, at: datetime | None = None
                  ) -> CatchupProgress:
    """Start (or restart) catch-up on a series the reader follows. Idempotent while active."""
    now = at or timezone.now()
    pace = series_pace(series_id)
    if not pace.enabled:
        raise CatchupRefused("This series does not offer catch-up.")
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().get(pk=subscriber_id)
        if subscriber.status != SubscriberStatus.SUBSCRIBED:
            raise CatchupRefused("Only a confirmed subscription can catch up.")
        if not subscriber.series.filter(pk=series_id).exists():
            raise CatchupRefused("Follow the series first, then catch up on it.")
        progress, created = CatchupProgress.objects.get_or_create(
            subscriber_id=subscriber_id, series_id=series_id,
            defaults={"started_at": now, "state": ProgressState.ACTIVE},
        )
        if not created and progress.state == ProgressState.ACTIVE:
            return progress
        queue = catchup_queue_for(subscriber_id, series_id)
        CatchupDelivery.objects.bulk_create(
            [CatchupDelivery(progress=progress, subscriber_id=subscriber_id, part=part,
                             position=part.part_number, updated_at=now) for part in queue],
            ignore_conflicts=True,
        )
        # A restart takes back what an earlier stop skipped (never what went out).
        CatchupDelivery.objects.filter(progress=progress, state=DeliveryState.SKIPPED).update(
            state=DeliveryState.PENDING, updated_at=now, error="")
        pending = progress.deliveries.filter(state=DeliveryState.PENDING).exists()
        progress.state = ProgressState.ACTIVE if pending else ProgressState.LEVEL
        progress.started_at = now
        progress.next_due_at = pace.first_due(now) if pending else None
        progress.finished_at = None if pending else now
        progress.note = "" if pending else "Nothing earlier to send."
        progress.save()
    return progress


def catchup_stop(*, subscriber_id: int, series_ids, reason: str,
                 at: datetime | None = None) -> int:
    """Stop catch-up at once (unfollow, unsubscribe, or the reader's choice): the progress is
    stopped and the queued parts skipped, in one transaction. Returns the progresses stopped."""
    now = at or timezone.now()
    with transaction.atomic():
        stopped = list(CatchupProgress.objects.select_for_update().filter(
            subscriber_id=subscriber_id, series_id__in=list(series_ids),
            state=ProgressState.ACTIVE).values_list("pk", flat=True))
        CatchupProgress.objects.filter(pk__in=stopped).update(
            state=ProgressState.STOPPED, next_due_at=None, finished_at=now, note=reason[:300])
        CatchupDelivery.objects.filter(progress_id__in=stopped, state=DeliveryState.PENDING
                                       ).update(state=DeliveryState.SKIPPED, updated_at=now,
                                                error=reason[:500])
    return len(stopped)


def announcement_skipped_readers(*, part_id: int, series_id: int) -> QuerySet:
    """Subscriber ids an announcement of ``part_id`` leaves out: readers catching up on its
    series (the part joins the end of their queue) and readers who got it by catch-up."""
    return Subscriber.objects.filter(
        Q(catchup_progress__series_id=series_id,
          catchup_progress__state=ProgressState.ACTIVE)
        | Q(catchup_deliveries__part_id=part_id)
    ).values("pk")


def catchup_figures(*, since: timedelta, now: datetime | None = None) -> dict[str, int]:
    """For /metrics: readers catching up, those of them due now (a step that keeps up leaves
    none due for long), and catch-up emails a crash left uncertain within ``since``."""
    now = now or timezone.now()
    active = CatchupProgress.objects.filter(state=ProgressState.ACTIVE)
    return {
        "readers": active.count(),
        "readers_due": active.filter(next_due_at__lte=now).count(),
        "uncertain": CatchupDelivery.objects.filter(
            state=DeliveryState.UNCERTAIN, updated_at__gte=now - since).count(),
    }
