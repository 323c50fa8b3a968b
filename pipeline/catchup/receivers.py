"""What the catch-up app does when the lower apps signal: a confirmation records the welcome
emails it owes; a series unfollowed stops its catch-up at once; an announcement leaves out the
readers catching up on its series; the confirmation page offers catch-up."""

from django.dispatch import receiver

from pipeline.campaigns.signals import announcement_audience
from pipeline.catchup.services.progress import (
    announcement_skipped_readers,
    catchup_offers,
    catchup_stop,
)
from pipeline.catchup.services.welcome import welcome_record
from pipeline.subscribers.models import Subscriber
from pipeline.subscribers.signals import (
    confirmation_offers,
    preferences_changed,
    series_confirmed,
)
from pipeline.subscribers.tokens import PREFERENCES, make_token, reader_page_url


@receiver(series_confirmed, dispatch_uid="partwork-catchup-welcome")
def _welcome(subscriber_id: int, series_ids, **kwargs):
    welcome_record(subscriber_id=subscriber_id, series_ids=series_ids)


@receiver(preferences_changed, dispatch_uid="partwork-catchup-stop-on-unfollow")
def _unfollowed(subscriber_id: int, removed_ids, **kwargs):
    if removed_ids:
        catchup_stop(subscriber_id=subscriber_id, series_ids=removed_ids,
                     reason="The reader stopped following the series.")


@receiver(announcement_audience, dispatch_uid="partwork-catchup-announcement-audience")
def _skip_catching_up(part_id: int, series_id: int, **kwargs):
    return announcement_skipped_readers(part_id=part_id, series_id=series_id)


@receiver(confirmation_offers, dispatch_uid="partwork-catchup-confirmation-offer")
def _offer(subscriber_id: int, series_ids, **kwargs):
    subscriber = Subscriber.objects.get(pk=subscriber_id)
    token = make_token(PREFERENCES, subscriber_id=subscriber.pk, email=subscriber.email)
    return [
        {"text": f"{offer.series.title} has {offer.earlier_parts} earlier "
                 f"part{'s' if offer.earlier_parts != 1 else ''}: we can send them to you in "
                 f"order, one every {_days(offer.every_days)}.",
         "label": f"Send me the earlier parts of {offer.series.title}",
         "url": reader_page_url("catchup", token=token, slug=offer.series.slug)}
        for offer in catchup_offers(subscriber_id, series_ids)
        if offer.earlier_parts and not offer.state
    ]


def _days(every: int) -> str:
    return "day" if every == 1 else f"{every} days"
