"""The campaigns sweep (beat): finds due and stuck campaigns and queues their sends, so a lost
broker message or a crashed worker only delays an email."""

from celery import shared_task

from pipeline.campaigns.services.campaigns import campaigns_sweep
from workers.tasks.mail import send_campaign


@shared_task(soft_time_limit=60, time_limit=90)
def sweep() -> int:
    due = campaigns_sweep()
    for campaign_id in due:
        send_campaign.delay(campaign_id)
    return len(due)
