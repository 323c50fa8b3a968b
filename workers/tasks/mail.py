"""Mail tasks (the ``mail`` queue, whose worker concurrency stays under Mailchimp's ~10
connections per account). Thin: the services do the work and are safe to run again."""

import dataclasses
import logging

from celery import shared_task
from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone

from pipeline.audience.services.sync import (
    AudienceSyncBusy,
    AudienceSyncInterrupted,
    audience_sync,
)
from pipeline.campaigns.services.campaigns import campaign_send
from pipeline.campaigns.services.local import CONTINUING
from pipeline.campaigns.signals import campaign_due

logger = logging.getLogger(__name__)

# Short countdowns only (DESIGN.md: no ETA longer than a few minutes on Redis); later sends are
# found by the campaigns sweep when they fall due.
MAX_COUNTDOWN_SECONDS = 120


@shared_task(soft_time_limit=240, time_limit=300)
def send_campaign(campaign_id: int) -> str:
    status = campaign_send(campaign_id=campaign_id)
    if status == CONTINUING:  # a long list, handed on before the time limit: carry on now
        send_campaign.delay(campaign_id)
    return status


@receiver(campaign_due, dispatch_uid="partwork-queue-campaign-send")
def _queue_send(campaign_id: int, send_at=None, **kwargs):
    wait = (send_at - timezone.now()).total_seconds() if send_at else 0
    if wait > MAX_COUNTDOWN_SECONDS:
        return  # the sweep queues it when due
    countdown = max(0.0, wait)
    transaction.on_commit(
        lambda: send_campaign.apply_async((campaign_id,), countdown=countdown or None),
        robust=True,
    )


# Long: a 100,000-member first sync is ~200 batch calls. Below the broker's visibility timeout
# (3600 s); if the limit kills it, the run keeps its cursor and the next call resumes it.
@shared_task(bind=True, soft_time_limit=1800, time_limit=1860, max_retries=20, acks_late=True)
def sync_audience(self, full: bool = False) -> dict:
    """Sync our list into the Mailchimp audience (resuming an interrupted run)."""
    try:
        summary = audience_sync(full=full)
    except AudienceSyncBusy as busy:
        logger.info("audience sync skipped: %s", busy)
        return {"skipped": str(busy)}
    except AudienceSyncInterrupted as error:
        # A Mailchimp outage: the run keeps its cursor; try again later (backoff with jitter).
        raise self.retry(exc=error, countdown=min(300, 30 * 2 ** self.request.retries)) from error
    return dataclasses.asdict(summary)
