from datetime import timedelta

import pytest
from django.utils import timezone

from cms.demo import site_root
from pipeline.subscribers.models import Subscriber, SubscriberStatus
from tests.support.factories import OfferFactory, make_series, publish_offer
from tests.support.mailchimp_emulator.fixtures import (  # noqa: F401  (fixtures by name)
    _mailchimp_emulator_server,
    mailchimp_emulator,
)


@pytest.fixture(autouse=True)
def _campaign_settings(settings):
    settings.EMAIL_PROVIDER = "local"
    settings.CAMPAIGN_RETRY_BACKOFF_SECONDS = 0
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def ensure_wagtail_root() -> None:
    """Transactional tests flush the tables, the migration-made root page included."""
    site_root()


@pytest.fixture
def series(db):
    ensure_wagtail_root()
    return make_series(title="Moving Well", slug="moving-well", time_zone="Europe/London")


@pytest.fixture
def other_series(db):
    ensure_wagtail_root()
    return make_series(title="Eating Well", slug="eating-well", time_zone="Europe/London")


def add_subscribers(count: int, *, series=(), status=SubscriberStatus.SUBSCRIBED,
                    prefix="reader") -> list[Subscriber]:
    made = Subscriber.objects.bulk_create(
        [Subscriber(email=f"{prefix}{i}@example.com", status=status) for i in range(count)]
    )
    made = list(Subscriber.objects.filter(email__startswith=prefix).order_by("pk"))
    for one_series in series:
        one_series.list_subscribers.add(*made)
    return made


def make_offer(*, starts_in=timedelta(hours=-1), ends_in=timedelta(days=2), **fields):
    now = timezone.now()
    offer = OfferFactory(starts_at=now + starts_in, ends_at=now + ends_in, live=False, **fields)
    return publish_offer(offer)
