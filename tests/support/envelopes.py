"""An SMTP sink handler (for tests.support.smtp_sink.SmtpSink) that keeps each message's
envelope: who it came from (the return path), who it went to, and its Message-ID."""

import email
import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class Envelope:
    mail_from: str
    rcpt: str
    message_id: str
    subject: str


class EnvelopeHandler:
    def __init__(self):
        self.lock = threading.Lock()
        self.envelopes: list[Envelope] = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content)
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.envelopes.append(Envelope(envelope.mail_from, rcpt.lower(),
                                               str(message["Message-ID"]),
                                               str(message["Subject"])))
        return "250 OK"

    def take(self) -> list[Envelope]:
        """The envelopes received since the last call."""
        with self.lock:
            taken, self.envelopes = self.envelopes, []
        return taken
