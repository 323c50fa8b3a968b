"""An SMTP sink on loopback that misbehaves on purpose, for the local-delivery tests.

On top of smtp_sink's count of copies it can refuse chosen recipients at RCPT (permanently, or
a number of times), refuse a message at the end of DATA, hang up at a chosen MAIL FROM, take a
chosen recipient's message and hang up before answering (the client cannot know it arrived),
and turn away sessions beyond a cap with 421 (as Postfix's connection limits do). It also
counts sessions and keeps what each recipient received. With ``pipelining`` its EHLO offers
PIPELINING. It keeps what arrived in each read (to see whether a client
pipelined: MAIL, RCPT and DATA in one chunk, or each in its own).
"""

import collections

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

from tests.support.smtp_sink import CountingHandler, SmtpSink


class FaultyHandler(CountingHandler):
    def __init__(self, *, max_sessions: int | None = None, pipelining: bool = False):
        super().__init__()
        self.pipelining = pipelining
        self.chunks: list[bytes] = []  # the bytes of every session as they arrived
        self.max_sessions = max_sessions
        self.rcpt_refusals: dict[str, list] = {}  # address -> [reply, times left or None]
        self.data_refusals: dict[str, str] = {}  # address -> reply at the end of DATA
        self.hang_up_at_mail: set[int] = set()  # which MAIL FROM commands (1st = 1), any session
        self.mail_reply = "250 OK"  # what MAIL FROM is answered (e.g. a refused sender)
        self.hang_up_before_verdict: set[str] = set()  # addresses: message taken, then cut
        self.mails = 0
        self.sessions = 0  # sessions admitted, in all
        self.active = 0
        self.most_active = 0
        self.turned_away = 0
        self.most_per_session = 0
        self.senders: set[str] = set()
        self.received: collections.defaultdict = collections.defaultdict(list)  # rcpt -> bytes

    def refuse_rcpt(self, address: str, reply: str, *, times: int | None = None) -> None:
        self.rcpt_refusals[address.lower()] = [reply, times]

    # Sessions (called on the sink's event loop by _Session).
    def admit(self) -> bool:
        with self.lock:
            if self.max_sessions is not None and self.active >= self.max_sessions:
                self.turned_away += 1
                return False
            self.sessions += 1
            self.active += 1
            self.most_active = max(self.most_active, self.active)
            return True

    def leave(self) -> None:
        with self.lock:
            self.active -= 1

    # SMTP hooks.
    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        with self.lock:
            self.mails += 1
            hang_up = self.mails in self.hang_up_at_mail
            self.senders.add(address)
        if hang_up:
            return _hang_up(server)
        if self.mail_reply.startswith("250"):
            envelope.mail_from = address
        return self.mail_reply

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self.lock:
            refusal = self.rcpt_refusals.get(address.lower())
            if refusal and refusal[1] is not None:
                refusal[1] -= 1
                if refusal[1] < 0:
                    refusal = None
        if refusal:
            if refusal[0].startswith("421"):  # the server closes the session after saying so
                server.loop.call_soon(server.transport.close)
            return refusal[0]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        (rcpt,) = [address.lower() for address in envelope.rcpt_tos]  # one per message
        if rcpt in self.data_refusals:
            return self.data_refusals[rcpt]
        await super().handle_DATA(server, session, envelope)
        with self.lock:
            self.received[rcpt].append(envelope.content)
            server.messages += 1
            self.most_per_session = max(self.most_per_session, server.messages)
        if rcpt in self.hang_up_before_verdict:
            return _hang_up(server)
        return "250 Message accepted"


def _hang_up(server) -> str:
    """Cut the connection now: the reply returned after this is never written."""
    server.transport.abort()
    return "250 never sent"


class _Session(SMTP):
    """One connection; turned away with 421 before the greeting when the cap is reached."""

    def __init__(self, handler: FaultyHandler, **kwargs):
        super().__init__(handler, **kwargs)
        self.admitted = False
        self.messages = 0

    def connection_made(self, transport):
        if not self.event_handler.admit():
            transport.write(b"421 4.7.0 Too many connections from your address\r\n")
            transport.close()
            return
        self.admitted = True
        super().connection_made(transport)

    def data_received(self, data: bytes) -> None:
        self.event_handler.chunks.append(data)
        super().data_received(data)

    def connection_lost(self, error):
        if self.admitted:
            self.event_handler.leave()
            super().connection_lost(error)


class _Controller(Controller):
    def factory(self):
        return _Session(self.handler, **self.SMTP_kwargs)


class FaultySmtpSink(SmtpSink):
    handler: FaultyHandler

    def __init__(self, *, max_sessions: int | None = None, pipelining: bool = False):
        super().__init__(FaultyHandler(max_sessions=max_sessions, pipelining=pipelining))

    def make_controller(self, port: int) -> Controller:
        return _Controller(self.handler, hostname="127.0.0.1", port=port)

