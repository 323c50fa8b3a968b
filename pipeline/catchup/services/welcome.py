"""The welcome email after a confirmation, once per reader and series.

The rows are written in the confirmation's own transaction (``welcome_record``, from the
``series_confirmed`` signal), so a lost task message only delays the email: the catch-up beat
task sweeps rows left pending. Sending claims the row (pending → sending) in one conditional
UPDATE, hands the message over, and records the outcome; a row left ``sending`` by a crash
becomes ``uncertain`` after CATCHUP_SENDING_LEASE, never resent.
Only series with a welcome email set up (and enabled) in the admin send one.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from cms.models import SeriesPage
from pipeline.catchup.models import DeliveryState, WelcomeDelivery, WelcomeEmail
from pipeline.catchup.services.emails import welcome_email
from pipeline.catchup.services.progress import catchup_offers, live_parts
from pipeline.catchup.signals import welcome_due
from pipeline.providers.base import ProviderError, get_provider
from pipeline.subscribers.models import Subscriber, SubscriberStatus

logger = logging.getLogger(__name__)
D = DeliveryState
SWEEP_GRACE = timedelta(minutes=2)


def welcome_record(*, subscriber_id: int, series_ids) -> list[int]:
    """Inside the confirmation's transaction: a pending welcome per series that has one."""
    wanted = list(WelcomeEmail.objects.filter(series_id__in=list(series_ids), enabled=True)
                  .values_list("series_id", flat=True))
    now = timezone.now()
    WelcomeDelivery.objects.bulk_create(
        [WelcomeDelivery(subscriber_id=subscriber_id, series_id=series_id, created_at=now,
                         updated_at=now) for series_id in wanted],
        ignore_conflicts=True,
    )
    ids = list(WelcomeDelivery.objects.filter(subscriber_id=subscriber_id, series_id__in=wanted,
                                              state=D.PENDING).values_list("pk", flat=True))
    for delivery_id in ids:
        welcome_due.send(sender=WelcomeDelivery, delivery_id=delivery_id)
    return ids


def welcome_send(*, delivery_id: int) -> str:
    now = timezone.now()
    if not WelcomeDelivery.objects.filter(pk=delivery_id, state=D.PENDING).update(
            state=D.SENDING, updated_at=now):
        return "not-due"
    delivery = WelcomeDelivery.objects.select_related("subscriber", "series").get(pk=delivery_id)
    row = WelcomeDelivery.objects.filter(pk=delivery_id, state=D.SENDING)
    subscriber: Subscriber = delivery.subscriber
    series: SeriesPage = delivery.series
    if (subscriber.status != SubscriberStatus.SUBSCRIBED
            or not subscriber.series.filter(pk=series.pk).exists()):
        row.update(state=D.SKIPPED, updated_at=timezone.now(),
                   error="The reader no longer follows the series.")
        return D.SKIPPED
    offers = catchup_offers(subscriber.pk, [series.pk])
    message = welcome_email(subscriber=subscriber, series=series,
                            latest=live_parts(series.pk).last(),
                            offer=offers[0] if offers else None)
    try:
        get_provider().send_transactional(message)
    except ProviderError as error:
        state = D.PENDING if error.retryable else D.FAILED
        row.update(state=state, updated_at=timezone.now(), error=str(error)[:500])
        logger.warning("welcome %s not sent (%s): %s", delivery_id, state, error)
        return state
    row.update(state=D.SENT, updated_at=timezone.now())
    return D.SENT


def welcomes_due(*, limit: int = 500) -> list[int]:
    """Pending welcomes a lost message left behind; marks crashed sends uncertain."""
    now = timezone.now()
    WelcomeDelivery.objects.filter(
        state=D.SENDING, updated_at__lt=now - settings.CATCHUP_SENDING_LEASE,
    ).update(state=D.UNCERTAIN, updated_at=now, error="In flight when a worker stopped; "
             "not resent.")
    return list(WelcomeDelivery.objects.filter(state=D.PENDING, updated_at__lt=now - SWEEP_GRACE)
                .order_by("pk").values_list("pk", flat=True)[:limit])
