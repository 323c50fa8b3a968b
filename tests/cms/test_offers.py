from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from cms.models import Offer
from tests.support.factories import OfferFactory

pytestmark = pytest.mark.django_db


def _errors(offer) -> dict:
    with pytest.raises(ValidationError) as raised:
        offer.full_clean()
    return raised.value.message_dict


def test_end_must_come_after_start():
    now = timezone.now()
    offer = OfferFactory.build(starts_at=now, ends_at=now)
    assert _errors(offer)["ends_at"] == ["The offer must end after it starts."]


@pytest.mark.parametrize("percent", [0, 101, 500])
def test_percent_must_be_between_1_and_100(percent):
    errors = _errors(OfferFactory.build(percent_off=percent))
    assert "percent_off" in errors


@pytest.mark.parametrize("code", ["two words", "café", "35%", "code!"])
def test_code_is_letters_digits_and_dashes(code):
    errors = _errors(OfferFactory.build(code=code))
    assert errors["code"] == ["Use letters, digits and dashes only (no spaces or symbols)."]


def test_valid_offer_passes():
    OfferFactory.build(code="Spring-2026", percent_off=100).full_clean()


def test_same_code_may_not_overlap_in_time_case_insensitively():
    now = timezone.now()
    OfferFactory(code="corrective", starts_at=now, ends_at=now + timedelta(days=7))
    clash = OfferFactory.build(
        code="CORRECTIVE", starts_at=now + timedelta(days=6), ends_at=now + timedelta(days=9)
    )
    assert "already used by" in _errors(clash)["code"][0]
    later = OfferFactory.build(
        code="corrective", starts_at=now + timedelta(days=7), ends_at=now + timedelta(days=9)
    )
    later.full_clean()  # touching windows do not overlap


def test_active_means_live_and_inside_the_window():
    now = timezone.now()
    current = OfferFactory(starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=1))
    OfferFactory(starts_at=now + timedelta(hours=1), ends_at=now + timedelta(hours=2))
    OfferFactory(starts_at=now - timedelta(hours=2), ends_at=now)  # ended exactly now
    OfferFactory(live=False, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=1))
    assert list(Offer.objects.active(now)) == [current]
