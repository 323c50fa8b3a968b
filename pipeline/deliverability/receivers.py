"""The campaign report's bounces and complaints (campaigns speak upward only through signals)."""

from django.dispatch import receiver

from pipeline.campaigns.signals import campaign_report_requested
from pipeline.deliverability.models import EventKind
from pipeline.deliverability.services.events import deliverability_counts


@receiver(campaign_report_requested, dispatch_uid="partwork-deliverability-report")
def _bounces_and_complaints(campaign_id: int, provider: str = "", **kwargs):
    if provider == "mailchimp":
        return None  # Mailchimp handles its own bounces; its report says so
    counts = deliverability_counts(campaign_id=campaign_id)
    return {
        "title": "Bounces and complaints",
        "lines": [
            ("bounced (hard)", counts[EventKind.HARD_BOUNCE]),
            ("bounced (soft)", counts[EventKind.SOFT_BOUNCE]),
            ("complained", counts[EventKind.COMPLAINT]),
        ],
    }
