"""The announcement intent: one record per part, created with the part's first publish."""

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from cms.models import PartPage
from pipeline.observability.context import bound
from pipeline.publishing.models import Announcement
from pipeline.publishing.signals import announcement_created

logger = logging.getLogger(__name__)

# A pending announcement older than this lost its hand-over message; the sweep queues it again.
STALE_PENDING_AFTER = timedelta(seconds=30)


def announcement_record_intent(*, part: PartPage, revision_id: int | None) -> Announcement | None:
    """Record that ``part`` must be announced, if this publish is its first.

    Re-publishing an edit (or re-publishing after an unpublish) keeps first_published_at, so it
    does not announce again. The unique part_id decides races: get_or_create inserts, and on an
    IntegrityError reads the winner's row instead (never check-then-insert).
    """
    if part.first_published_at is None or part.first_published_at != part.last_published_at:
        return None
    with bound(part_id=part.pk):
        announcement, created = Announcement.objects.get_or_create(
            part_id=part.pk, defaults={"revision_id": revision_id}
        )
        if created:
            logger.info("announcement intent recorded for part %s (revision %s)", part.pk,
                        revision_id)
            announcement_created.send(sender=Announcement, announcement_id=announcement.pk)
    return announcement


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
