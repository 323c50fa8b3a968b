"""Mail tasks (routed to the ``mail`` queue, whose concurrency stays within Mailchimp's limit)."""

import dataclasses
import logging

from celery import shared_task

from pipeline.services.audience_sync import (
    AudienceSyncBusy,
    AudienceSyncInterrupted,
    audience_sync,
)

logger = logging.getLogger(__name__)


# Long: a 100,000-member first sync is ~200 batch calls. Below the broker's visibility timeout
# (3600 s); if the limit kills it, the run keeps its cursor and the next call resumes it.
@shared_task(bind=True, soft_time_limit=1800, time_limit=1860, max_retries=20,
             acks_late=True)
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
