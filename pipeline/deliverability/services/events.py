"""One home for what a bounce or a complaint does, whichever way it came in.

``event_record`` records a report once (unique per source and key) and, in the same transaction,
applies its rule to the subscriber, through the one service that changes a subscriber's status
(``subscriber_status_change`` / ``subscriber_unsubscribe``, which write the consent row):
- a hard bounce cleans the address: suppressed for every campaign, confirmation and the
  Mailchimp audience (the sync sends cleaned as unsubscribed and never re-adds it);
- a soft bounce cleans it once ``BOUNCE_SOFT_LIMIT`` campaigns soft-bounced within
  ``BOUNCE_SOFT_WINDOW`` (several reports about one delivery count once);
- a complaint unsubscribes it, with a withdrawn-consent row whose note says why.
The subscriber's row is locked first, so two reports about one address are counted in turn.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from pipeline.campaigns.models import Delivery, DeliveryState
from pipeline.deliverability.models import DeliverabilityEvent, EventKind, EventSource
from pipeline.subscribers.email_address import normalize_email
from pipeline.subscribers.models import ConsentSource, Subscriber, SubscriberStatus
from pipeline.subscribers.services import subscriber_status_change, subscriber_unsubscribe

logger = logging.getLogger(__name__)
K = EventKind


@dataclass(frozen=True)
class Report:
    """One bounce or complaint about one recipient, as a source states it."""

    kind: str  # EventKind
    key: str  # unique within its source
    email: str = ""
    delivery_id: int | None = None  # from our VERP return path, when the report carries it
    message_id: str = ""  # our Message-ID of the original, when the report quotes it
    status: str = ""
    diagnostic: str = ""
    occurred_at: datetime | None = None
    extra: dict = field(default_factory=dict)


def _address(email: str) -> str:
    try:
        return normalize_email(email)
    except Exception:  # a report about an address we could never have stored
        return (email or "").strip().lower()


def _find_delivery(report: Report, *, by_address: bool) -> Delivery | None:
    if report.delivery_id is not None:
        found = Delivery.objects.filter(pk=report.delivery_id).first()
        if found:
            return found
    if report.message_id:
        wanted = report.message_id.strip()
        wanted = wanted if wanted.startswith("<") else f"<{wanted}>"
        found = Delivery.objects.filter(message_id=wanted).order_by("-pk").first()
        if found:
            return found
    if report.email and by_address:
        # A webhook that names only the address: its latest delivery (for the campaign report).
        return (Delivery.objects.filter(email=_address(report.email), state=DeliveryState.SENT)
                .order_by("-pk").first())
    return None


def event_record(*, source: str, report: Report, by_address: bool = True
                 ) -> DeliverabilityEvent | None:
    """Record the report and apply its rule, once; None when it was recorded before.

    ``by_address`` False (the bounce mailbox, where anyone can send a message): a report that
    names no delivery of ours by its return path or Message-ID is recorded but changes nobody,
    since the address in it proves nothing."""
    delivery = _find_delivery(report, by_address=by_address)
    if delivery is not None:
        subscriber_id, email = delivery.subscriber_id, delivery.email
    else:
        email = _address(report.email)
        subscriber_id = None
        if by_address:
            subscriber_id = (Subscriber.objects.filter(email=email)
                             .values_list("pk", flat=True).first())
    now = timezone.now()
    with transaction.atomic():
        subscriber = None
        if subscriber_id is not None:
            subscriber = Subscriber.objects.select_for_update().get(pk=subscriber_id)
        try:
            with transaction.atomic():
                event = DeliverabilityEvent.objects.create(
                    kind=report.kind, source=source, key=report.key[:400],
                    subscriber=subscriber, delivery=delivery,
                    campaign_id=delivery.campaign_id if delivery else None,
                    email=email[:254], status=report.status[:32],
                    diagnostic=report.diagnostic[:2000],
                    occurred_at=min(report.occurred_at or now, now),
                )
        except IntegrityError:
            return None  # recorded before: a report read twice, a webhook retried
        event.outcome = _apply_rule(event, subscriber)[:300]
        event.save(update_fields=["outcome"])
    logger.info("%s %s about %s (delivery %s): %s", source, report.kind, email,
                delivery.pk if delivery else None, event.outcome)
    return event


def _soft_bounces(subscriber: Subscriber, event: DeliverabilityEvent) -> int:
    since = event.occurred_at - settings.BOUNCE_SOFT_WINDOW
    recent = DeliverabilityEvent.objects.filter(subscriber=subscriber, kind=K.SOFT_BOUNCE,
                                                occurred_at__gte=since)
    counts = recent.aggregate(deliveries=Count("delivery", distinct=True))
    return counts["deliveries"] + recent.filter(delivery__isnull=True).count()


def _clean(subscriber: Subscriber, event: DeliverabilityEvent, why: str) -> str:
    change = subscriber_status_change(
        subscriber=subscriber, to_status=SubscriberStatus.CLEANED, kind=None,
        source=ConsentSource.FEEDBACK, at=timezone.now(),
        only_from=(SubscriberStatus.PENDING, SubscriberStatus.SUBSCRIBED,
                   SubscriberStatus.UNSUBSCRIBED),
    )
    return f"Cleaned: {why}." if change.applied else "Already cleaned."


def _apply_rule(event: DeliverabilityEvent, subscriber: Subscriber | None) -> str:
    if subscriber is None and event.source == EventSource.MAILBOX:
        return "Names no delivery of ours (no valid return path or Message-ID): nothing changed."
    if subscriber is None:
        return "Not an address on the list: nothing changed."
    if event.kind == K.HARD_BOUNCE:
        return _clean(subscriber, event, "hard bounce")
    if event.kind == K.SOFT_BOUNCE:
        count = _soft_bounces(subscriber, event)
        limit = settings.BOUNCE_SOFT_LIMIT
        days = settings.BOUNCE_SOFT_WINDOW.total_seconds() / 86400
        if count >= limit:
            return _clean(subscriber, event, f"{count} soft bounces within {days:g} days")
        return f"Soft bounce {count} of {limit} within {days:g} days."
    if event.kind == K.COMPLAINT:
        before = subscriber.status
        campaign = f" about campaign {event.campaign_id}" if event.campaign_id else ""
        subscriber_unsubscribe(
            subscriber_id=subscriber.pk, source=ConsentSource.FEEDBACK, at=timezone.now(),
            note=f"Marked our email as spam{campaign} ({event.get_source_display()} complaint "
            "report): unsubscribed.",
        )
        if before in (SubscriberStatus.PENDING, SubscriberStatus.SUBSCRIBED):
            return "Unsubscribed: spam complaint."
        return f"Already {before}: spam complaint noted."
    return "Unknown kind: nothing changed."


def deliverability_counts(*, campaign_id: int) -> dict[str, int]:
    """Bounced (hard, soft) and complained, per campaign: readers, not reports."""
    rows = (DeliverabilityEvent.objects.filter(campaign_id=campaign_id)
            .values("kind").annotate(n=Count("subscriber", distinct=True)))
    counts = {kind.value: 0 for kind in EventKind}
    counts.update({row["kind"]: row["n"] for row in rows})
    return counts
