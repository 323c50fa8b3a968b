"""Mail tasks (the ``mail`` queue, whose worker concurrency stays under Mailchimp's ~10
connections per account): one task, send one campaign. Thin: the service does the work and is
safe to run any number of times for the same campaign."""

from celery import shared_task
from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone

from pipeline.campaign_signals import campaign_due
from pipeline.services.campaigns import campaign_send

# Short countdowns only (DESIGN.md: no ETA longer than a few minutes on Redis); later sends are
# found by the campaigns sweep when they fall due.
MAX_COUNTDOWN_SECONDS = 120


@shared_task(soft_time_limit=240, time_limit=300)
def send_campaign(campaign_id: int) -> str:
    return campaign_send(campaign_id=campaign_id)


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
