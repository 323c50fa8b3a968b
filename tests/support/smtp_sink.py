"""An SMTP sink on loopback (aiosmtpd) counting the copies each recipient got of each subject.

aiosmtpd reads commands one line at a time from a buffer, so it takes pipelined commands as they
come, but its EHLO does not offer PIPELINING (RFC 2920): ``offer_pipelining`` adds the keyword,
so a client may send MAIL, RCPT and DATA in one write, as Postfix and the big relays allow.
"""

import collections
import email
import logging
import socket
import threading

from aiosmtpd.controller import Controller


def offer_pipelining(responses: list[str]) -> list[str]:
    """aiosmtpd's EHLO lines with PIPELINING added before the last one."""
    return [*responses[:-1], "250-PIPELINING", responses[-1]]


class PipeliningSink:
    """aiosmtpd's Sink (takes every message, keeps nothing), offering PIPELINING; for
    ``python -m aiosmtpd -c tests.support.smtp_sink.PipeliningSink`` (bench/local_delivery.py)."""

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        return offer_pipelining(responses)

    async def handle_DATA(self, server, session, envelope):
        return "250 OK"


class CountingHandler:
    pipelining = False  # whether EHLO offers PIPELINING

    def __init__(self):
        self.lock = threading.Lock()
        self.copies: collections.Counter = collections.Counter()  # (subject, rcpt) -> n
        self.total = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        return offer_pipelining(responses) if self.pipelining else responses

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content)
        subject = str(message.get("Subject", ""))
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.copies[(subject, rcpt.lower())] += 1
                self.total += 1
        return "250 Message accepted"


class KeepingHandler(CountingHandler):
    """Counts like CountingHandler and keeps every message's bytes as received."""

    def __init__(self):
        super().__init__()
        self.raw: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.raw.append(envelope.original_content or envelope.content)
        return await super().handle_DATA(server, session, envelope)


class SmtpSink:
    def __init__(self, handler: CountingHandler | None = None):
        self.handler = handler or CountingHandler()
        with socket.socket() as probe:  # the controller cannot be given port 0
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.controller = self.make_controller(port)

    def make_controller(self, port: int) -> Controller:
        return Controller(self.handler, hostname="127.0.0.1", port=port)

    def __enter__(self) -> "SmtpSink":
        logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every command
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()

    @property
    def port(self) -> int:
        return self.controller.port


def use_smtp_server(settings, port: int) -> None:
    """Point Django's SMTP backend at a plain (no TLS, no login) server on loopback."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
