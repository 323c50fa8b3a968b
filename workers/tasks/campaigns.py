"""Campaign tasks. The sweep and the announcement hand-over touch only the database (``publishing``
queue); sending talks to Mailchimp or SMTP (``mail`` queue, whose total concurrency stays under
Mailchimp's ~10 connections per account)."""

from celery import shared_task

from pipeline.campaigns.services.announcements import announcement_hand_over
from pipeline.campaigns.services.sending import CONTINUING, campaign_send, campaigns_sweep


@shared_task(queue_name="mail", soft_time_limit=240, time_limit=300)
def send_campaign(campaign_id: int) -> str:
    status = campaign_send(campaign_id=campaign_id)
    if status == CONTINUING:  # a long list, handed on before the time limit: carry on now
        send_campaign.delay(campaign_id)
    return status


@shared_task(queue_name="publishing", soft_time_limit=60, time_limit=90)
def sweep() -> int:
    """Find due and stuck campaigns (a lost message or a crashed worker only delays an email)."""
    due = campaigns_sweep()
    for campaign_id in due:
        send_campaign.delay(campaign_id)
    return len(due)


@shared_task(queue_name="publishing", soft_time_limit=30, time_limit=60)
def hand_over_announcement(announcement_id: int) -> int | None:
    """Make the part's announcement campaign (sent at once when its series announces itself);
    None when the part was deleted first."""
    campaign = announcement_hand_over(announcement_id=announcement_id)
    return campaign.pk if campaign else None
