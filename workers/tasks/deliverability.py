"""Bounce mailbox polling (``mail`` queue: it talks to the IMAP server). Off until the mailbox's
login is configured (BOUNCE_IMAP_HOST, _USER, _PASSWORD); a poll that fails leaves every message
where it was for the next one."""

from celery import shared_task

from pipeline.deliverability.services.mailbox import bounce_mailbox_poll


@shared_task(queue_name="mail", soft_time_limit=120, time_limit=180)
def poll_bounce_mailbox() -> dict:
    result = bounce_mailbox_poll()
    return {"configured": result.configured, "read": result.read, "events": result.events}
