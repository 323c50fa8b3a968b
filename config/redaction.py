"""Secrets that travel in URL paths, kept out of every log line.

These URLs carry a secret in their path: the Mailchimp list webhook
(``/hooks/mailchimp/<MAILCHIMP_WEBHOOK_SECRET>/``, the whole authentication of unsigned webhooks),
the subscriber links (``/api/subscribers/{confirm,preferences,unsubscribe,data}/<token>``, and
the reader's pages ``/preferences/<token>/...``),
the admin's password reset links (``/admin/password_reset/confirm/<uid>/<token>/``), draft
previews (``/api/preview/<signed token>``), campaigns' web versions (``/email/<token>/``; a
series' archive, ``/email/series/<slug>/``, is not secret), and the readers' tokens in tracked
links and the open pixel (``/r/<link id>/<token>``, ``/o/<token>.gif``);
tests/config/test_log_redaction.py fails when a route with a token or secret is not covered.
``RedactSecrets`` is a logging filter that replaces those path segments with ``[redacted]`` in the
message, in any extra attribute (Django's ``django.request`` logger attaches the request) and in
the traceback text. Django's console handler uses it (config/settings/base.py) and so does
gunicorn, for its access and error logs (config/gunicorn.py).

It imports nothing of Django: gunicorn's master loads it before the application.
"""

import logging
import re

REDACTED = "[redacted]"

# A path segment: up to the next slash, query, fragment, quote or blank.
_SEGMENT = r"[^/?#\s\"'<>]+"
SECRET_PATHS = re.compile(
    rf"(/hooks/mailchimp/|/api/subscribers/(?:confirm|preferences|unsubscribe|data)/"
    rf"|/preferences/|/api/preview/|/email/(?!series/)|/r/[^/?#\s]+/|/o/"
    rf"|/password_reset/confirm/){_SEGMENT}(?:/{_SEGMENT})?"
)

# What every LogRecord has; anything else on a record was added by the caller (``extra``).
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message", "asctime", "request_id", "task_id", "part_id", "campaign_id",
}


def redact(text: str) -> str:
    return SECRET_PATHS.sub(rf"\1{REDACTED}", text)


class RedactSecrets(logging.Filter):
    """Rewrite the record in place so no handler after this one sees a secret path segment."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info:
            # Format the traceback once, here, so formatters print the redacted copy.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        for name, value in list(record.__dict__.items()):
            if name in _STANDARD or value is None or isinstance(value, int | float | bool):
                continue
            text = value if isinstance(value, str) else str(value)
            cleaned = redact(text)
            if cleaned != text:
                setattr(record, name, cleaned)
        return True
