"""Catch-up with the audience at Mailchimp, in one process (services called directly, the clock
moved with time-machine), through the real client over HTTP against the emulator: one campaign
per (series, part, day) to a static segment, exactly once through faults, and the announcement of
a part going live meanwhile leaving the catching-up readers out."""

from datetime import date, datetime, time, timedelta

import pytest
import time_machine

from pipeline.campaigns.models import Campaign
from pipeline.campaigns.services.announcements import announcement_campaign_create
from pipeline.campaigns.services.sending import campaign_send
from pipeline.catchup.models import (
    CampaignStage,
    CatchupCampaign,
    CatchupDelivery,
    CatchupProgress,
    DeliveryState,
    ProgressState,
)
from pipeline.catchup.services.progress import catchup_start
from pipeline.catchup.services.step import catchup_step
from pipeline.publishing.models import Announcement
from pipeline.subscribers.services import (
    subscriber_confirm,
    subscriber_stop_series,
    subscriber_subscribe,
    subscriber_update_preferences,
)
from pipeline.subscribers.tokens import address_digest
from tests.support.catchup import LONDON, catchup_subject, morning, series_with_parts
from tests.support.mailchimp import (
    add_members,
    map_series_to_interest,
    real_sends,
    route_count,
    use_emulator,
)
from tests.support.subscribers import make_member, make_subscribers

pytestmark = pytest.mark.django_db

JOIN = datetime.combine(date.today() + timedelta(days=1), time(14, 0), tzinfo=LONDON)
SEGMENT_MEMBERS = "POST /lists/{list_id}/segments/{segment_id}"


@pytest.fixture
def emulator(settings, mailchimp_emulator):
    use_emulator(settings, mailchimp_emulator)
    return mailchimp_emulator


@pytest.fixture
def moving_well(emulator):
    """Six parts, four live; the series' Mailchimp interest."""
    series, parts = series_with_parts()
    interest = map_series_to_interest(emulator, series)
    return series, parts, interest


def _readers(emulator, interest, series, *emails):
    """Followers of the series here and at Mailchimp, catching up from JOIN."""
    add_members(emulator, list(emails), interests=[interest.interest_id])
    readers = [make_member(address, series) for address in emails]
    with time_machine.travel(JOIN, tick=False):
        for reader in readers:
            catchup_start(subscriber_id=reader.pk, series_id=series.pk)
    return readers


def _run_day(n: int):
    with time_machine.travel(morning(JOIN.date() + timedelta(days=n)), tick=False):
        return catchup_step()


def _received(emulator, address: str) -> list[str]:
    return [send["subject"] for send in real_sends(emulator) if address in send["recipients"]]


def _announce(part) -> Campaign:
    announcement = Announcement.objects.get(part=part)
    campaign = announcement_campaign_create(announcement_id=announcement.pk)
    campaign_send(campaign_id=campaign.pk)
    campaign.refresh_from_db()
    return campaign


def test_one_campaign_per_part_and_day_to_the_readers_due_in_order_then_announcements(
        emulator, moving_well):
    series, parts, interest = moving_well
    _readers(emulator, interest, series, "ann@example.com", "bob@example.com")
    for day in (1, 2, 3):
        assert _run_day(day).sent == 2
        assert _run_day(day).sent == 0  # a second step the same day sends nothing
    assert _run_day(4).level == 2
    sends = real_sends(emulator)
    assert [send["subject"] for send in sends] == [catchup_subject(p) for p in parts[:3]]
    for send in sends:  # one campaign to a static segment of the two readers
        assert sorted(send["recipients"]) == ["ann@example.com", "bob@example.com"]
        assert set(send["segment_opts"]) == {"saved_segment_id"}
        assert "*|UNSUB|*" in send["html"]
    campaigns = list(CatchupCampaign.objects.order_by("day"))
    assert [(c.part_id, c.stage) for c in campaigns] == [
        (p.pk, CampaignStage.SENT) for p in parts[:3]]
    assert [c.day for c in campaigns] == [JOIN.date() + timedelta(days=n) for n in (1, 2, 3)]
    rows = CatchupDelivery.objects.all()
    assert {(r.state, r.mailchimp_campaign_id == r.campaign.provider_campaign_id)
            for r in rows} == {(DeliveryState.SENT, True)}

    # Level: part 5's announcement reaches them as usual, through its interest.
    parts[4].save_revision().publish()
    campaign = _announce(parts[4])
    assert campaign.status == "sent" and campaign.provider_exclusion_segment_id is None
    assert _received(emulator, "ann@example.com")[-1] == campaign.sent_subject


def test_a_part_going_live_while_catching_up_leaves_them_out_of_its_announcement(
        emulator, moving_well):
    series, parts, interest = moving_well
    ann, = _readers(emulator, interest, series, "ann@example.com")
    add_members(emulator, ["bob@example.com"], interests=[interest.interest_id])
    make_member("bob@example.com", series)  # follows, not catching up
    _run_day(1)
    with time_machine.travel(morning(JOIN.date() + timedelta(days=1)) + timedelta(hours=5),
                             tick=False):
        parts[4].save_revision().publish()
        campaign = _announce(parts[4])
    assert campaign.status == "sent" and campaign.provider_exclusion_segment_id
    (announced,) = real_sends(emulator, campaign.provider_campaign_id)
    assert announced["recipients"] == ["bob@example.com"]  # Ann gets it through her queue
    assert {"condition_type": "StaticSegment", "field": "static_segment", "op": "static_not",
            "value": campaign.provider_exclusion_segment_id} in announced["segment_opts"][
        "conditions"]
    for day in (2, 3, 4, 5):
        _run_day(day)
    assert _received(emulator, "ann@example.com") == [
        catchup_subject(p) for p in (parts[0], parts[1], parts[2], parts[4])]
    assert CatchupProgress.objects.get(subscriber=ann).state == ProgressState.LEVEL


def test_unfollowing_midway_stops_it_and_a_part_no_longer_live_is_never_sent(
        emulator, moving_well):
    series, parts, interest = moving_well
    ann, bob = _readers(emulator, interest, series, "ann@example.com", "bob@example.com")
    _run_day(1)
    parts[1].unpublish()
    subscriber_stop_series(subscriber_id=ann.pk, address_digest=address_digest(ann.email),
                           series_id=series.pk)
    for day in (2, 3, 4):
        _run_day(day)
    assert _received(emulator, "ann@example.com") == [catchup_subject(parts[0])]
    assert _received(emulator, "bob@example.com") == [catchup_subject(parts[0]),
                                                      catchup_subject(parts[2])]
    assert not CatchupCampaign.objects.filter(part=parts[1]).exists()
    assert CatchupDelivery.objects.get(subscriber=bob, part=parts[1]).state == \
        DeliveryState.SKIPPED
    assert CatchupProgress.objects.get(subscriber=ann).state == ProgressState.STOPPED


def test_a_part_unpublished_between_the_segment_and_the_send_is_not_sent(
        emulator, moving_well):
    """The campaign was filled, then Mailchimp failed (a 503 on create); by the next step the
    part is no longer live: nothing goes out and the readers move on to the next part."""
    series, parts, interest = moving_well
    ann, = _readers(emulator, interest, series, "ann@example.com")
    emulator.control.add_fault("5xx", path=r"/campaigns$", method="POST", count=1, status=503)
    assert _run_day(1).sent == 0
    stuck = CatchupCampaign.objects.get()
    assert stuck.stage == CampaignStage.FILLED and stuck.segment_id and "503" in stuck.error
    parts[0].unpublish()
    with time_machine.travel(morning(JOIN.date() + timedelta(days=1), minutes=2), tick=False):
        assert catchup_step().sent == 1  # cancelled, and part 2 goes out the same day
    stuck.refresh_from_db()
    assert stuck.stage == CampaignStage.CANCELLED
    assert _received(emulator, "ann@example.com") == [catchup_subject(parts[1])]
    assert CatchupDelivery.objects.get(subscriber=ann, part=parts[0]).state == \
        DeliveryState.SKIPPED


@pytest.mark.parametrize("fault", [
    # The segment's members call times out: repeated at the next step (adding twice is harmless).
    {"kind": "timeout", "path": r"/segments/\d+$", "method": "POST", "hang_seconds": 0},
    # Create applied, answer lost: a second campaign may be made, never a second send.
    {"kind": "answer-lost", "path": r"/campaigns$", "method": "POST"},
    # The send applied, its answer lost: read back, not resent.
    {"kind": "answer-lost", "path": r"/actions/send$", "method": "POST"},
    # The send not applied: tried again, once.
    {"kind": "5xx", "path": r"/actions/send$", "method": "POST", "status": 503},
])
def test_a_fault_at_any_stage_leaves_one_send(emulator, moving_well, fault):
    series, parts, interest = moving_well
    _readers(emulator, interest, series, "ann@example.com", "bob@example.com")
    emulator.control.add_fault(count=1, **fault)
    first = _run_day(1)
    with time_machine.travel(morning(JOIN.date() + timedelta(days=1), minutes=5), tick=False):
        second = catchup_step()
    assert first.sent + second.sent == 2
    (send,) = real_sends(emulator)
    assert send["subject"] == catchup_subject(parts[0])
    assert sorted(send["recipients"]) == ["ann@example.com", "bob@example.com"]
    assert set(CatchupDelivery.objects.filter(part=parts[0]).values_list("state", flat=True)
               ) == {DeliveryState.SENT}
    assert [rule["fired"] for rule in emulator.control.faults()] == [1]


def test_a_reader_mailchimp_does_not_know_yet_waits_for_the_next_days_campaign(
        emulator, moving_well):
    series, parts, interest = moving_well
    _readers(emulator, interest, series, "ann@example.com")
    late = make_member("new@example.com", series)  # not pushed to Mailchimp yet
    with time_machine.travel(JOIN, tick=False):
        catchup_start(subscriber_id=late.pk, series_id=series.pk)
    _run_day(1)
    row = CatchupDelivery.objects.get(subscriber=late, part=parts[0])
    assert row.state == DeliveryState.PENDING and row.campaign is None
    assert "Not at Mailchimp yet" in row.error
    add_members(emulator, ["new@example.com"], interests=[interest.interest_id])  # the sync
    _run_day(2)
    assert _received(emulator, "new@example.com") == [catchup_subject(parts[0])]
    assert _received(emulator, "ann@example.com") == [catchup_subject(p) for p in parts[:2]]


def test_many_readers_are_added_to_the_segment_500_at_a_time(emulator, moving_well):
    series, parts, interest = moving_well
    readers = make_subscribers(501, series=[series])
    add_members(emulator, [r.email for r in readers], interests=[interest.interest_id])
    with time_machine.travel(JOIN, tick=False):
        for reader in readers:
            catchup_start(subscriber_id=reader.pk, series_id=series.pk)
    assert _run_day(1).sent == 501
    (send,) = real_sends(emulator)
    assert send["recipient_count"] == 501
    assert route_count(emulator, SEGMENT_MEMBERS) == 2


def test_a_campaign_stuck_at_mailchimp_holds_the_readers_next_part_back(emulator, moving_well):
    """Mailchimp fails to create day 1's campaign until day 3 (a step tries unfinished
    campaigns before and after planning): the reader gets nothing new on day 2 (part 1 is still
    on its way), then part 1 and part 2 in order on day 3."""
    series, parts, interest = moving_well
    _readers(emulator, interest, series, "ann@example.com")
    emulator.control.add_fault("5xx", path=r"/campaigns$", method="POST", count=3, status=503)
    assert _run_day(1).sent == 0
    assert _run_day(2).sent == 0
    assert not CatchupCampaign.objects.filter(part=parts[1]).exists()
    assert _run_day(3).sent == 2  # day 1's campaign, then part 2 that morning
    assert _run_day(4).sent == 1
    assert _received(emulator, "ann@example.com") == [catchup_subject(p) for p in parts[:3]]


def test_parts_announced_at_mailchimp_while_following_are_not_caught_up_again(
        emulator, moving_well):
    """Mailchimp keeps no per-reader record of an announcement, so the consent trail says who
    had it: Ann follows from before part 2's announcement, so catching up sends her part 1
    only; Bob stopped the series over parts 2 and 3 and came back, so he gets 1 to 3."""
    series, parts, interest = moving_well
    start = JOIN - timedelta(days=10)

    def on_day(n):
        return time_machine.travel(start + timedelta(days=n), tick=False)

    def follow(address):
        outcome = subscriber_subscribe(email=address, series_slugs=[series.slug],
                                       consent_text="Yes", form_id="test")
        return subscriber_confirm(subscriber_id=outcome.subscriber.pk,
                                  address_digest=address_digest(outcome.subscriber.email),
                                  consent_id=outcome.consent.pk)

    def set_series(reader, slugs):
        subscriber_update_preferences(subscriber_id=reader.pk,
                                      address_digest=address_digest(reader.email),
                                      series_slugs=slugs)

    add_members(emulator, ["ann@example.com", "bob@example.com"],
                interests=[interest.interest_id])
    with on_day(0):
        _announce(parts[0])  # before either follows
    with on_day(1):
        ann, bob = follow("ann@example.com"), follow("bob@example.com")
    with on_day(2):
        set_series(bob, [])
        _announce(parts[1])
    with on_day(3):
        _announce(parts[2])
    with on_day(4):
        set_series(bob, [series.slug])
    with time_machine.travel(JOIN, tick=False):
        for reader in (ann, bob):
            catchup_start(subscriber_id=reader.pk, series_id=series.pk)

    def queue(reader):
        return list(CatchupDelivery.objects.filter(subscriber=reader)
                    .order_by("position").values_list("part_id", flat=True))

    assert queue(ann) == [parts[0].pk]
    assert queue(bob) == [p.pk for p in parts[:3]]
    for day in (1, 2, 3):
        _run_day(day)
    assert _received(emulator, "ann@example.com").count(catchup_subject(parts[0])) == 1
    assert catchup_subject(parts[1]) not in _received(emulator, "ann@example.com")
    assert [s for s in _received(emulator, "bob@example.com") if s.startswith("Catching up")] \
        == [catchup_subject(p) for p in parts[:3]]
