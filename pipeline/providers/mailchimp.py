"""Mailchimp delivery: list campaigns through the project's one Mailchimp wrapper.

Each method is one API operation that the campaigns service records before and after (see
pipeline/campaigns/services/mailchimp.py for the order: create → persist id → content → commit
"send requested" → actions/send → on doubt read the campaign's status and trust it).

Transactional email (the double opt-in confirmation) has no Marketing API call, so it goes
through the local provider.

Every call goes through ``MailchimpClient`` (pipeline/providers/mailchimp_client.py), which deals
with the official client's quirks and raises its typed errors (``mailchimp_errors.MailchimpError``
and subclasses). The campaigns service speaks ProviderError, so ``provider_error`` turns the
wrapper's errors into the two below, in this one place:

================================================  =========================  =========  =======
wrapper error                                     provider error             retryable  status
================================================  =========================  =========  =======
RateLimited (429, with or without a body)         MailchimpProviderError     yes        429
TransientError with a status (5xx answered)       MailchimpProviderError     yes        5xx
TransientError without one (timeout, dropped      MailchimpOutcomeUnknown    yes        None
connection, an answer that broke off)
CampaignNotReady (400 "not ready to send")        MailchimpProviderError     no         400
AuthError, NotFound, InvalidRequest (other 4xx)   MailchimpProviderError     no         4xx
MailchimpConfigurationError (no key, no list)     MailchimpProviderError     no         None
any other wrapper error                           MailchimpProviderError     no         its own
================================================  =========================  =========  =======

The wrapper's error stays attached as ``__cause__`` (and ``.cause``).

Retries and time. Idempotent reads and puts (the status read, set_content, the report) use the
wrapper's retry for 429/5xx; create and send_test retry only a 429 (nothing was applied), and
``actions/send`` is never retried (the service reads the status instead). The retry is short on
purpose (``PROVIDER_RETRY``: 3 attempts, jittered sleeps of at most 2 s, and a 20 s budget per
call that a retry must fit in together with one more full timeout). The campaigns service
already backs off between attempts (campaign_release: 5 s doubling to 300 s, with jitter), so
this only absorbs a brief 429 burst or a single 5xx inside one attempt rather than stacking a
second long backoff on top. With the default ``MAILCHIMP_TIMEOUT`` of 15 s a timed-out call is
therefore not retried here (15 s + sleep + 15 s > 20 s): that is left to the service. One
delivery makes at most four calls (create, content, send, status), so it takes at most about
3 × 20 s + 15 s = 75 s: inside the 2-minute lease (``CAMPAIGN_LEASE``) and well inside the
send task's limits (240 s soft, 300 s hard).
"""

from contextlib import contextmanager
from email.utils import parseaddr

from django.conf import settings

from pipeline.providers.base import EmailProvider, ProviderError, SendReceipt, TransactionalEmail
from pipeline.providers.local import LocalProvider
from pipeline.providers.mailchimp_client import MailchimpClient
from pipeline.providers.mailchimp_errors import (
    MailchimpError,
    RetryableError,
    RetryPolicy,
    TransientError,
)
from pipeline.providers.message import mailchimp_markup

PROVIDER_RETRY = RetryPolicy(
    max_attempts=3, base_seconds=0.5, cap_seconds=2.0, budget_seconds=20.0
)


class MailchimpProviderError(ProviderError):
    """The campaigns' view of a failed Mailchimp call: Mailchimp answered with an error
    (``status`` is its HTTP status), or the wrapper refused to call (``status`` None).

    Not to be confused with ``mailchimp_errors.MailchimpError``, the wrapper's own base class,
    which is kept as ``cause``."""

    def __init__(self, message: str, *, status: int | None, retryable: bool,
                 cause: MailchimpError | None = None):
        super().__init__(message, retryable=retryable)
        self.status = status
        self.cause = cause


class MailchimpOutcomeUnknown(ProviderError):
    """No answer (timeout, dropped connection): the request may or may not have been applied."""

    status = None

    def __init__(self, message: str, *, cause: MailchimpError | None = None):
        super().__init__(message, retryable=True)
        self.cause = cause


def _describe(error: MailchimpError) -> str:
    if error.title or error.detail:
        return f"Mailchimp {error.status} {error.title}: {error.detail}".strip()
    if error.status is not None:
        return f"Mailchimp answered {error.status} with no body"
    return f"Mailchimp call failed: {error}"


def provider_error(error: MailchimpError) -> ProviderError:
    """The one mapping from the wrapper's typed errors to the provider's (table above)."""
    if isinstance(error, TransientError) and error.status is None:
        maybe = " (it may have been applied)" if error.outcome_unknown else ""
        return MailchimpOutcomeUnknown(f"No answer from Mailchimp{maybe}: {error!s:.300}",
                                       cause=error)
    return MailchimpProviderError(_describe(error), status=error.status,
                                  retryable=isinstance(error, RetryableError),
                                  cause=error)


def _unknown_addresses(answer: dict) -> set[str]:
    return {address.lower() for error in answer.get("errors") or []
            for address in error.get("email_addresses") or []}


@contextmanager
def _as_provider_errors():
    try:
        yield
    except MailchimpError as error:
        raise provider_error(error) from error


class MailchimpProvider(EmailProvider):
    name = "mailchimp"

    def __init__(self, *, config: dict | None = None, timeout: float | None = None,
                 **client_options):
        """``client_options`` go to MailchimpClient (retry, sleep, rng, clock), e.g. in tests."""
        self.config = config or settings.MAILCHIMP
        self.timeout = timeout or settings.MAILCHIMP_TIMEOUT
        self._client_options = {"retry": PROVIDER_RETRY, **client_options}
        self._client: MailchimpClient | None = None

    @property
    def client(self) -> MailchimpClient:
        """Built at the first call, so a missing key fails that call as a ProviderError."""
        if self._client is None:
            self._client = MailchimpClient.from_config(
                self.config, timeout=self.timeout, **self._client_options
            )
        return self._client

    # -- EmailProvider -----------------------------------------------------------------------
    def send_transactional(self, message: TransactionalEmail) -> SendReceipt:
        return LocalProvider().send_transactional(message)

    # -- campaigns ---------------------------------------------------------------------------
    def campaign_create(
        self, *, title: str, subject: str, preheader: str, segment_opts: dict | None
    ) -> str:
        from_name, reply_to = parseaddr(settings.DEFAULT_FROM_EMAIL)
        with _as_provider_errors():
            created = self.client.create_campaign(
                subject=subject, from_name=from_name or settings.WAGTAIL_SITE_NAME,
                reply_to=reply_to, title=title, preview_text=preheader,
                segment_opts=segment_opts, auto_footer=False, inline_css=False,
            )
        return created["id"]

    def campaign_set_content(self, campaign_id: str, *, html: str, text: str) -> None:
        with _as_provider_errors():
            self.client.set_campaign_content(campaign_id, html=mailchimp_markup(html),
                                             plain_text=mailchimp_markup(text))

    def campaign_send(self, campaign_id: str) -> None:
        """actions/send, one request, never retried here: on doubt the service reads the
        status (``campaign_status``) and trusts it."""
        with _as_provider_errors():
            self.client.send_campaign(campaign_id)

    def campaign_status(self, campaign_id: str) -> tuple[str, int | None]:
        """The campaign's status at Mailchimp and, once sending, how many it went to."""
        with _as_provider_errors():
            found = self.client.get_campaign(campaign_id, fields=["status", "emails_sent"])
        return found["status"], found.get("emails_sent")

    # -- static segments (who a catch-up campaign reaches, who an announcement leaves out) ---
    def segment_create_static(self, *, name: str) -> int:
        """An empty static segment; a POST, so not repeated after a doubt: persist the id."""
        with _as_provider_errors():
            return int(self.client.create_segment(name[:100], static_emails=[])["id"])

    def segment_add(self, segment_id: int, *, emails: list[str]) -> set[str]:
        """Add up to 500 addresses (safe to repeat); returns those Mailchimp did not know."""
        with _as_provider_errors():
            answer = self.client.segment_members_change(segment_id, add=emails)
        return _unknown_addresses(answer)

    def segment_remove(self, segment_id: int, *, emails: list[str]) -> None:
        """Take up to 500 addresses out (safe to repeat)."""
        with _as_provider_errors():
            self.client.segment_members_change(segment_id, remove=emails)

    def campaign_send_test(self, campaign_id: str, *, emails: list[str]) -> None:
        with _as_provider_errors():
            self.client.send_test(campaign_id, emails, send_type="html")

    def campaign_report(self, campaign_id: str) -> dict:
        with _as_provider_errors():
            report = self.client.campaign_report(campaign_id)
        return {
            "sent": report.get("emails_sent", 0),
            "opens": report.get("opens", {}).get("unique_opens", 0),
            "clicks": report.get("clicks", {}).get("unique_clicks", 0),
            "open_rate": report.get("opens", {}).get("open_rate", 0),
            "click_rate": report.get("clicks", {}).get("click_rate", 0),
        }
