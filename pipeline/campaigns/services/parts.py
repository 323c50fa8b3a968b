"""What becomes of a part's campaigns when the part (or its series) is deleted.

Drafts and scheduled campaigns are cancelled (through the state machine, so a worker that claims
one at the same moment wins cleanly) and removed with the part. Campaigns that ended keep their
stored copy, report and log: only their link to the part becomes empty (``on_delete=SET_NULL``).
A campaign being sent right now is left to finish; the admin refuses the delete meanwhile, and a
claim of an announcement whose part is gone cancels it (services/claims.py).
"""

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction

from pipeline.campaigns.models import (
    IN_FLIGHT_STATUSES,
    Campaign,
    CampaignStatus,
)
from pipeline.campaigns.services.state import campaign_log, campaign_transition
from pipeline.observability.context import bound

logger = logging.getLogger(__name__)
S = CampaignStatus
WAITING = (S.DRAFT, S.SCHEDULED)


def _plural(count: int, one: str, many: str) -> str:
    return (one if count == 1 else many).format(n=count)


@dataclass(frozen=True)
class PartCampaigns:
    """The campaigns of some parts, counted by what deleting the parts does to them."""

    by_status: dict[str, int]

    @property
    def in_flight(self) -> int:
        return sum(self.by_status.get(status, 0) for status in IN_FLIGHT_STATUSES)

    def sentences(self) -> list[str]:
        counts = self.by_status
        ended = sum(counts.get(status, 0) for status in (S.EXPIRED, S.CANCELLED, S.FAILED))
        lines = [
            _plural(counts.get(S.DRAFT, 0), "{n} draft campaign is cancelled and removed",
                    "{n} draft campaigns are cancelled and removed"),
            _plural(counts.get(S.SCHEDULED, 0), "{n} scheduled campaign is cancelled and removed",
                    "{n} scheduled campaigns are cancelled and removed"),
            _plural(counts.get(S.SENT, 0), "{n} sent campaign keeps its stored copy and report",
                    "{n} sent campaigns keep their stored copies and reports"),
            _plural(ended, "{n} ended campaign (expired, cancelled or failed) keeps its log",
                    "{n} ended campaigns (expired, cancelled or failed) keep their logs"),
            _plural(self.in_flight, "{n} campaign is being sent right now",
                    "{n} campaigns are being sent right now"),
        ]
        return [line for line in lines if not line.startswith("0 ")]

    def describe(self) -> str:
        """One sentence for the editor, or "" when the parts have no campaigns."""
        lines = self.sentences()
        if not lines:
            return ""
        return ("Campaigns: " + "; ".join(lines) + ". Kept campaigns stay under Campaigns, no "
                "longer linked to a part.")


def part_campaigns(*, part_ids: Iterable[int]) -> PartCampaigns:
    """Count the campaigns of these parts by status (for the admin's delete page)."""
    rows = Campaign.objects.filter(part_id__in=list(part_ids)).values_list("status", flat=True)
    return PartCampaigns(by_status=dict(Counter(rows)))


def campaigns_part_deleted(*, part_id: int, part_title: str, actor: str) -> None:
    """The part is being deleted (in the caller's transaction): cancel and remove its waiting
    campaigns, note the deletion on the ones it leaves behind."""
    with transaction.atomic():
        for campaign in Campaign.objects.filter(part_id=part_id).order_by("pk"):
            with bound(campaign_id=campaign.pk, part_id=part_id):
                _part_deleted(campaign, part_title, actor)


def _part_deleted(campaign: Campaign, part_title: str, actor: str) -> None:
    if campaign.status in WAITING and campaign_transition(
        campaign=campaign, to_status=S.CANCELLED, actor=actor, from_statuses=WAITING,
        reason=f"Its part “{part_title}” was deleted: cancelled and removed with it.",
    ):
        campaign.delete()
        logger.info("campaign cancelled and removed with its deleted part")
        return
    if campaign.status in IN_FLIGHT_STATUSES:
        reason = (f"Its part “{part_title}” was deleted while the campaign was being sent; it "
                  "finishes from what it already rendered, or is cancelled if it had not.")
    else:
        reason = (f"Its part was deleted (“{part_title}”); the stored copy and report stay.")
    campaign_log(campaign=campaign, actor=actor, reason=reason)
    logger.info("campaign kept (%s); its part was deleted", campaign.status)
