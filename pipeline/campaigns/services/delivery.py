"""The campaign-delivery interface: how a claimed campaign reaches its readers.

One implementation per provider, each in its own module: ``LocalDelivery`` (SMTP with the
per-recipient ledger, services/local.py) and ``MailchimpDelivery`` (one Mailchimp campaign,
services/mailchimp.py). services/deliveries.py chooses one per campaign, from the provider the
campaign was scheduled with, or else ``settings.EMAIL_PROVIDER``: no service asks which
provider it is talking to.
"""

from abc import ABC, abstractmethod

from pipeline.campaigns.models import Campaign
from pipeline.providers.message import RenderedEmail

# What a delivery returns when a long campaign was handed on to a new task.
CONTINUING = "continuing"


class CampaignDelivery(ABC):
    name: str

    @abstractmethod
    def deliver(self, *, campaign: Campaign, worker: str) -> str:
        """Take a claimed campaign as far as it goes now; return the status it ends in (or
        ``CONTINUING``). Safe to call again after a crash or a redelivery."""

    @abstractmethod
    def audience_size(self, campaign: Campaign) -> int | None:
        """How many readers the campaign goes to, or None where the provider counts them."""

    @abstractmethod
    def send_test(self, *, campaign: Campaign, rendered: RenderedEmail, emails: list[str]) -> None:
        """Send the rendered email, marked as a test, to ``emails``; the campaign is untouched.
        Raises ProviderError or OSError when it could not be sent."""

    @abstractmethod
    def report(self, campaign: Campaign) -> dict:
        """What the provider can tell of the campaign: ``source``, ``available`` and figures."""
