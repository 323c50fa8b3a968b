"""Polling the bounce mailbox over IMAP (TLS or STARTTLS; plain only on loopback).

Each message is read with BODY.PEEK (it stays unread if we stop), parsed, and its reports
recorded together with a MailboxMessage row naming it, in one transaction; only after that
commit is the message moved to ``BOUNCE_IMAP_PROCESSED_FOLDER`` (or deleted). A poll killed
between the two leaves the message in place: the next poll finds its row and only moves it.
The same message read twice, or by two polls at once, records nothing twice (events are unique
per source and key; the message row is unique per key). Moving is IMAP MOVE where the server
offers it, else COPY and a \\Deleted flag, expunged at the end of the poll; messages a killed
poll left flagged are expunged at the start of the next one, never read again.
"""

import contextlib
import imaplib
import ipaddress
import logging
import socket
import ssl
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from pipeline.deliverability.models import EventSource, MailboxMessage
from pipeline.deliverability.services.events import event_record
from pipeline.deliverability.services.parsing import parse_mailbox_message

logger = logging.getLogger(__name__)
TIMEOUT = 30
HEARTBEAT_KEY = "deliverability:bounce-mailbox-heartbeat"


class MailboxError(Exception):
    """The mailbox could not be reached or refused us; nothing was lost (messages stay)."""


@dataclass
class PollResult:
    configured: bool = True
    read: int = 0
    events: int = 0
    ignored: int = 0
    unrecognised: int = 0
    already_seen: int = 0


def mailbox_configured() -> bool:
    return bool(settings.BOUNCE_IMAP_HOST and settings.BOUNCE_IMAP_USER
                and settings.BOUNCE_IMAP_PASSWORD)


def _is_loopback(host: str) -> bool:
    try:
        return all(ipaddress.ip_address(info[4][0]).is_loopback
                   for info in socket.getaddrinfo(host, None))
    except (OSError, ValueError):
        return False


def _connect() -> imaplib.IMAP4:
    host, port = settings.BOUNCE_IMAP_HOST, settings.BOUNCE_IMAP_PORT
    security = settings.BOUNCE_IMAP_SECURITY
    context = ssl.create_default_context(cafile=settings.BOUNCE_IMAP_CA_FILE)
    try:
        if security == "tls":
            client = imaplib.IMAP4_SSL(host, port, ssl_context=context, timeout=TIMEOUT)
        else:
            if security == "plain" and not _is_loopback(host):
                raise MailboxError("BOUNCE_IMAP_SECURITY=plain is refused for a server that is "
                                   f"not on loopback ({host}): use tls or starttls.")
            client = imaplib.IMAP4(host, port, timeout=TIMEOUT)
            if security == "starttls":
                client.starttls(ssl_context=context)
        client.login(settings.BOUNCE_IMAP_USER, settings.BOUNCE_IMAP_PASSWORD)
        # Servers announce more after login (MOVE, UIDPLUS); imaplib keeps the first list.
        kind, data = client.capability()
        if kind == "OK" and data and data[0]:
            client.capabilities = tuple(data[0].decode("ascii", "replace").upper().split())
    except (OSError, imaplib.IMAP4.error, ssl.SSLError) as error:
        raise MailboxError(f"Bounce mailbox {host}:{port} ({security}): {error}") from error
    return client


def _quote(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _check(answer, what: str):
    kind, data = answer
    if kind != "OK":
        raise MailboxError(f"IMAP {what} refused: {data!r}")
    return data


def bounce_mailbox_handle(raw: bytes) -> tuple[str, int]:
    """Record what one mailbox message reports, once: (its outcome, events recorded)."""
    parsed = parse_mailbox_message(raw)
    key = parsed.key
    with transaction.atomic():
        if MailboxMessage.objects.filter(key=key).exists():
            return "seen", 0
        recorded = [event for event in (event_record(source=EventSource.MAILBOX, report=report,
                                                     by_address=False)
                                        for report in parsed.reports) if event is not None]
        outcome = f"{parsed.kind}: {parsed.why}"
        if recorded:
            outcome += " → " + "; ".join(f"{e.email}: {e.outcome}" for e in recorded)
        try:
            with transaction.atomic():
                MailboxMessage.objects.create(key=key, outcome=outcome[:300],
                                              subject=parsed.subject[:300])
        except IntegrityError:
            return "seen", 0  # another poll took it at the same moment
    return parsed.kind, len(recorded)


def bounce_mailbox_heartbeat() -> dict:
    """For the health check: the last successful poll, and since when polls fail (and why)."""
    return cache.get(HEARTBEAT_KEY) or {}


def _beat(*, error: str = "") -> None:
    beat, now = bounce_mailbox_heartbeat(), timezone.now()
    if error:
        beat.setdefault("failing_since", now)
        beat["last_error"] = error[:300]
    else:
        beat = {"last_success_at": now}
    cache.set(HEARTBEAT_KEY, beat, timeout=None)


def bounce_mailbox_poll(*, limit: int | None = None) -> PollResult:
    """Read up to ``limit`` (``BOUNCE_POLL_BATCH``) messages, record them, move or delete them."""
    if not mailbox_configured():
        return PollResult(configured=False)
    try:
        result = _poll(limit)
    except MailboxError as error:
        _beat(error=str(error))
        raise
    _beat()
    return result


def _poll(limit: int | None) -> PollResult:
    result = PollResult()
    client = _connect()
    try:
        _check(client.select(_quote(settings.BOUNCE_IMAP_FOLDER)), "SELECT")
        target = settings.BOUNCE_IMAP_PROCESSED_FOLDER
        if not settings.BOUNCE_IMAP_DELETE:
            client.create(_quote(target))  # NO when it exists already: fine
        # Messages a killed poll copied and flagged but did not expunge: already handled.
        client.expunge()
        uids = _check(client.uid("SEARCH", None, "UNDELETED"), "SEARCH")[0].split()
        for uid in uids[: limit or settings.BOUNCE_POLL_BATCH]:
            data = _check(client.uid("FETCH", uid, "(BODY.PEEK[])"), "FETCH")
            raw = next((item[1] for item in data if isinstance(item, tuple)), None)
            if raw is None:
                continue  # expunged meanwhile (another poll moved it)
            kind, events = bounce_mailbox_handle(raw)
            result.read += 1
            result.events += events
            result.already_seen += kind == "seen"
            result.ignored += kind == "ignored"
            result.unrecognised += kind == "unrecognised"
            _dispose(client, uid, target)
        if settings.BOUNCE_IMAP_DELETE or "MOVE" not in client.capabilities:
            client.expunge()
    except (OSError, imaplib.IMAP4.error, ssl.SSLError) as error:
        raise MailboxError(f"Bounce mailbox: {error}") from error
    finally:
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            client.logout()
    logger.info("bounce mailbox: %d read, %d events, %d ignored, %d unrecognised, %d seen before",
                result.read, result.events, result.ignored, result.unrecognised,
                result.already_seen)
    return result


def _dispose(client: imaplib.IMAP4, uid: bytes, target: str) -> None:
    if settings.BOUNCE_IMAP_DELETE:
        _check(client.uid("STORE", uid, "+FLAGS.SILENT", r"(\Deleted)"), "STORE")
    elif "MOVE" in client.capabilities:
        _check(client.uid("MOVE", uid, _quote(target)), "MOVE")
    else:
        _check(client.uid("COPY", uid, _quote(target)), "COPY")
        _check(client.uid("STORE", uid, "+FLAGS.SILENT", r"(\Deleted)"), "STORE")
