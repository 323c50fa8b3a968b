"""Release cadence: slots in the series' time zone, validation, and the release plan.

Time-zone rules (zoneinfo, PEP 495):
- A local release time that falls in a daylight-saving gap (e.g. 01:30 on the Sunday the clocks
  go forward in Europe/London) is refused by validation with a message naming the date. Should one
  reach the planner anyway (time-zone rules change), it is shifted forward by the length of the
  gap (01:30 GMT -> 02:30 BST) and noted in the plan, never an error in the worker.
- An ambiguous local time (the hour repeated when the clocks go back) means its first occurrence.

The planner gives queued parts Wagtail schedules (go_live_at and the revision's
approved_go_live_at) through Wagtail's own publish action, so the publishing sweep releases them.
It schedules in the name of whoever queued the part, with Wagtail's permission check: the content
they approved (the entry's revision), and only while they may still publish the part. An entry
made by code (no one queued it) is scheduled with its part's latest content, as code may.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from cms.models import PartPage
from pipeline.observability.context import bound
from pipeline.publishing.calendar import (
    cadence_slots,
    in_dst_gap,
    slot_at,
)
from pipeline.publishing.models import ReleaseCadence, ReleaseQueueEntry

logger = logging.getLogger(__name__)

# A schedule due this soon is left alone by re-planning: the sweep is about to publish it.
FROZEN_WITHIN = timedelta(seconds=10)


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


def part_schedule(*, entry: ReleaseQueueEntry, go_live_at: datetime) -> None:
    """Schedule the queued part for ``go_live_at`` the way the editor's 'Publish' with a go-live
    date does (a revision with approved_go_live_at), as whoever queued it: the content they
    approved, and Wagtail refuses (PublishPermissionError) if they may not publish it."""
    part, user = entry.part, entry.queued_by
    with bound(part_id=part.pk):
        source = entry.revision if user else part.get_latest_revision()
        page = source.as_object() if source else part
        page.go_live_at = go_live_at
        revision = page.save_revision(user=user, clean=False, log_action=False)
        revision.publish(user=user, skip_permission_checks=user is None)


def queuer_refusal(entry: ReleaseQueueEntry) -> str | None:
    """Why the part may not be scheduled in its queuer's name any more, or None."""
    user = entry.queued_by
    if user is None:
        return None
    if not (user.is_active and entry.part.permissions_for_user(user).can_publish()):
        return f"queued by {user.get_username()}, who may no longer publish it; queue it again"
    if entry.revision_id is None:
        return "the revision approved when it was queued is gone; queue it again"
    return None


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
            .select_related("part", "queued_by", "revision")
            .order_by("part__part_number")
        )
        desired: dict[int, tuple[datetime | None, str]] = {}
        current = {entry.pk: _scheduled_at(entry.part) for entry in entries}
        refused = {entry.pk: why for entry in entries if (why := queuer_refusal(entry))}
        if cadence is None or cadence.paused:
            note = "series paused" if cadence else "no release cadence"
            for entry in entries:
                desired[entry.pk] = _unplaced(current[entry.pk], note, now)
        else:
            placed = [entry for entry in entries if entry.pk not in refused]
            desired = _assign_slots(cadence, placed, current, now,
                                    queued_part_ids=[entry.part_id for entry in entries])
        for entry_id, why in refused.items():
            desired[entry_id] = _unplaced(current[entry_id], why, now)
        for entry in entries:
            go_live_at, note = desired[entry.pk]
            # A new approval (planned_for cleared by the queue form) is scheduled afresh.
            approved_anew = entry.planned_for is None and note != "due now"
            if go_live_at != current[entry.pk] or (go_live_at and approved_anew):
                if go_live_at is None:
                    part_unschedule(part=entry.part)
                else:
                    part_schedule(entry=entry, go_live_at=go_live_at)
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


def _unplaced(current: datetime | None, note: str, now: datetime) -> tuple[datetime | None, str]:
    """Not to be scheduled: unscheduled, unless the sweep is about to publish it."""
    if current and current <= now + FROZEN_WITHIN:
        return current, "due now"
    return None, note


def _assign_slots(cadence, entries, current, now, *, queued_part_ids):
    tz = cadence.tz
    skipped = {d.date for d in cadence.skipped_dates.all()}
    desired: dict[int, tuple[datetime | None, str]] = {}
    taken: set[datetime] = set()
    # Parts scheduled by hand (not queued) keep their time; a cadence slot there is taken.
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
            with bound(part_id=entry.part_id):
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
