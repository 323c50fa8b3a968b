"""The release calendar: local release times in a series' time zone, as UTC instants.

Pure functions of a cadence's fields (kind, weekdays, every_n_days, starting_on, release_time,
tz); no database. Time-zone rules (zoneinfo, PEP 495): a local time in a daylight-saving gap is
shifted forward by the gap (fold=0); an ambiguous one means its first occurrence.
"""

import zoneinfo
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

# How far ahead validation looks for DST gaps, and the planner for free slots.
HORIZON_DAYS = 3 * 366
WEEKLY = "weekly"


def in_dst_gap(*, day: date, at: time, tz: zoneinfo.ZoneInfo) -> bool:
    """True when the wall-clock time ``at`` does not exist on ``day`` in ``tz``."""
    naive = datetime.combine(day, at)
    round_trip = naive.replace(tzinfo=tz).astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    return round_trip != naive


def slot_at(*, day: date, at: time, tz: zoneinfo.ZoneInfo) -> datetime:
    """The UTC instant of local ``day`` ``at``: first occurrence if ambiguous, shifted forward
    by the gap if it does not exist (fold=0 semantics)."""
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def cadence_dates(cadence, *, start: date, days: int) -> Iterator[date]:
    """Release dates of the cadence from ``start`` (inclusive) for ``days`` days."""
    end = start + timedelta(days=days)
    if cadence.kind == WEEKLY:
        weekdays = cadence.weekdays()
        if not weekdays:
            return
        day = start
        while day < end:
            if day.weekday() in weekdays:
                yield day
            day += timedelta(days=1)
        return
    step, anchor = cadence.every_n_days, cadence.starting_on
    if not step or step < 1 or anchor is None:
        return
    day = anchor
    if start > anchor:
        day = anchor + timedelta(days=-(-(start - anchor).days // step) * step)
    while day < end:
        yield day
        day += timedelta(days=step)


def cadence_slots(
    cadence, *, after: datetime, skipped: set[date] | None = None
) -> Iterator[datetime]:
    """UTC release instants strictly after ``after``, ascending, within the planning horizon."""
    tz = cadence.tz
    skipped = skipped or set()
    start = after.astimezone(tz).date()
    for day in cadence_dates(cadence, start=start, days=HORIZON_DAYS):
        if day in skipped:
            continue
        instant = slot_at(day=day, at=cadence.release_time, tz=tz)
        if instant > after:
            yield instant


def describe_local(instant: datetime, tz: zoneinfo.ZoneInfo) -> str:
    local = instant.astimezone(tz)
    return f"{local:%A %-d %B %Y at %H:%M} ({tz.key})"


def gap_message(day: date, at: time, tz: zoneinfo.ZoneInfo) -> str:
    return (
        f"{at:%H:%M} does not exist in {tz.key} on {day:%A %-d %B %Y}: the clocks go forward "
        "that night. Choose a release time outside the change, or skip that date."
    )
