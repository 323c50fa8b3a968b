"""What stops a local send run early: a lost lease, or the offer's deadline coming first.

``SendGuard`` re-reads both from the database at most every interval; the deadline is compared
with the clock before every claim and again in the sending thread just before the message goes
out, so an editor's change to the offer is seen within the interval (a second at most, well inside
the safety margin).
"""

import time
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from cms.models import Offer
from pipeline.campaigns.models import Campaign
from pipeline.campaigns.services.claims import campaign_renew_lease
from pipeline.campaigns.services.timing import campaign_expiry, offer_send_deadline


@dataclass(frozen=True)
class Stop:
    why: str  # "lease", "expired", "trouble", "budget" or "paused"
    reason: str
    until: datetime | None = None  # "paused": when the day's sending cap allows more


class SendGuard:
    """Our lease and the offer's deadline, re-read from the database at most every interval."""

    def __init__(self, campaign: Campaign, worker: str) -> None:
        self.campaign = campaign
        self.worker = worker
        self.interval = min(1.0, settings.CAMPAIGN_LEASE.total_seconds() / 4)
        self.next_refresh = 0.0
        self.deadline = None

    def check(self) -> Stop | None:
        if time.monotonic() >= self.next_refresh:
            if not campaign_renew_lease(campaign=self.campaign, worker=self.worker):
                return Stop("lease", "Lease lost to another worker.")
            if self.campaign.is_discount:
                self.deadline = offer_send_deadline(Offer.objects.get(pk=self.campaign.offer_id))
            self.next_refresh = time.monotonic() + self.interval
        if self.too_late():
            expiry = campaign_expiry(campaign=self.campaign, at=timezone.now(),
                                     include_lateness=False)
            return Stop("expired", expiry.reason if expiry else "The offer's end came first.")
        return None

    def too_late(self) -> bool:
        return self.deadline is not None and timezone.now() >= self.deadline
