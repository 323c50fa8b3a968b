"""Publishing tasks: the beat-driven sweep and the announcement hand-over."""

import logging

from celery import shared_task
from django.db import transaction
from django.dispatch import receiver

from pipeline.publishing.services.announcements import announcement_mark_ready
from pipeline.publishing.services.sweep import publishing_sweep
from pipeline.publishing.signals import announcement_created

logger = logging.getLogger(__name__)


@shared_task(soft_time_limit=120, time_limit=150)
def sweep() -> dict:
    """Run one publishing sweep (beat queues this every PUBLISHING_SWEEP_INTERVAL seconds)."""
    result = publishing_sweep()
    # Hand-over messages lost to a broker restart or a crash are found again here.
    for announcement_id in result.stale_announcement_ids:
        hand_over_announcement.delay(announcement_id)
    return {
        "published": len(result.published_revision_ids),
        "unpublished": len(result.unpublished),
        "overdue": result.overdue,
    }


@shared_task(soft_time_limit=30, time_limit=60)
def hand_over_announcement(announcement_id: int) -> bool:
    """Mark the announcement ready and make its campaign (scheduled for now when the series
    announces automatically; the campaign's send is queued on commit by workers/tasks/mail)."""
    from pipeline.campaigns.services.campaigns import announcement_campaign_create

    announcement_mark_ready(announcement_id=announcement_id)
    announcement_campaign_create(announcement_id=announcement_id)
    return True


@receiver(announcement_created, dispatch_uid="partwork-queue-announcement-hand-over")
def _queue_hand_over(announcement_id: int, **kwargs):
    transaction.on_commit(lambda: hand_over_announcement.delay(announcement_id), robust=True)
