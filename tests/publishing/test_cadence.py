"""Release cadence across the Europe/London clock changes (2026: forward 29 Mar, back 25 Oct)."""

import zoneinfo
from datetime import UTC, date, datetime, time

import pytest
import time_machine
from django.core.exceptions import ValidationError

from cms.models import PartPage
from pipeline.publishing.models import ReleaseCadence, ReleaseQueueEntry, SkippedReleaseDate
from pipeline.publishing.services.cadence import (
    cadence_slots,
    in_dst_gap,
    release_plan,
    series_replan,
    slot_at,
)
from pipeline.publishing.services.sweep import publishing_sweep
from tests.support.factories import make_part, make_series

pytestmark = pytest.mark.django_db
LONDON = zoneinfo.ZoneInfo("Europe/London")


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def weekly(series, *, at=time(9, 0), **days):
    days = days or {"monday": True}
    return ReleaseCadence.objects.create(series=series, release_time=at, **days)


def queue(*parts, pinned=None):
    return [ReleaseQueueEntry.objects.create(part=p, pinned_date=pinned) for p in parts]


def scheduled_at(part):
    revision = part.revisions.filter(approved_go_live_at__isnull=False).first()
    return revision.approved_go_live_at if revision else None


def test_monday_0900_london_moves_an_hour_in_utc_when_the_clocks_go_forward():
    cadence = weekly(make_series())
    slots = cadence_slots(cadence, after=utc(2026, 3, 20, 0, 0))
    assert [next(slots) for _ in range(3)] == [
        utc(2026, 3, 23, 9, 0),  # GMT
        utc(2026, 3, 30, 8, 0),  # BST
        utc(2026, 4, 6, 8, 0),
    ]


def test_every_n_days_keeps_local_time_across_the_clocks_going_back():
    series = make_series()
    cadence = ReleaseCadence.objects.create(
        series=series,
        kind=ReleaseCadence.Kind.EVERY_N_DAYS,
        every_n_days=3,
        starting_on=date(2026, 10, 20),
        release_time=time(18, 30),
    )
    slots = list(zip(range(3), cadence_slots(cadence, after=utc(2026, 10, 21, 0, 0)), strict=False))
    assert [s for _, s in slots] == [
        utc(2026, 10, 23, 17, 30),  # BST
        utc(2026, 10, 26, 18, 30),  # GMT
        utc(2026, 10, 29, 18, 30),
    ]
    assert {s.astimezone(LONDON).time() for _, s in slots} == {time(18, 30)}


def test_dst_gap_and_ambiguous_times():
    assert in_dst_gap(day=date(2026, 3, 29), at=time(1, 30), tz=LONDON)
    assert not in_dst_gap(day=date(2026, 3, 30), at=time(1, 30), tz=LONDON)
    # A gap time is shifted forward by the gap: 01:30 GMT is 02:30 BST.
    assert slot_at(day=date(2026, 3, 29), at=time(1, 30), tz=LONDON) == utc(2026, 3, 29, 1, 30)
    # An ambiguous time (the clocks go back at 02:00 BST) means its first occurrence, in BST.
    assert not in_dst_gap(day=date(2026, 10, 25), at=time(1, 30), tz=LONDON)
    assert slot_at(day=date(2026, 10, 25), at=time(1, 30), tz=LONDON) == utc(2026, 10, 25, 0, 30)


@time_machine.travel(utc(2026, 3, 1, 12, 0), tick=False)
def test_a_cadence_time_in_a_dst_gap_is_refused_with_the_date():
    cadence = ReleaseCadence(series=make_series(), release_time=time(1, 30), sunday=True)
    with pytest.raises(ValidationError) as raised:
        cadence.full_clean()
    assert "01:30 does not exist in Europe/London on Sunday 29 March 2026" in str(raised.value)
    # The same time on Mondays never meets the clock change: fine.
    ReleaseCadence(series=cadence.series, release_time=time(1, 30), monday=True).full_clean()


def test_a_weekly_cadence_with_no_day_has_no_valid_slot():
    cadence = ReleaseCadence(series=make_series(), release_time=time(9, 0))
    with pytest.raises(ValidationError) as raised:
        cadence.full_clean()
    assert "no valid release slot" in str(raised.value)
    every = ReleaseCadence(
        series=cadence.series, kind=ReleaseCadence.Kind.EVERY_N_DAYS, release_time=time(9, 0)
    )
    with pytest.raises(ValidationError) as raised:
        every.full_clean()
    assert set(raised.value.message_dict) == {"every_n_days", "starting_on"}


@time_machine.travel(utc(2026, 3, 20, 12, 0), tick=False)
def test_queued_parts_take_the_next_slots_in_part_order_and_the_sweep_releases_them():
    series = make_series()
    weekly(series)
    parts = [make_part(series, live=False) for _ in range(3)]
    queue(parts[2], parts[0], parts[1])
    plan = series_replan(series_id=series.pk)
    assert [(p.part_number, p.go_live_at) for p in plan] == [
        (1, utc(2026, 3, 23, 9, 0)),
        (2, utc(2026, 3, 30, 8, 0)),
        (3, utc(2026, 4, 6, 8, 0)),
    ]
    assert [scheduled_at(p) for p in parts] == [p.go_live_at for p in plan]
    rows = release_plan(series_id=series.pk)
    assert [(r["date"], r["time"], r["time_zone"]) for r in rows][:2] == [
        (date(2026, 3, 23), time(9, 0), "Europe/London"),
        (date(2026, 3, 30), time(9, 0), "Europe/London"),
    ]
    with time_machine.travel(utc(2026, 3, 23, 9, 0, 1), tick=False):
        publishing_sweep()
    assert [PartPage.objects.get(pk=p.pk).live for p in parts] == [True, False, False]


@time_machine.travel(utc(2026, 3, 20, 12, 0), tick=False)
def test_changing_the_cadence_replans_what_is_not_yet_live():
    series = make_series()
    cadence = weekly(series)
    parts = [make_part(series, live=False) for _ in range(2)]
    queue(*parts)
    series_replan(series_id=series.pk)
    cadence.monday, cadence.thursday, cadence.release_time = False, True, time(7, 15)
    cadence.save()
    series_replan(series_id=series.pk)
    assert [scheduled_at(p) for p in parts] == [utc(2026, 3, 26, 7, 15), utc(2026, 4, 2, 6, 15)]


@time_machine.travel(utc(2026, 3, 20, 12, 0), tick=False)
def test_pause_skip_and_pin():
    series = make_series()
    cadence = weekly(series)
    parts = [make_part(series, live=False) for _ in range(3)]
    queue(parts[0], parts[1])
    ReleaseQueueEntry.objects.create(part=parts[2], pinned_date=date(2026, 3, 24))
    SkippedReleaseDate.objects.create(cadence=cadence, date=date(2026, 3, 23))
    series_replan(series_id=series.pk)
    assert [scheduled_at(p) for p in parts] == [
        utc(2026, 3, 30, 8, 0),  # the 23rd is skipped
        utc(2026, 4, 6, 8, 0),
        utc(2026, 3, 24, 9, 0),  # pinned, at the cadence's time
    ]
    cadence.paused = True
    cadence.save()
    plan = series_replan(series_id=series.pk)
    assert [scheduled_at(p) for p in parts] == [None, None, None]
    assert {p.note for p in plan} == {"series paused"}
    with time_machine.travel(utc(2026, 3, 30, 8, 0, 1), tick=False):
        publishing_sweep()  # nothing is released while paused
    assert not PartPage.objects.filter(pk__in=[p.pk for p in parts], live=True).exists()


@time_machine.travel(utc(2026, 3, 20, 12, 0), tick=False)
def test_pinning_validation_messages():
    series = make_series()
    weekly(series)
    first, second = make_part(series, live=False), make_part(series, live=False)
    past = ReleaseQueueEntry(part=first, pinned_date=date(2026, 3, 19))
    with pytest.raises(ValidationError) as raised:
        past.full_clean()
    assert "Thursday 19 March 2026 at 09:00 (Europe/London) is in the past" in str(raised.value)
    ReleaseQueueEntry.objects.create(part=first, pinned_date=date(2026, 3, 25))
    clash = ReleaseQueueEntry(part=second, pinned_date=date(2026, 3, 25))
    with pytest.raises(ValidationError) as raised:
        clash.full_clean()
    assert "is already pinned to 25 March 2026" in str(raised.value)
    gap = ReleaseQueueEntry(part=second, pinned_date=date(2026, 3, 29))
    ReleaseCadence.objects.filter(series=series).update(release_time=time(1, 30))
    with pytest.raises(ValidationError) as raised:
        gap.full_clean()
    assert "does not exist in Europe/London on Sunday 29 March 2026" in str(raised.value)


def test_a_part_with_no_cadence_or_already_live_is_refused():
    series = make_series()
    waiting = make_part(series, live=False)
    with pytest.raises(ValidationError) as raised:
        ReleaseQueueEntry(part=waiting).full_clean()
    assert "has no release cadence yet" in str(raised.value)
    weekly(series)
    live = make_part(series)
    with pytest.raises(ValidationError) as raised:
        ReleaseQueueEntry(part=live).full_clean()
    assert "is already live" in str(raised.value)


@time_machine.travel(utc(2026, 3, 20, 12, 0), tick=False)
def test_planner_never_raises_on_bad_stored_input():
    """Data that validation would refuse (saved behind its back) leaves parts unscheduled, with
    a note, instead of crashing."""
    series = make_series()
    ReleaseCadence.objects.create(series=series, release_time=time(9, 0))  # no day at all
    part = make_part(series, live=False)
    late = make_part(series, live=False)
    queue(part)
    ReleaseQueueEntry.objects.create(part=late, pinned_date=date(2020, 1, 1))
    plan = series_replan(series_id=series.pk)
    assert [(p.go_live_at, p.note) for p in plan] == [
        (None, "no free slot in the cadence"),
        (None, "pinned date has passed; choose another"),
    ]


@time_machine.travel(utc(2026, 3, 20, 12, 0), tick=False)
def test_a_schedule_due_now_is_not_moved_by_replanning():
    series = make_series()
    cadence = weekly(series, friday=True)
    part = make_part(series, live=False)
    queue(part)
    series_replan(series_id=series.pk)
    assert scheduled_at(part) == utc(2026, 3, 27, 9, 0)
    with time_machine.travel(utc(2026, 3, 27, 8, 59, 55), tick=False):
        # The editor changes the cadence 5 s before the part's slot: the sweep owns it now.
        cadence.friday, cadence.saturday = False, True
        cadence.save()
        plan = series_replan(series_id=series.pk)
    assert scheduled_at(part) == utc(2026, 3, 27, 9, 0)
    assert plan[0].note == "due now"
