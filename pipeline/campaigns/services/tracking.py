"""The hook through which an app above campaigns may rewrite a local run's email (engagement:
links through a counting redirect, an optional open pixel) without campaigns importing it.

``email_tracking`` sends ``local_email_preparing``; a receiver answers with a ``Tracking``: the
rendered email to send instead (its per-reader places marked with
pipeline.providers.message.READER_TAG) and the function that makes a reader's token.
"""

from collections.abc import Callable
from dataclasses import dataclass

from pipeline.campaigns.models import Campaign
from pipeline.campaigns.signals import local_email_preparing
from pipeline.providers.message import RenderedEmail


@dataclass(frozen=True)
class Tracking:
    rendered: RenderedEmail
    reader_token: Callable[[int], str] | None = None  # subscriber id -> token

    def token_for(self, subscriber_id: int) -> str:
        return self.reader_token(subscriber_id) if self.reader_token else ""


def email_tracking(*, campaign: Campaign, rendered: RenderedEmail) -> Tracking:
    """The email a local run sends (rewritten by a receiver, or as it is)."""
    tracking = Tracking(rendered)
    for _receiver, answer in local_email_preparing.send(
            sender=Campaign, campaign=campaign, rendered=rendered):
        if isinstance(answer, Tracking):
            tracking = answer
    return tracking
