"""The one place a campaign's delivery is chosen: by the provider it was scheduled with."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from pipeline.campaigns.models import Campaign
from pipeline.campaigns.services.delivery import CampaignDelivery
from pipeline.campaigns.services.local import LocalDelivery
from pipeline.campaigns.services.mailchimp import MailchimpDelivery

DELIVERIES: dict[str, type[CampaignDelivery]] = {
    LocalDelivery.name: LocalDelivery,
    MailchimpDelivery.name: MailchimpDelivery,
}


def delivery_name(campaign: Campaign) -> str:
    """The provider the campaign was scheduled with, else the configured one."""
    return campaign.provider or settings.EMAIL_PROVIDER


def delivery_for(campaign: Campaign) -> CampaignDelivery:
    name = delivery_name(campaign)
    try:
        return DELIVERIES[name]()
    except KeyError:
        raise ImproperlyConfigured(
            f"EMAIL_PROVIDER={name!r} has no campaign delivery; choose one of: "
            f"{', '.join(sorted(DELIVERIES))}."
        ) from None
