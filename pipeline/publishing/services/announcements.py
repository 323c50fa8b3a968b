"""The announcement intent: one record per part, created with the part's first publish."""

import logging
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from cms.models import PartPage
from pipeline.observability.context import bound
from pipeline.publishing.models import Announcement
from pipeline.publishing.signals import announcement_created

logger = logging.getLogger(__name__)

# A pending announcement older than this lost its hand-over message; the sweep queues it again.
STALE_PENDING_AFTER = timedelta(seconds=30)


def _insert_unless_present(*, part_id: int, revision_id: int | None) -> int | None:
    """Insert the part's announcement in one statement; its id, or None when the part already
    has one. ``ON CONFLICT DO NOTHING`` on the unique part waits for a concurrent insert's
    transaction and then yields to it, so no savepoint is needed (PostgreSQL, SQLite >= 3.35)."""
    table = connection.ops.quote_name(Announcement._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (part_id, revision_id, state, created_at) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT (part_id) DO NOTHING RETURNING id",
            [part_id, revision_id, Announcement.State.PENDING,
             connection.ops.adapt_datetimefield_value(timezone.now())],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def announcement_record_intent(*, part: PartPage, revision_id: int | None) -> int | None:
    """Record that ``part`` must be announced, if this publish is its first; returns the
    announcement's id (None when this publish is not the part's first).

    Re-publishing an edit (or re-publishing after an unpublish) keeps first_published_at, so it
    does not announce again. The unique part_id decides races: the insert does nothing when the
    part has its announcement already, and only the insert that made the row sends the signal
    (never check-then-insert). One statement when the record is new.
    """
    if part.first_published_at is None or part.first_published_at != part.last_published_at:
        return None
    with bound(part_id=part.pk):
        announcement_id = _insert_unless_present(part_id=part.pk, revision_id=revision_id)
        if announcement_id is None:  # recorded before (a concurrent first publish)
            return Announcement.objects.filter(part_id=part.pk).values_list("pk", flat=True)[0]
        logger.info("announcement intent recorded for part %s (revision %s)", part.pk,
                    revision_id)
        announcement_created.send(sender=Announcement, announcement_id=announcement_id)
    return announcement_id


def announcement_mark_ready(*, announcement_id: int) -> bool:
    """Hand the announcement over to the campaigns work (which sends it). Idempotent."""
    with transaction.atomic():
        updated = Announcement.objects.filter(
            pk=announcement_id, state=Announcement.State.PENDING
        ).update(state=Announcement.State.READY, ready_at=timezone.now())
    if updated:
        logger.info("announcement %s ready for the announcement campaign", announcement_id)
    return bool(updated)


def announcements_stale_pending(*, now: datetime) -> list[int]:
    """Pending announcements whose hand-over message seems lost (broker restart, crash)."""
    return list(
        Announcement.objects.filter(
            state=Announcement.State.PENDING, created_at__lt=now - STALE_PENDING_AFTER
        )
        .order_by("created_at")
        .values_list("pk", flat=True)[:500]
    )
