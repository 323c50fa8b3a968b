"""Factories for content: pages are added to the Wagtail tree, offers published by revision.

Also the ``series`` and ``other_series`` fixtures, registered for every test in tests/conftest.py.
A series is made under the series index, which recreates Wagtail's root page when a transactional
test's flush removed it.
"""

from datetime import timedelta

import factory
import pytest
from django.utils import timezone
from wagtail.models import Site

from cms.demo import site_root
from cms.models import Offer, PartPage, SeriesIndexPage, SeriesPage


def series_index() -> SeriesIndexPage:
    index = SeriesIndexPage.objects.first()
    if index is None:
        index = site_root().add_child(instance=SeriesIndexPage(title="Series", slug="series"))
        Site.objects.update_or_create(
            is_default_site=True,
            defaults={"hostname": "testserver", "port": 80, "root_page": index},
        )
    return index


def make_series(*, title="Moving Well", slug=None, live=True, **fields) -> SeriesPage:
    series = series_index().add_child(
        instance=SeriesPage(
            title=title, slug=slug or factory.Faker._get_faker().slug(), live=False, **fields
        )
    )
    if live:
        series.save_revision().publish()
        series.refresh_from_db()
    return series


def make_part(series, *, title=None, live=True, body=None, go_live_at=None, **fields) -> PartPage:
    part = series.add_child(
        instance=PartPage(
            title=title or factory.Faker._get_faker().sentence(nb_words=4).rstrip("."),
            body=body or [("paragraph", "<p>Text of the part.</p>")],
            go_live_at=go_live_at,
            live=False,
            **fields,
        )
    )
    if live or go_live_at:
        part.save_revision().publish()
        part.refresh_from_db()
    return part


class OfferFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Offer

    name = factory.Sequence(lambda n: f"Offer {n}")
    code = factory.Sequence(lambda n: f"code-{n}")
    percent_off = 35
    starts_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    ends_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=6))
    live = True


def publish_offer(offer: Offer) -> Offer:
    offer.save_revision().publish()
    offer.refresh_from_db()
    return offer


def make_offer(*, starts_in=timedelta(hours=-1), ends_in=timedelta(days=2), **fields) -> Offer:
    """A published offer whose window is given relative to now."""
    now = timezone.now()
    offer = OfferFactory(starts_at=now + starts_in, ends_at=now + ends_in, live=False, **fields)
    return publish_offer(offer)


@pytest.fixture
def series(db) -> SeriesPage:
    return make_series(title="Moving Well", slug="moving-well")


@pytest.fixture
def other_series(db) -> SeriesPage:
    return make_series(title="Eating Well", slug="eating-well")
