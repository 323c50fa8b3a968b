import email
import socket
from dataclasses import replace

import pytest
from aiosmtpd.controller import Controller
from django.core.exceptions import ImproperlyConfigured

from pipeline.providers.base import (
    EmailProvider,
    ProviderError,
    TransactionalEmail,
    get_provider,
)
from pipeline.providers.local import LocalProvider
from tests.support.smtp_sink import use_smtp_server

MESSAGE = TransactionalEmail(
    to="ann@example.com",
    subject="Confirm your subscription",
    text="Open the link.",
    html="<p>Open the <a href='http://x'>link</a>.</p>",
    headers={"X-Partwork-Category": "subscriber-confirm"},
    category="subscriber-confirm",
)


def test_the_setting_chooses_the_provider(settings):
    settings.EMAIL_PROVIDER = "local"
    provider = get_provider()
    assert isinstance(provider, LocalProvider) and isinstance(provider, EmailProvider)
    settings.EMAIL_PROVIDER = "carrier-pigeon"
    with pytest.raises(ImproperlyConfigured, match="carrier-pigeon.*choose one of: local"):
        get_provider()


def test_local_provider_writes_files_for_the_embedded_default(settings, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = tmp_path
    receipt = LocalProvider().send_transactional(MESSAGE)
    [written] = list(tmp_path.iterdir())
    parsed = email.message_from_bytes(written.read_bytes().split(b"\n" + b"-" * 79)[0])
    assert parsed["To"] == "ann@example.com"
    assert parsed["Message-ID"] == receipt.message_id
    assert parsed["X-Partwork-Category"] == "subscriber-confirm"
    assert {part.get_content_type() for part in parsed.walk()} >= {"text/plain", "text/html"}


class _Sink:
    def __init__(self):
        self.messages = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("refused@"):
            return "550 5.1.1 No such user"
        if address.startswith("busy@"):
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_sink(settings):
    sink = _Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=_free_port())
    controller.start()
    use_smtp_server(settings, controller.port)
    yield sink
    controller.stop()


def test_local_provider_delivers_over_real_smtp(smtp_sink):
    receipt = LocalProvider().send_transactional(MESSAGE)
    [received] = smtp_sink.messages
    assert received["Message-ID"] == receipt.message_id
    assert received["Subject"] == "Confirm your subscription"
    assert receipt.provider == "local"


@pytest.mark.parametrize(("address", "retryable"), [("refused@example.com", False),
                                                    ("busy@example.com", True)])
def test_smtp_refusals_say_whether_a_retry_can_help(smtp_sink, address, retryable):
    with pytest.raises(ProviderError) as raised:
        LocalProvider().send_transactional(replace(MESSAGE, to=address))
    assert raised.value.retryable is retryable
    assert not smtp_sink.messages


def test_an_unreachable_smtp_server_is_a_retryable_error(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", _free_port(), 2
    with pytest.raises(ProviderError) as raised:
        LocalProvider().send_transactional(MESSAGE)
    assert raised.value.retryable
