"""Never after the offer's end: the guard at claim time and before the provider call, re-planning
when the offer's window moves, the reader's time zone, and a property test with clock jumps."""

import zoneinfo
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, event, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from cms.models import Offer
from pipeline.campaigns.models import Campaign, CampaignKind, CampaignStatus
from pipeline.campaigns.services.campaigns import campaign_create_discount, campaign_schedule
from pipeline.campaigns.services.claims import campaign_claim
from pipeline.campaigns.services.sending import campaign_send, campaigns_sweep
from pipeline.campaigns.services.timing import offer_end_phrase
from tests.support.factories import make_offer, publish_offer
from tests.support.subscribers import make_subscribers

S = CampaignStatus
pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_offer_end_is_stated_in_the_series_time_zone():
    ends = datetime(2025, 12, 1, 0, 0, tzinfo=UTC)
    london = zoneinfo.ZoneInfo("Europe/London")
    assert offer_end_phrase(ends_at=ends, tz=london) == "Sunday 30 November at 23:59 GMT"
    summer = datetime(2026, 7, 5, 22, 0, tzinfo=UTC)
    assert offer_end_phrase(ends_at=summer, tz=london) == "Sunday 5 July at 23:00 BST"


def _discount(*, ends_in, send_in=timedelta(0), reminder_before=None):
    offer = make_offer(code="corrective", ends_in=ends_in)
    campaign = campaign_create_discount(offer=offer, name="Corrective", send_at=None,
                                        reminder_before=reminder_before)
    answer = campaign_schedule(campaign=campaign, send_at=timezone.now() + send_in,
                               actor="editor")
    return offer, campaign, answer


def test_claimed_after_the_end_less_margin_expires_unsent(series):
    make_subscribers(2)
    with time_machine.travel(T0, tick=False) as clock:
        offer, campaign, answer = _discount(ends_in=timedelta(hours=2), send_in=timedelta(hours=1))
        assert answer.ok
        clock.move_to(offer.ends_at - timedelta(minutes=4))  # inside the 5-minute margin
        assert campaign_send(campaign_id=campaign.pk) == S.EXPIRED
    assert mail.outbox == []
    campaign.refresh_from_db()
    assert "safety margin" in campaign.transitions.last().reason


def test_guard_runs_again_after_the_claim(series):
    """Claimed in time, but the clock passes the end before the provider call: not sent."""
    make_subscribers(2)
    with time_machine.travel(T0, tick=False) as clock:
        offer, campaign, _ = _discount(ends_in=timedelta(hours=1))
        claimed = campaign_claim(campaign_id=campaign.pk, worker="w1", now=timezone.now())
        assert claimed.status == S.CLAIMED
        clock.move_to(offer.ends_at + timedelta(minutes=5))
        assert campaign_send(campaign_id=campaign.pk) == S.EXPIRED
    assert mail.outbox == []


def test_overdue_discount_is_not_sent_late(series):
    make_subscribers(1)
    with time_machine.travel(T0, tick=False) as clock:
        _, campaign, _ = _discount(ends_in=timedelta(days=5))
        clock.move_to(T0 + timedelta(hours=3))  # the workers were down for three hours
        assert campaign_send(campaign_id=campaign.pk) == S.EXPIRED
    assert "overdue" in campaign.transitions.last().reason and mail.outbox == []


def test_schedule_is_refused_when_the_offer_ends_before_the_send(series):
    make_subscribers(1)
    _, campaign, answer = _discount(ends_in=timedelta(hours=1), send_in=timedelta(hours=2))
    assert not answer.ok and "ends at" in answer.message
    campaign.refresh_from_db()
    assert campaign.status == S.DRAFT


def test_moving_the_offer_end_replans_the_reminder_and_cancels_what_no_longer_fits(series):
    make_subscribers(1)
    with time_machine.travel(T0, tick=False):
        offer, campaign, answer = _discount(
            ends_in=timedelta(days=3), send_in=timedelta(days=1),
            reminder_before=timedelta(hours=6),
        )
        assert answer.ok, answer.message
        reminder = campaign.reminders.get()
        assert reminder.status == S.SCHEDULED
        assert reminder.send_at == offer.ends_at - timedelta(hours=6)

        offer.ends_at = offer.ends_at + timedelta(days=1)
        publish_offer(offer)
        reminder.refresh_from_db()
        assert reminder.send_at == offer.ends_at - timedelta(hours=6)

        offer.ends_at = T0 + timedelta(hours=20)  # now ends before the discount's send time
        publish_offer(offer)
        campaign.refresh_from_db()
        reminder.refresh_from_db()
        assert (campaign.status, reminder.status) == (S.CANCELLED, S.CANCELLED)
        assert "now ends" in campaign.transitions.last().reason


class _Clocked:
    """Email backend recording when each message was handed over and its offer's end then."""

    sent: list = []

    def __init__(self, *args, **kwargs):
        pass

    def open(self):
        return True

    def close(self):
        pass

    def send_messages(self, messages):
        for _ in messages:
            _Clocked.sent.append((timezone.now(), Offer.objects.get().ends_at))
        return len(messages)


def minutes(low: int, likely: int, rare: int):
    """Mostly within ``likely`` minutes (where sends happen), sometimes up to ``rare``."""
    return st.one_of(st.integers(low, likely), st.integers(low, likely),
                     st.integers(low, likely), st.integers(low, rare))


@hsettings(max_examples=60, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    offer_minutes=minutes(1, 12 * 60, 3 * 24 * 60),
    send_minutes=minutes(0, 60, 3 * 24 * 60),
    reminder_minutes=st.one_of(st.none(), minutes(1, 6 * 60, 2 * 24 * 60)),
    jumps=st.lists(minutes(0, 90, 36 * 60), min_size=1, max_size=8),
    new_end_minutes=st.one_of(st.none(), minutes(1, 12 * 60, 3 * 24 * 60)),
)
def test_property_no_discount_email_at_or_after_the_offer_end(
    series, settings, offer_minutes, send_minutes, reminder_minutes, jumps, new_end_minutes
):
    settings.EMAIL_BACKEND = f"{__name__}._Clocked"
    _Clocked.sent = []
    with transaction.atomic(), time_machine.travel(T0, tick=False) as clock:
        make_subscribers(2, prefix="prop")
        offer, campaign, _ = _discount(
            ends_in=timedelta(minutes=offer_minutes), send_in=timedelta(minutes=send_minutes),
            reminder_before=timedelta(minutes=reminder_minutes) if reminder_minutes else None,
        )
        for step, jump in enumerate(jumps):
            clock.shift(timedelta(minutes=jump))
            if step == 1 and new_end_minutes is not None:  # an editor moves the end
                offer.refresh_from_db()
                offer.ends_at = T0 + timedelta(minutes=new_end_minutes)
                if offer.ends_at > offer.starts_at:
                    publish_offer(offer)
            for campaign_id in campaigns_sweep():
                campaign_send(campaign_id=campaign_id)
        event(f"emails sent: {'some' if _Clocked.sent else 'none'}")
        for sent_at, ends_at in _Clocked.sent:
            assert sent_at < ends_at - timedelta(minutes=5)
        kinds = set(Campaign.objects.values_list("kind", flat=True))
        assert kinds <= {CampaignKind.DISCOUNT, CampaignKind.LAST_CHANCE}
        transaction.set_rollback(True)
