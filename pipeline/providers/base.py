"""The one small interface every delivery provider implements, and how one is chosen.

``get_provider()`` returns the provider named by ``settings.EMAIL_PROVIDER``. The interface every
provider shares is one method, ``send_transactional``: a transactional email to one person (a
double opt-in confirmation). Errors are ``ProviderError`` with ``retryable``.

Campaign delivery is the campaigns app's own interface (pipeline/campaigns/services/delivery.py),
one implementation per provider, built on what this package offers: the local one sends through
the SMTP transport and campaign email here, with the app's per-recipient ledger; the Mailchimp one
calls ``MailchimpProvider``'s campaign methods (pipeline/providers/mailchimp.py), each one API
operation that the campaigns app records before and after.

``MailchimpProvider`` makes every call through the project's one Mailchimp wrapper,
``MailchimpClient`` (pipeline/providers/mailchimp_client.py, shared with the audience sync), and
turns the wrapper's typed errors into ProviderErrors in one place: ``MailchimpProviderError``
(Mailchimp answered with an error, ``status``; or the call could not be made) or
``MailchimpOutcomeUnknown`` (no answer: the service reads the campaign's status and trusts it).
Mailchimp's Marketing API has no transactional send, so its ``send_transactional`` hands the
message to the local provider (Django email).
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

PROVIDERS: dict[str, str] = {
    "local": "pipeline.providers.local.LocalProvider",
    "mailchimp": "pipeline.providers.mailchimp.MailchimpProvider",
}


@dataclass(frozen=True)
class TransactionalEmail:
    """One message to one recipient, already rendered."""

    to: str
    subject: str
    text: str
    html: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    # What the message is about, for logs and the provider's own tagging ("subscriber-confirm").
    category: str = ""


@dataclass(frozen=True)
class SendReceipt:
    """What the provider tells us it accepted: its id for the message, to find it again."""

    provider: str
    message_id: str


class ProviderError(Exception):
    """The provider did not accept the message. ``retryable`` says whether trying later can help."""

    def __init__(self, message: str, *, retryable: bool):
        super().__init__(message)
        self.retryable = retryable


class EmailProvider(ABC):
    name: str

    @abstractmethod
    def send_transactional(self, message: TransactionalEmail) -> SendReceipt:
        """Hand one message to the delivery system; raise ProviderError if it was not accepted."""


def get_provider(name: str | None = None) -> EmailProvider:
    chosen = name or settings.EMAIL_PROVIDER
    try:
        path = PROVIDERS[chosen]
    except KeyError:
        raise ImproperlyConfigured(
            f"EMAIL_PROVIDER={chosen!r} is not an installed provider; "
            f"choose one of: {', '.join(sorted(PROVIDERS))}."
        ) from None
    return import_string(path)()
