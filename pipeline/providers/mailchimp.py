"""Mailchimp delivery: list campaigns through the official mailchimp-marketing client.

Each method is one API operation that the campaigns service records before and after (see
pipeline/services/campaign_mailchimp.py for the order: create → persist id → content → commit
"send requested" → actions/send → on doubt read the campaign's status and trust it).

Transactional email (the double opt-in confirmation) has no Marketing API call, so it goes
through the local provider.

Every call goes through ``_call``, which turns the client's two ways of failing (an
ApiClientError, or a bare ``requests.Response`` for body-less non-2xx answers) and transport
errors into the typed errors below. The emulator branch's ``mailchimp_client.py`` is meant to be
the project's one wrapper; when it lands, ``_call`` delegates to it.
"""

import json
from email.utils import parseaddr

import requests
from django.conf import settings
from mailchimp_marketing import Client
from mailchimp_marketing.api_client import ApiClientError

from pipeline.providers.base import EmailProvider, ProviderError, SendReceipt, TransactionalEmail


class MailchimpError(ProviderError):
    """Mailchimp answered, and the answer was an error (``status`` is its HTTP status)."""

    def __init__(self, message: str, *, status: int, retryable: bool):
        super().__init__(message, retryable=retryable)
        self.status = status


class MailchimpOutcomeUnknown(ProviderError):
    """No answer (timeout, dropped connection): the request may or may not have been applied."""

    def __init__(self, message: str):
        super().__init__(message, retryable=True)


def _describe(status: int, text: str) -> str:
    try:
        body = json.loads(text) if text else {}
    except ValueError:
        body = {}
    if isinstance(body, dict) and (body.get("title") or body.get("detail")):
        return f"Mailchimp {status} {body.get('title', '')}: {body.get('detail', '')}".strip()
    return f"Mailchimp answered {status}" + (f": {text[:200]}" if text else " with no body")


def _error(status: int, text: str) -> MailchimpError:
    return MailchimpError(
        _describe(status, text), status=status, retryable=status == 429 or status >= 500
    )


class MailchimpProvider(EmailProvider):
    name = "mailchimp"

    def __init__(self, *, config: dict | None = None, timeout: float | None = None):
        self.config = config or settings.MAILCHIMP
        self.timeout = timeout or getattr(settings, "MAILCHIMP_TIMEOUT", 15)

    # -- plumbing ----------------------------------------------------------------------------
    def client(self) -> Client:
        client = Client()
        options = {"api_key": self.config["API_KEY"], "timeout": self.timeout}
        if self.config.get("API_URL"):
            client.api_client.host = self.config["API_URL"]
            options["server"] = ""  # the client replaces "server" anywhere in the URL
        elif self.config.get("SERVER"):
            options["server"] = self.config["SERVER"]
        client.set_config(options)
        return client

    def _call(self, operation):
        try:
            answer = operation(self.client())
        except ApiClientError as error:
            # The client wraps transport failures too: text is then the exception itself.
            if isinstance(error.text, BaseException) or error.status_code is None:
                raise MailchimpOutcomeUnknown(
                    f"No answer from Mailchimp: {error.text!s:.300}"
                ) from error
            text = error.text if isinstance(error.text, str) else json.dumps(error.text)
            raise _error(int(error.status_code), text) from error
        if isinstance(answer, requests.Response):
            if answer.status_code >= 400:
                raise _error(answer.status_code, answer.text)
            return None
        return answer

    # -- EmailProvider -----------------------------------------------------------------------
    def send_transactional(self, message: TransactionalEmail) -> SendReceipt:
        from pipeline.providers.local import LocalProvider

        return LocalProvider().send_transactional(message)

    # -- campaigns ---------------------------------------------------------------------------
    def campaign_create(
        self, *, title: str, subject: str, preheader: str, segment_opts: dict | None
    ) -> str:
        from_name, reply_to = parseaddr(settings.DEFAULT_FROM_EMAIL)
        recipients = {"list_id": self.config["LIST_ID"]}
        if segment_opts:
            recipients["segment_opts"] = segment_opts
        body = {
            "type": "regular",
            "recipients": recipients,
            "settings": {
                "title": title,
                "subject_line": subject,
                "preview_text": preheader,
                "from_name": from_name or settings.WAGTAIL_SITE_NAME,
                "reply_to": reply_to,
                "auto_footer": False,
                "inline_css": False,
            },
        }
        created = self._call(lambda c: c.campaigns.create(body))
        return created["id"]

    def campaign_set_content(self, campaign_id: str, *, html: str, text: str) -> None:
        self._call(
            lambda c: c.campaigns.set_content(campaign_id, {"html": html, "plain_text": text})
        )

    def campaign_send(self, campaign_id: str) -> None:
        self._call(lambda c: c.campaigns.send(campaign_id))

    def campaign_status(self, campaign_id: str) -> tuple[str, int | None]:
        """The campaign's status at Mailchimp and, once sending, how many it went to."""
        found = self._call(
            lambda c: c.campaigns.get(campaign_id, fields=["status", "emails_sent"])
        )
        return found["status"], found.get("emails_sent")

    def campaign_send_test(self, campaign_id: str, *, emails: list[str]) -> None:
        self._call(
            lambda c: c.campaigns.send_test_email(
                campaign_id, {"test_emails": emails, "send_type": "html"}
            )
        )

    def campaign_report(self, campaign_id: str) -> dict:
        report = self._call(lambda c: c.reports.get_campaign_report(campaign_id))
        return {
            "sent": report.get("emails_sent", 0),
            "opens": report.get("opens", {}).get("unique_opens", 0),
            "clicks": report.get("clicks", {}).get("unique_clicks", 0),
            "open_rate": report.get("opens", {}).get("open_rate", 0),
            "click_rate": report.get("clicks", {}).get("click_rate", 0),
        }
