"""Release cadence: slots in the series' time zone, validation, and the release plan.

Time-zone rules (zoneinfo, PEP 495):
- A local release time that falls in a daylight-saving gap (e.g. 01:30 on the Sunday the clocks
  go forward in Europe/London) is refused by validation with a message naming the date. Should one
  reach the planner anyway (time-zone rules change), it is shifted forward by the length of the
  gap (01:30 GMT -> 02:30 BST) and noted in the plan, never an error in the worker.
- An ambiguous local time (the hour repeated when the clocks go back) means its first occurrence.

The planner gives queued parts Wagtail schedules (go_live_at and the revision's
approved_go_live_at) through Wagtail's own publish action, so the publishing sweep releases them.
"""

import logging
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from cms.models import PartPage
from pipeline.release_models import ReleaseCadence, ReleaseQueueEntry

logger = logging.getLogger(__name__)

# How far ahead validation looks for DST gaps, and the planner for free slots.
HORIZON_DAYS = 3 * 366
# A schedule due this soon is left alone by re-planning: the sweep is about to publish it.
FROZEN_WITHIN = timedelta(seconds=10)


def in_dst_gap(*, day: date, at: time, tz: zoneinfo.ZoneInfo) -> bool:
    """True when the wall-clock time ``at`` does not exist on ``day`` in ``tz``."""
    naive = datetime.combine(day, at)
    round_trip = naive.replace(tzinfo=tz).astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    return round_trip != naive


def slot_at(*, day: date, at: time, tz: zoneinfo.ZoneInfo) -> datetime:
    """The UTC instant of local ``day`` ``at``: first occurrence if ambiguous, shifted forward
    by the gap if it does not exist (fold=0 semantics)."""
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def cadence_dates(cadence: ReleaseCadence, *, start: date, days: int) -> Iterator[date]:
    """Release dates of the cadence from ``start`` (inclusive) for ``days`` days."""
    end = start + timedelta(days=days)
    if cadence.kind == ReleaseCadence.Kind.WEEKLY:
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
    cadence: ReleaseCadence, *, after: datetime, skipped: set[date] | None = None
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


def _describe_local(instant: datetime, tz: zoneinfo.ZoneInfo) -> str:
    local = instant.astimezone(tz)
    return f"{local:%A %-d %B %Y at %H:%M} ({tz.key})"


def _gap_message(day: date, at: time, tz: zoneinfo.ZoneInfo) -> str:
    return (
        f"{at:%H:%M} does not exist in {tz.key} on {day:%A %-d %B %Y}: the clocks go forward "
        "that night. Choose a release time outside the change, or skip that date."
    )


def cadence_problems(*, cadence: ReleaseCadence, today: date) -> dict[str, str]:
    """Validation messages for a cadence, keyed by field ('__all__' for the form)."""
    problems: dict[str, str] = {}
    if cadence.kind == ReleaseCadence.Kind.WEEKLY and not cadence.weekdays():
        problems["__all__"] = (
            "A weekly cadence needs at least one release day; as it stands it has no valid "
            "release slot."
        )
    if cadence.kind == ReleaseCadence.Kind.EVERY_N_DAYS:
        if not cadence.every_n_days:
            problems["every_n_days"] = "Say how many days apart releases are (1 or more)."
        if cadence.starting_on is None:
            problems["starting_on"] = "Give the first release date for an every-N-days cadence."
    if problems:
        return problems
    skipped = set()
    if cadence.pk:
        skipped = {d.date for d in cadence.skipped_dates.all()}
    tz = cadence.tz
    for day in cadence_dates(cadence, start=today, days=HORIZON_DAYS):
        if day not in skipped and in_dst_gap(day=day, at=cadence.release_time, tz=tz):
            problems["release_time"] = _gap_message(day, cadence.release_time, tz)
            break
    return problems


def queue_entry_problems(*, entry: ReleaseQueueEntry, now: datetime) -> dict[str, str]:
    """Validation messages for marking a part ready for release (optionally pinned)."""
    part = entry.part
    if part.live:
        return {"part": f"Part {part.part_number} “{part.title}” is already live."}
    cadence = ReleaseCadence.objects.filter(series_id=part.series_id).first()
    if cadence is None:
        return {
            "part": f"The series “{part.series.title}” has no release cadence yet; set one up "
            "under Releases → Release cadences first."
        }
    if entry.pinned_date is None:
        return {}
    tz = cadence.tz
    day = entry.pinned_date
    if in_dst_gap(day=day, at=cadence.release_time, tz=tz):
        return {"pinned_date": _gap_message(day, cadence.release_time, tz)}
    instant = slot_at(day=day, at=cadence.release_time, tz=tz)
    if instant <= now:
        return {
            "pinned_date": f"{_describe_local(instant, tz)} is in the past; pin the part to a "
            "later date."
        }
    if cadence.skipped_dates.filter(date=day).exists():
        return {"pinned_date": f"{day:%-d %B %Y} is a skipped date for this series."}
    clash = (
        ReleaseQueueEntry.objects.filter(series_id=part.series_id, pinned_date=day)
        .exclude(pk=entry.pk)
        .select_related("part")
        .first()
    )
    if clash:
        return {
            "pinned_date": f"Part {clash.part.part_number} “{clash.part.title}” is already "
            f"pinned to {day:%-d %B %Y}; two parts cannot share one release slot."
        }
    return {}


@dataclass(frozen=True)
class PlannedRelease:
    entry_id: int
    part_id: int
    part_number: int
    title: str
    go_live_at: datetime | None
    pinned: bool
    note: str


def _scheduled_at(part: PartPage) -> datetime | None:
    revision = part.revisions.filter(approved_go_live_at__isnull=False).first()
    return revision.approved_go_live_at if revision else None


def part_schedule(*, part: PartPage, go_live_at: datetime) -> None:
    """Schedule the part's latest content for ``go_live_at`` the way the editor's
    'Publish' with a go-live date does: a revision with approved_go_live_at."""
    latest = part.get_latest_revision()
    page = latest.as_object() if latest else part
    page.go_live_at = go_live_at
    revision = page.save_revision(clean=False, log_action=False)
    revision.publish(skip_permission_checks=True)


def part_unschedule(*, part: PartPage) -> None:
    """Cancel a pending schedule (Wagtail's 'cancel scheduled publish' does the same)."""
    part.revisions.update(approved_go_live_at=None)
    PartPage.objects.filter(pk=part.pk).update(go_live_at=None)


def series_replan(*, series_id: int, now: datetime | None = None) -> list[PlannedRelease]:
    """Give every queued, not-yet-live part of the series its slot and schedule it in Wagtail.

    Pinned parts take their date; the others take the next free slots in part order. Schedules due
    within FROZEN_WITHIN are left alone (the sweep is about to publish them). Never raises for bad
    input: a part that cannot be placed is left unscheduled with a note for the editor.
    """
    now = now or timezone.now()
    plan: list[PlannedRelease] = []
    with transaction.atomic():
        cadence = (
            ReleaseCadence.objects.select_for_update()
            .select_related("series")
            .filter(series_id=series_id)
            .first()
        )
        entries = list(
            ReleaseQueueEntry.objects.filter(series_id=series_id, part__live=False)
            .select_related("part")
            .order_by("part__part_number")
        )
        desired: dict[int, tuple[datetime | None, str]] = {}
        current = {entry.pk: _scheduled_at(entry.part) for entry in entries}
        if cadence is None or cadence.paused:
            note = "series paused" if cadence else "no release cadence"
            for entry in entries:
                frozen = current[entry.pk] and current[entry.pk] <= now + FROZEN_WITHIN
                desired[entry.pk] = (current[entry.pk], "due now") if frozen else (None, note)
        else:
            desired = _assign_slots(cadence, entries, current, now)
        for entry in entries:
            go_live_at, note = desired[entry.pk]
            if go_live_at != current[entry.pk]:
                if go_live_at is None:
                    part_unschedule(part=entry.part)
                else:
                    part_schedule(part=entry.part, go_live_at=go_live_at)
            if entry.planned_for != go_live_at or entry.plan_note != note:
                entry.planned_for, entry.plan_note = go_live_at, note
                entry.save(update_fields=["planned_for", "plan_note"])
            plan.append(
                PlannedRelease(
                    entry_id=entry.pk,
                    part_id=entry.part_id,
                    part_number=entry.part.part_number,
                    title=entry.part.title,
                    go_live_at=go_live_at,
                    pinned=entry.pinned_date is not None,
                    note=note,
                )
            )
    return plan


def _assign_slots(cadence, entries, current, now):
    tz = cadence.tz
    skipped = {d.date for d in cadence.skipped_dates.all()}
    desired: dict[int, tuple[datetime | None, str]] = {}
    taken: set[datetime] = set()
    # Parts scheduled by hand (not queued) keep their time; a cadence slot there is taken.
    queued_part_ids = [entry.part_id for entry in entries]
    for part in PartPage.objects.filter(series_id=cadence.series_id, live=False).exclude(
        pk__in=queued_part_ids
    ):
        scheduled = _scheduled_at(part)
        if scheduled:
            taken.add(scheduled)
    floating = []
    for entry in entries:
        scheduled = current[entry.pk]
        if scheduled and scheduled <= now + FROZEN_WITHIN:
            desired[entry.pk] = (scheduled, "due now")
            taken.add(scheduled)
        elif entry.pinned_date is not None:
            day = entry.pinned_date
            instant = slot_at(day=day, at=cadence.release_time, tz=tz)
            if instant <= now:
                desired[entry.pk] = (None, "pinned date has passed; choose another")
            else:
                note = "pinned"
                if in_dst_gap(day=day, at=cadence.release_time, tz=tz):
                    note = "pinned; shifted forward past the clock change"
                desired[entry.pk] = (instant, note)
                taken.add(instant)
        else:
            floating.append(entry)
    slots = cadence_slots(cadence, after=now + FROZEN_WITHIN, skipped=skipped)
    for entry in floating:
        instant = next((s for s in slots if s not in taken), None)
        if instant is None:
            logger.warning(
                "release cadence of series %s has no free slot for part %s",
                cadence.series_id,
                entry.part.part_number,
            )
            desired[entry.pk] = (None, "no free slot in the cadence")
            continue
        taken.add(instant)
        note = "next free slot"
        local = instant.astimezone(tz)
        if local.time().replace(tzinfo=None) != cadence.release_time:
            note = "shifted forward past the clock change"
        desired[entry.pk] = (instant, note)
    return desired


def release_plan(*, series_id: int) -> list[dict]:
    """What the editor sees: each queued part with its local release date and time."""
    cadence = ReleaseCadence.objects.filter(series_id=series_id).select_related("series").first()
    tz = cadence.tz if cadence else timezone.get_current_timezone()
    rows = []
    entries = (
        ReleaseQueueEntry.objects.filter(series_id=series_id)
        .select_related("part")
        .order_by("part__part_number")
    )
    for entry in entries:
        part = entry.part
        when = part.first_published_at if part.live else entry.planned_for
        local = when.astimezone(tz) if when else None
        rows.append(
            {
                "part": part,
                "date": local.date() if local else None,
                "time": local.time() if local else None,
                "time_zone": getattr(tz, "key", str(tz)),
                "status": "live" if part.live else (entry.plan_note or "waiting"),
                "pinned": entry.pinned_date,
            }
        )
    return rows
