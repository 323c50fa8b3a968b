"""Issue 12, item 8: the webhook secret and subscriber tokens travel in URL paths; no log may
write them (the path secret is the whole authentication of unsigned Mailchimp webhooks, and a
link token is the subscriber's key to their preferences).

Before: Django's ``django.request`` logger wrote every 4xx path, with the request attached (the
JSON formatter prints it too), and gunicorn's access log wrote every request line and Referer."""

import io
import logging
import secrets
import signal

import pytest
from django.utils.module_loading import import_string

from pipeline.subscribers.services import subscriber_preferences_url
from pipeline.subscribers.tokens import CONFIRM, make_token
from tests.support.compose import ComposeStack
from tests.support.processes import test_database_url as child_database_url
from tests.support.processes import wait_until
from tests.support.subscribers import link_path, make_member

SECRET = "webhook-path-secret-0123456789"


def _console_handler() -> logging.Handler:
    """The handler settings.LOGGING gives the root logger (not pytest's capture)."""
    return next(h for h in logging.getLogger().handlers
                if type(h) is logging.StreamHandler and h.formatter is not None)


@pytest.fixture
def written_logs(settings):
    """Everything the configured console handler writes, in text and in JSON form."""
    handler = _console_handler()
    text, as_json = io.StringIO(), io.StringIO()
    json_options = dict(settings.LOGGING["formatters"]["json"])
    json_formatter = import_string(json_options.pop("()"))(**json_options)
    second = logging.StreamHandler(as_json)
    second.setFormatter(json_formatter)
    for name in handler.filters:  # the same filters, in the same order
        second.addFilter(name)
    old_stream = handler.setStream(text)
    root = logging.getLogger()
    root.addHandler(second)
    try:
        yield lambda: text.getvalue() + as_json.getvalue()
    finally:
        root.removeHandler(second)
        handler.setStream(old_stream)


@pytest.mark.django_db
def test_django_request_log_writes_neither_the_webhook_secret_nor_a_token(client, settings,
                                                                         written_logs, series):
    settings.MAILCHIMP = {**settings.MAILCHIMP, "WEBHOOK_SECRET": SECRET}
    member = make_member()
    preferences = link_path(subscriber_preferences_url(member))
    token = preferences.rstrip("/").rsplit("/", 1)[-1]

    assert client.post(f"/hooks/mailchimp/{SECRET}/", "garbage",
                       content_type="application/x-www-form-urlencoded").status_code == 400
    assert client.put(preferences, {"series": "not a list"},
                      content_type="application/json").status_code == 422
    logs = written_logs()
    assert "Bad Request" in logs and "Unprocessable" in logs  # django.request wrote its lines
    assert SECRET not in logs
    assert token not in logs


@pytest.mark.django_db
def test_the_web_server_s_access_log_writes_neither_the_webhook_secret_nor_a_token(tmp_path,
                                                                                   settings):
    """The compose file's own gunicorn command, as production runs it."""
    settings.SECRET_KEY = secrets.token_urlsafe(50)  # the web server's too: the token is valid
    stack = ComposeStack(tmp_path, database_url=child_database_url(), redis_url=settings.REDIS_URL,
                         extra_env={"SECRET_KEY": settings.SECRET_KEY,
                                    "MAILCHIMP_WEBHOOK_SECRET": SECRET})
    token = make_token(CONFIRM, subscriber_id=1, email="ann@example.com", consent_id=1)
    confirm_url = f"http://127.0.0.1:{stack.web_port}/api/subscribers/confirm/{token}"
    web = stack.start("web")
    try:
        wait_until(lambda: stack.get(f"/hooks/mailchimp/{SECRET}/")[0] == 200, timeout=60,
                   what="gunicorn answering")
        assert stack.get(f"/api/subscribers/confirm/{token}", Referer=confirm_url)[0] == 200
        assert stack.get(f"/hooks/mailchimp/{SECRET}x/")[0] == 403
    finally:
        web.kill(signal.SIGTERM)
    log = web.log()
    assert "GET /api/subscribers/confirm/" in log and "GET /hooks/mailchimp/" in log
    assert SECRET not in log
    assert token not in log

