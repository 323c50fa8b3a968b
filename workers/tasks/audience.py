"""Audience tasks (the ``mail`` queue: they talk to Mailchimp)."""

from celery import shared_task

from pipeline.audience.services.account import mailchimp_configured
from pipeline.audience.services.erasures import mailchimp_erasures_process
from pipeline.audience.services.members import audience_member_interests_push
from pipeline.audience.services.runs import AudienceSyncInterrupted
from pipeline.audience.services.sync import audience_sync_task_run
from pipeline.providers.mailchimp_errors import RetryableError


# Long: a 100,000-member first sync is ~200 batch calls. Below the broker's visibility timeout
# (3600 s); if the limit kills it, the run keeps its cursor and the next call resumes it.
@shared_task(bind=True, queue_name="mail", soft_time_limit=1800, time_limit=1860, max_retries=20)
def sync_audience(self, full: bool = False) -> dict:
    """Sync our list into the Mailchimp audience (resuming an interrupted run)."""
    try:
        return audience_sync_task_run(full=full)
    except AudienceSyncInterrupted as error:  # an outage: the run keeps its cursor; back off
        raise self.retry(exc=error, countdown=min(300, 30 * 2 ** self.request.retries)) from error


@shared_task(bind=True, queue_name="mail", soft_time_limit=60, time_limit=90, max_retries=8)
def push_member_interests(self, subscriber_id: int) -> bool:
    """A preference change reaches the member's interests at Mailchimp."""
    try:
        return audience_member_interests_push(subscriber_id=subscriber_id) is not None
    except RetryableError as error:
        raise self.retry(exc=error, countdown=min(300, 10 * 2 ** self.request.retries)) from error


@shared_task(queue_name="mail", soft_time_limit=240, time_limit=300)
def erase_mailchimp_members() -> dict:
    """Permanent deletions at Mailchimp owed by erasures (queued on commit and by beat; the rows
    are the truth, so a lost message or a killed worker only delays them)."""
    if not mailchimp_configured():
        return {"skipped": "Mailchimp is not configured"}
    return mailchimp_erasures_process()

