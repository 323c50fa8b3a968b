"""Catch-up in one process (services called directly, the clock moved with time-machine, a real
SMTP sink): the order, the pace, what stops it, and what a part going live meanwhile does."""

import email
import re
from datetime import date, datetime, time, timedelta
from email import policy

import pytest
import time_machine
from django.core import mail

from pipeline.campaigns.models import Campaign, Delivery
from pipeline.campaigns.services.sending import campaign_send
from pipeline.catchup.models import (
    CatchupDelivery,
    CatchupProgress,
    DeliveryState,
    ProgressState,
)
from pipeline.catchup.services.progress import catchup_start
from pipeline.catchup.services.step import catchup_step
from pipeline.subscribers.models import SubscriberStatus
from pipeline.subscribers.services import subscriber_stop_series, subscriber_unsubscribe
from pipeline.subscribers.tokens import address_digest
from tests.support.catchup import (
    LONDON,
    OrderedHandler,
    catchup_subject,
    morning,
    series_with_parts,
)
from tests.support.smtp_sink import SmtpSink, use_smtp_server
from tests.support.subscribers import make_member
from tests.support.workers import tasks_run_on_commit

pytestmark = pytest.mark.django_db

# Tomorrow afternoon: after the parts were published (now), before the first catch-up morning.
JOIN = datetime.combine(date.today() + timedelta(days=1), time(14, 0), tzinfo=LONDON)


@pytest.fixture
def sink(settings):
    with SmtpSink(OrderedHandler()) as running:
        use_smtp_server(settings, running.port)
        yield running.handler


def _day(n: int):
    return morning(JOIN.date() + timedelta(days=n))


def _run_day(n: int):
    with time_machine.travel(_day(n), tick=False):
        return catchup_step()


def test_earlier_parts_arrive_once_each_in_order_one_per_day(sink):
    series, parts = series_with_parts()
    ann = make_member("ann@example.com", series)
    with time_machine.travel(JOIN, tick=False):
        progress = catchup_start(subscriber_id=ann.pk, series_id=series.pk)
    assert progress.next_due_at == morning(JOIN.date() + timedelta(days=1), 0)
    with time_machine.travel(JOIN + timedelta(hours=1), tick=False):
        assert catchup_step().sent == 0  # not due before the series' release time
    for day in (1, 2, 3):
        assert _run_day(day).sent == 1
        assert _run_day(day).sent == 0  # a second step the same day sends nothing
    assert _run_day(4).level == 1
    assert sink.subjects("ann@example.com") == [catchup_subject(p) for p in parts[:3]]
    progress.refresh_from_db()
    assert progress.state == ProgressState.LEVEL
    assert set(CatchupDelivery.objects.values_list("state", flat=True)) == {DeliveryState.SENT}


def test_a_part_going_live_while_catching_up_joins_the_end_of_the_queue(sink, settings):
    series, parts = series_with_parts()
    ann = make_member("ann@example.com", series)
    make_member("bob@example.com", series)
    with time_machine.travel(JOIN, tick=False):
        catchup_start(subscriber_id=ann.pk, series_id=series.pk)
    _run_day(1)
    # Part 5 goes live that afternoon; its announcement goes out (tasks run as workers would).
    with time_machine.travel(_day(1) + timedelta(hours=5), tick=False), tasks_run_on_commit():
        parts[4].save_revision().publish()
    campaign = Campaign.objects.get(part=parts[4])
    if campaign.status != "sent":
        campaign_send(campaign_id=campaign.pk)
    recipients = set(Delivery.objects.filter(campaign=campaign).values_list("email", flat=True))
    assert recipients == {"bob@example.com"}  # Ann gets it through her queue instead
    for day in (2, 3, 4, 5):
        _run_day(day)
    subjects = sink.subjects("ann@example.com")
    assert subjects == [catchup_subject(p) for p in (parts[0], parts[1], parts[2], parts[4])]
    assert CatchupProgress.objects.get(subscriber=ann).state == ProgressState.LEVEL


def test_unfollowing_midway_stops_it_at_once(sink):
    series, parts = series_with_parts()
    ann = make_member("ann@example.com", series)
    with time_machine.travel(JOIN, tick=False):
        catchup_start(subscriber_id=ann.pk, series_id=series.pk)
    _run_day(1)
    subscriber_stop_series(subscriber_id=ann.pk, address_digest=address_digest(ann.email),
                           series_id=series.pk)
    for day in (2, 3, 4):
        _run_day(day)
    assert sink.subjects("ann@example.com") == [catchup_subject(parts[0])]
    assert CatchupProgress.objects.get(subscriber=ann).state == ProgressState.STOPPED
    assert ann.consents.filter(kind="preferences").count() == 1


def test_unsubscribing_stops_it_and_a_part_no_longer_live_is_never_sent(sink):
    series, parts = series_with_parts()
    ann, bob = make_member("ann@example.com", series), make_member("bob@example.com", series)
    with time_machine.travel(JOIN, tick=False):
        catchup_start(subscriber_id=ann.pk, series_id=series.pk)
        catchup_start(subscriber_id=bob.pk, series_id=series.pk)
    parts[1].unpublish()
    _run_day(1)
    subscriber_unsubscribe(subscriber_id=ann.pk)
    for day in (2, 3, 4):
        _run_day(day)
    assert sink.subjects("ann@example.com") == [catchup_subject(parts[0])]
    assert sink.subjects("bob@example.com") == [catchup_subject(parts[0]),
                                                 catchup_subject(parts[2])]
    ann.refresh_from_db()
    assert ann.status == SubscriberStatus.UNSUBSCRIBED
    assert CatchupProgress.objects.get(subscriber=ann).state == ProgressState.STOPPED
    assert not mail.outbox


def test_catchup_email_carries_the_personal_footer_and_one_click_header(sink, settings):
    series, parts = series_with_parts(live=2)
    ann = make_member("ann@example.com", series)
    with time_machine.travel(JOIN, tick=False):
        catchup_start(subscriber_id=ann.pk, series_id=series.pk)
    _run_day(1)
    (raw,) = sink.raw["ann@example.com"]
    message = email.message_from_bytes(raw, policy=policy.default)
    assert str(message["Subject"]) == catchup_subject(parts[0])
    assert str(message["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
    assert "/api/subscribers/unsubscribe/" in str(message["List-Unsubscribe"])
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    preferences = re.search(r"Manage preferences: (\S+)", text).group(1)
    stop = re.search(r"Stop emails about Moving Well: (\S+)", text).group(1)
    assert preferences.startswith(settings.BASE_URL + "/preferences/")
    assert stop == preferences + "stop/moving-well/"
    assert f'href="{preferences}"' in html and f'href="{stop}"' in html
    assert "*|" not in text + html
