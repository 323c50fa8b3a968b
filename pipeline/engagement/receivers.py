"""Engagement's answers to campaigns' signals."""

from django.dispatch import receiver

from pipeline.campaigns.signals import local_email_preparing
from pipeline.engagement.services.links import campaign_tracking


@receiver(local_email_preparing, dispatch_uid="engagement.track_links")
def track_links(sender, *, campaign, rendered, **kwargs):
    """Rewrite the links of a campaign that counts clicks; other campaigns go out as they are."""
    if not campaign.track_clicks:
        return None
    return campaign_tracking(campaign=campaign, rendered=rendered)
