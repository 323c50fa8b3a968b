"""On time, not on the next tick: the task queued for a revision's go-live moment (see
``arming``) publishes it through the sweep's own locked path (``revision_publish_if_due``).

What makes the sweep safe holds here too: a revision that someone else published, that was
unscheduled or that was rescheduled later is 'gone' or not yet due when its task runs, and nothing
publishes twice. The sweep stays as the safety net for a lost message or a restart.

Part order within a series: the task first publishes any earlier part of the same series that is
due too, each through the same locked path, waiting briefly for one another worker is publishing.
Parts of other series are never waited for.
"""

import time
from datetime import timedelta

from django.utils import timezone
from wagtail.models import Revision

from pipeline.observability.context import bound
from pipeline.publishing.services.sweep import due_revisions, revision_publish_if_due

# A task that fires this much before its go-live time (clock drift between hosts) waits it out;
# one earlier than that was for a time since rescheduled, and its new time has a task of its own.
EARLY_TOLERANCE = timedelta(seconds=2)
# How long a task waits for an earlier part that another worker is publishing right now.
LOCK_WAIT_SECONDS = 5.0


def _publish_waiting_for_lock(revision_id: int) -> str:
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while True:
        outcome = revision_publish_if_due(revision_id=revision_id, now=timezone.now())
        if outcome != "locked" or time.monotonic() > deadline:
            return outcome
        time.sleep(0.02)


def revision_publish_on_time(*, revision_id: int) -> str:
    """Publish a revision at its go-live moment, after any earlier due part of its series.

    Returns 'published', 'gone' (published, unscheduled or deleted meanwhile), 'not due'
    (rescheduled later) or 'locked' (another worker still holds it; the sweep finishes it)."""
    scheduled = Revision.objects.filter(pk=revision_id)
    go_live_at = scheduled.values_list("approved_go_live_at", flat=True).first()
    if go_live_at is None:
        return "gone"
    early = go_live_at - timezone.now()
    if early > EARLY_TOLERANCE:
        return "not due"
    if early > timedelta(0):
        time.sleep(early.total_seconds())

    now = timezone.now()
    due = due_revisions(now)
    mine = next((item for item in due if item.revision_id == revision_id), None)
    if mine is None:
        return "gone"
    earlier = [
        item for item in due
        if mine.series_id is not None and item.series_id == mine.series_id
        and item.part_number is not None and mine.part_number is not None
        and item.part_number < mine.part_number
    ]
    for item in earlier:
        with bound(part_id=item.part_id):
            _publish_waiting_for_lock(item.revision_id)
    with bound(part_id=mine.part_id):
        return _publish_waiting_for_lock(revision_id)
