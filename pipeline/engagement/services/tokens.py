"""A reader's token in tracked links: the campaign and subscriber ids with a keyed HMAC.

One token per reader and campaign (not per link), so a reader costs one HMAC however many links
the email has; the link is named by its id in the path and must belong to the token's campaign.
Tokens made with a key in SECRET_KEY_FALLBACKS still verify, like every other link we mail.
"""

import base64
from dataclasses import dataclass

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

_SALT = "pipeline.engagement.reader"


@dataclass(frozen=True)
class Reader:
    campaign_id: int
    subscriber_id: int


def _mac(value: str, key: str | None = None) -> str:
    digest = salted_hmac(_SALT, value, secret=key, algorithm="sha256").digest()[:16]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def reader_token(*, campaign_id: int, subscriber_id: int) -> str:
    value = f"{campaign_id}.{subscriber_id}"
    return f"{value}.{_mac(value)}"


def read_reader_token(token: str) -> Reader | None:
    """The reader a token names, or None when it is malformed or its signature is not ours."""
    campaign, _, rest = token.partition(".")
    subscriber, _, mac = rest.partition(".")
    if not (campaign.isdigit() and subscriber.isdigit() and mac) or len(token) > 100:
        return None
    value = f"{int(campaign)}.{int(subscriber)}"
    if value != f"{campaign}.{subscriber}":  # one spelling per reader (no leading zeros)
        return None
    if not any(constant_time_compare(_mac(value, key), mac)
               for key in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]):
        return None
    return Reader(int(campaign), int(subscriber))
