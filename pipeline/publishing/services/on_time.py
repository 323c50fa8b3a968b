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
from datetime import datetime, timedelta

from django.contrib.contenttypes.models import ContentType
from django.db.models import CharField, IntegerField, OuterRef, Subquery
from django.db.models.functions import Cast
from django.utils import timezone
from wagtail.models import Revision

from cms.models import PartPage
from pipeline.observability.context import bound
from pipeline.publishing.services.sweep import revision_publish_if_due

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


def _earlier_due_parts(*, part_id: int, now: datetime) -> list[tuple[int, int]]:
    """(revision id, part id) of every due revision of a part numbered before ``part_id`` in its
    series, in part order: one query, which reads nothing of other series."""
    mine = PartPage.objects.filter(pk=part_id)
    earlier_keys = (
        PartPage.objects.filter(series_id=Subquery(mine.values("series_id")),
                                part_number__lt=Subquery(mine.values("part_number")))
        .annotate(key=Cast("pk", CharField()))
        .values("key")
    )
    part_of_revision = PartPage.objects.filter(pk=Cast(OuterRef("object_id"), IntegerField()))
    rows = (
        Revision.objects.filter(content_type=ContentType.objects.get_for_model(PartPage),
                                object_id__in=earlier_keys, approved_go_live_at__isnull=False,
                                approved_go_live_at__lte=now)
        .annotate(number=Subquery(part_of_revision.values("part_number")))
        .order_by("number", "pk")
        .values_list("pk", "object_id")
    )
    return [(revision_id, int(object_id)) for revision_id, object_id in rows]


def revision_publish_on_time(*, revision_id: int) -> str:
    """Publish a revision at its go-live moment, after any earlier due part of its series.

    Returns 'published', 'gone' (published, unscheduled or deleted meanwhile), 'not due'
    (rescheduled later) or 'locked' (another worker still holds it; the sweep finishes it)."""
    scheduled = Revision.objects.filter(pk=revision_id)
    row = scheduled.values_list("approved_go_live_at", "content_type_id", "object_id").first()
    if row is None or row[0] is None:
        return "gone"
    go_live_at, type_id, object_id = row
    early = go_live_at - timezone.now()
    if early > EARLY_TOLERANCE:
        return "not due"
    if early > timedelta(0):
        time.sleep(early.total_seconds())
        # Unscheduled or moved while this task waited: the new time has a task of its own.
        if scheduled.values_list("approved_go_live_at", flat=True).first() != go_live_at:
            return "gone"

    part_id = None
    if type_id == ContentType.objects.get_for_model(PartPage).pk:
        part_id = int(object_id)
        for earlier_revision_id, earlier_part_id in _earlier_due_parts(part_id=part_id,
                                                                        now=timezone.now()):
            with bound(part_id=earlier_part_id):
                _publish_waiting_for_lock(earlier_revision_id)
    with bound(part_id=part_id):
        return _publish_waiting_for_lock(revision_id)
