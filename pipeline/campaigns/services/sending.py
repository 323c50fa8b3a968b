"""The send path: what a worker runs for one campaign id, and the sweep that finds due work.

``campaign_send`` may be called any number of times, by any number of workers at once, for the
same campaign: the claim, the recorded status and the provider's own status make every call
after the first a no-op or a resumption, never a second send.
"""

from datetime import datetime

from django.utils import timezone

from pipeline.campaigns.models import Campaign
from pipeline.campaigns.services.announcements import announcements_without_campaign
from pipeline.campaigns.services.claims import Skipped, campaign_claim, campaigns_due, worker_name
from pipeline.campaigns.services.deliveries import delivery_for, delivery_name
from pipeline.campaigns.services.delivery import CONTINUING
from pipeline.observability.context import bound

__all__ = ["CONTINUING", "campaign_send", "campaigns_sweep"]


def campaign_send(*, campaign_id: int, worker: str | None = None) -> str:
    """Claim the campaign and take it as far as it can go now; returns its resulting status
    (or why nothing was done: busy, in_progress, not_due, waiting...)."""
    worker = worker or worker_name()
    part_id = Campaign.objects.filter(pk=campaign_id).values_list("part_id", flat=True).first()
    with bound(campaign_id=campaign_id, part_id=part_id):
        claimed = campaign_claim(campaign_id=campaign_id, worker=worker, now=timezone.now())
        if isinstance(claimed, Skipped):
            return claimed.status
        campaign = claimed
        if not campaign.provider:  # from here on the campaign stays with its first provider
            campaign.provider = delivery_name(campaign)
            Campaign.objects.filter(pk=campaign.pk).update(provider=campaign.provider)
        return delivery_for(campaign).deliver(campaign=campaign, worker=worker)


def campaigns_sweep(*, now: datetime | None = None) -> list[int]:
    """Find work the broker may have lost: announcements without a campaign, due and stuck
    campaigns. Returns the ids to queue. Safe to run twice at once."""
    announcements_without_campaign()
    return campaigns_due(now=now or timezone.now())


