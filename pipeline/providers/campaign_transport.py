"""How prepared campaign emails reach the mail server: several SMTP sessions at once, or inline.

A campaign worker spends most of a message's time waiting on the SMTP server's replies (MAIL,
RCPT, DATA, then the message: four round trips, two when the server offers PIPELINING and the
three commands go in one write), so ``SmtpTransport`` keeps several sessions open and sends on
all of them from a thread pool while the caller writes the ledger. Sessions are opened through
Django's SMTP backend, so ``EMAIL_*`` settings (TLS, SSL, login, timeout) apply, and each is
renewed after ``max_messages`` (relays cap messages per session). A session that fails is
closed and never used again in this run: every later message handed to it comes back
``NotSent`` (provably not sent), and the caller stops and retries later.

``InlineTransport`` runs each send in the calling thread through whatever Django backend is
configured (file, console, locmem, or one of an operator's own), which need not be thread-safe.

Both return ``concurrent.futures.Future`` objects, so the caller waits on them the same way.
"""

import contextlib
import queue
import smtplib
import socket
import threading
from collections.abc import Callable
from concurrent.futures import Future

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.utils.module_loading import import_string

from pipeline.providers.campaign_email import PreparedEmail

CONNECTION_TROUBLE = (smtplib.SMTPException, socket.timeout, OSError)


class NotSent(Exception):
    """The message was not handed over. ``permanent``: refused for good for this reader (a 5xx
    to RCPT or to the message itself); a refused sender or session is never permanent."""

    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.permanent = permanent


class MaybeSent(Exception):
    """The session broke while the message was going out: the server may have accepted it."""


def _dot_stuffed(raw: bytes) -> bytes:
    """RFC 5321 4.5.2 transparency for a CRLF-only message, ending in CRLF (what
    ``smtplib.SMTP.data`` does with a multi-line regex, at a tenth of the cost)."""
    if raw.startswith(b"."):
        raw = b"." + raw
    if b"\r\n." in raw:
        raw = raw.replace(b"\r\n.", b"\r\n..")
    return raw if raw.endswith(b"\r\n") else raw + b"\r\n"


class _SmtpChannel:
    """One SMTP session, used by one thread at a time.

    It runs MAIL, RCPT and DATA over smtplib's socket rather than ``smtplib.sendmail`` (which
    never pipelines) so that it knows how far a message got: a failure before the message
    itself goes out means it was not sent (and can go back in the queue); only a failure while
    it goes out, or while the server's verdict is awaited, leaves it uncertain. Pipelined or
    not, the message goes only once all three were accepted, so a refusal of any of them is
    known before anything of the message is sent (a reader refused at RCPT is failed, not
    uncertain).
    """

    def __init__(self, *, max_messages: int) -> None:
        self.backend = get_connection(fail_silently=False)
        self.max_messages = max_messages
        self.sent = 0
        self.closed = ""  # why the session was given up, once it is

    def open(self) -> None:
        self.backend.open()
        self.sent = 0

    def send(self, email: PreparedEmail, *, envelope_from: str) -> None:
        if self.closed:
            raise NotSent(f"The SMTP session was closed after an earlier failure: {self.closed}",
                          permanent=False)
        if self.sent >= self.max_messages:
            self._renew()
        smtp = self.backend.connection
        try:
            smtp.ehlo_or_helo_if_needed()
            # Plain commands, not mail()/rcpt(): the addresses are plain already
            # (envelope_address), and smtplib's quoteaddr re-parses each one with email.utils.
            commands = (f"MAIL FROM:<{envelope_from}>\r\n", f"RCPT TO:<{email.envelope_to}>\r\n",
                        "DATA\r\n")
            if smtp.does_esmtp and "pipelining" in smtp.esmtp_features:
                # RFC 2920: the three in one write, then their three replies in order.
                smtp.send("".join(commands))
                replies = self._replies(smtp, len(commands))
            else:
                replies = []
                for command in commands:
                    smtp.send(command)
                    replies += self._replies(smtp, 1)
                    if replies[-1][0] not in (250, 251):
                        break  # a refusal: the next command is not sent
        except CONNECTION_TROUBLE as error:
            self._lose(f"lost before the message went out: {error}")
            raise NotSent(f"SMTP session lost before the message went out: {error}",
                          permanent=False) from error
        self._check_envelope(replies)
        try:
            smtp.send(_dot_stuffed(email.raw) + b".\r\n")
            code, reply = smtp.getreply()
        except CONNECTION_TROUBLE as error:
            self._lose(f"lost while a message was going out: {error}")
            raise MaybeSent(f"SMTP session lost while the message was going out: {error}"
                            ) from error
        if code != 250:
            self._refused("the message", code, reply, permanent=code >= 500)
        self.sent += 1

    @staticmethod
    def _replies(smtp: smtplib.SMTP, count: int) -> list[tuple[int, bytes]]:
        """Up to ``count`` replies; fewer after a 421, since the server closes the session."""
        replies = []
        while len(replies) < count and (not replies or replies[-1][0] != 421):
            replies.append(smtp.getreply())
        return replies

    def _check_envelope(self, replies: list[tuple[int, bytes]]) -> None:
        """Raise ``NotSent`` for the first refusal among the replies to MAIL, RCPT and DATA
        (the message itself has not gone out yet, whatever they say)."""
        stages = ("MAIL FROM", "RCPT TO", "DATA")
        for stage, (code, reply) in zip(stages, replies, strict=False):
            wanted = 354 if stage == "DATA" else 250
            if code == wanted or (stage == "RCPT TO" and code == 251):
                continue
            if replies[-1][0] == 354:
                # Refused before DATA, yet a (pipelined) DATA was taken: a message with no
                # content must not go, so this session is given up instead.
                self._lose(f"{stage} refused but DATA accepted")
            # The sender or the session refused: never this reader's fault. RCPT: a 5xx is
            # this reader refused for good.
            self._refused(stage, code, reply, permanent=stage == "RCPT TO" and code >= 500)

    def _refused(self, stage: str, code: int, reply: bytes, *, permanent: bool) -> None:
        text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
        if code == 421:  # the server is closing the session
            self._lose(f"{code} {text}"[:300])
        elif not self.closed:
            with contextlib.suppress(*CONNECTION_TROUBLE):
                self.backend.connection.rset()
        raise NotSent(f"SMTP refused {stage}: {code} {text}"[:500], permanent=permanent)

    def _renew(self) -> None:
        self.close()
        try:
            self.open()
        except CONNECTION_TROUBLE as error:
            self.closed = f"could not open a new session: {error}"
            raise NotSent(f"Could not open a new SMTP session: {error}",
                          permanent=False) from error

    def _lose(self, why: str) -> None:
        self.close()
        self.closed = why or "lost"

    def close(self) -> None:
        with contextlib.suppress(*CONNECTION_TROUBLE):
            self.backend.close()


class _BackendChannel:
    """Any Django email backend, one message at a time."""

    def __init__(self) -> None:
        self.backend = get_connection(fail_silently=False)

    def send(self, email: PreparedEmail, *, envelope_from: str) -> None:
        try:
            accepted = self.backend.send_messages([email])
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            raise NotSent(f"Refused: {error}"[:500],
                          permanent=not codes or min(codes) >= 500) from error
        except smtplib.SMTPResponseException as error:
            raise NotSent(f"SMTP {error.smtp_code}: {error.smtp_error!r}"[:500],
                          permanent=error.smtp_code >= 500) from error
        except CONNECTION_TROUBLE as error:
            raise MaybeSent(f"The email backend failed while sending: {error}") from error
        if accepted != 1:
            raise NotSent("The email backend accepted no message.", permanent=False)

    def close(self) -> None:
        with contextlib.suppress(*CONNECTION_TROUBLE):
            self.backend.close()


Work = Callable[["_SmtpChannel | _BackendChannel"], object]


class SmtpTransport:
    """``size`` SMTP sessions, each driven by its own thread that takes the next work from one
    queue (a plain queue, not a ``ThreadPoolExecutor``: its bookkeeping per submit costs more
    than the rest of a message's dispatch)."""

    def __init__(self, *, size: int, max_messages: int) -> None:
        self.opened: list[_SmtpChannel] = []
        problem = None
        for _ in range(size):
            channel = _SmtpChannel(max_messages=max_messages)
            try:
                channel.open()
            except CONNECTION_TROUBLE as error:
                problem = error  # a server that caps sessions per client: use what we got
                break
            self.opened.append(channel)
        if not self.opened:
            raise NotSent(f"SMTP unavailable: {problem}", permanent=False)
        self.size = len(self.opened)
        self.work: queue.SimpleQueue[tuple[Work, Future] | None] = queue.SimpleQueue()
        self.threads = [threading.Thread(target=self._drive, args=(channel,), daemon=True,
                                         name=f"smtp-{index}")
                        for index, channel in enumerate(self.opened)]
        for thread in self.threads:
            thread.start()

    def submit(self, work: Work) -> Future:
        future: Future = Future()
        self.work.put((work, future))
        return future

    def _drive(self, channel: _SmtpChannel) -> None:
        while (item := self.work.get()) is not None:
            work, future = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(work(channel))
            except BaseException as error:  # delivered to the caller through the future
                future.set_exception(error)

    def close(self) -> None:
        # Work not yet started is cancelled, as ThreadPoolExecutor.shutdown(cancel_futures).
        with contextlib.suppress(queue.Empty):
            while True:
                item = self.work.get_nowait()
                if item is not None:
                    item[1].cancel()
        for _ in self.threads:
            self.work.put(None)
        for thread in self.threads:
            thread.join()
        for channel in self.opened:
            channel.close()


class InlineTransport:
    """Sends in the calling thread: for backends that are not SMTP."""

    size = 1

    def __init__(self) -> None:
        self.channel = _BackendChannel()

    def submit(self, work: Work) -> Future:
        future: Future = Future()
        try:
            future.set_result(work(self.channel))
        except Exception as error:  # delivered to the caller through the future
            future.set_exception(error)
        return future

    def close(self) -> None:
        self.channel.close()


def open_transport(*, connections: int, max_messages: int) -> SmtpTransport | InlineTransport:
    """Parallel SMTP sessions when the email backend is Django's SMTP one, else inline."""
    if issubclass(import_string(settings.EMAIL_BACKEND), SmtpBackend):
        return SmtpTransport(size=connections, max_messages=max_messages)
    return InlineTransport()
