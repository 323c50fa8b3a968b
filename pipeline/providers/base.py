"""The one small interface every delivery provider implements, and how one is chosen.

``get_provider()`` returns the provider named by ``settings.EMAIL_PROVIDER``. Today there is one
kind of message, a transactional email to one person (a double opt-in confirmation), and so one
method, ``send_transactional``. Campaign delivery (a rendered campaign to a list, with the
per-recipient ledger) is added later as further abstract methods on this class, implemented by
every provider; keep each method one clear operation that the campaigns service can record
before and after.

How the Mailchimp provider plugs in: a module ``pipeline/providers/mailchimp.py`` defines
``MailchimpProvider(EmailProvider)`` built on the wrapped official client
(``pipeline/providers/mailchimp_client.py``), and one line in ``PROVIDERS`` below names it
(``"mailchimp": "pipeline.providers.mailchimp.MailchimpProvider"``). Mailchimp's Marketing API has
no transactional send, so its ``send_transactional`` hands the message to the local provider
(Django email); what it adds is list delivery through campaigns. Until that module exists,
``EMAIL_PROVIDER=mailchimp`` fails at start-up with ImproperlyConfigured rather than at the first
send.
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
