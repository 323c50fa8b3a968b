"""Bounce mailbox messages into reports: RFC 3464 delivery status notifications, RFC 5965 (ARF)
complaint reports, the common plain-text bounces, and what is neither (auto-replies).

Python's ``email`` package parses ``message/delivery-status`` and ``message/feedback-report``
parts into header blocks, so the standard formats need no parser of our own; the plain-text
bounces (qmail's QSBMF, Exim's and Yahoo's classic text, any MTA's "undeliverable" notice) are
recognised by their sender and wording and read for the SMTP status they quote.

Who a report is about, in order of trust: our VERP return path, which the bounce is addressed
to (services/return_path.py in campaigns; a forged one fails its signature); the Message-ID of
our original, quoted in the returned copy (ARF reports from providers that redact the
recipient); the recipient address the report names.

Hard or soft: a failed delivery with an RFC 3463 status 5.x.x is hard, except those that say
nothing about the address (5.2.2 mailbox full, 5.2.3 message too big, 5.3.4, and the 5.7.x
policy and content refusals), which are soft, as is every 4.x.x. A ``delayed`` DSN is a warning,
not a bounce: it is ignored. Without an enhanced status the basic code decides (55x hard, 552
soft, 4xx soft), then the wording ("permanent" / "temporary").
"""

import email
import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime

from pipeline.campaigns.services.return_path import delivery_id_from_return_path, find_return_paths
from pipeline.deliverability.models import EventKind
from pipeline.deliverability.services.events import Report

K = EventKind
_ENHANCED = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_BASIC = re.compile(r"(?<![\d.])([45][0-5]\d)(?:[ \-:]|$)", re.MULTILINE)
_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_SOFT_PERMANENT = {"5.2.2", "5.2.3", "5.3.4"}
_BOUNCE_SENDERS = re.compile(r"mailer-daemon|postmaster|mail delivery (sub)?system", re.I)
_BOUNCE_SUBJECTS = re.compile(
    r"undeliver|undelivered|delivery (status notification|failure|has failed)|failure notice|"
    r"returned mail|mail delivery failed|delivery failure|could not be delivered|non.?delivery",
    re.I)
_AUTO_REPLY_SUBJECTS = re.compile(
    r"^(auto(matic)?[ -]?(reply|response|antwort)|out of (the )?office|abwesenheit|"
    r"absence|vacation|away from)|^auto:", re.I)
_PERMANENT_WORDS = re.compile(r"permanent(ly)? (error|failure)|i've given up|does not exist|"
                              r"no such user|user unknown|unknown user|not found|"
                              r"doesn't have a .* account|address rejected", re.I)
_TEMPORARY_WORDS = re.compile(r"temporar(y|ily)|mailbox (is )?full|over quota|quota exceeded|"
                              r"try again later|deferred", re.I)
_MESSAGE_ID_LINE = re.compile(r"^Message-ID:\s*(<[^>\s]+>)", re.I | re.MULTILINE)
# The returned copy begins after one of these (qmail, Exim, Yahoo, generic).
_COPY_MARKERS = re.compile(r"^(--- Below this line is a copy of the message\.|"
                           r"------ This is a copy of the message|"
                           r"--- Below this line is a copy of the message|"
                           r"-+ ?Original message ?-+)", re.I | re.MULTILINE)


@dataclass
class Parsed:
    kind: str  # "bounce", "complaint", "ignored", "unrecognised"
    why: str
    reports: list[Report] = field(default_factory=list)
    key: str = ""  # the mailbox message's own name (message_key)
    subject: str = ""


def message_key(message: Message, raw: bytes) -> str:
    """The name of a mailbox message: its Message-ID, or a digest of its bytes."""
    found = (message.get("Message-ID") or "").strip()
    return found[:300] if found else "sha256:" + hashlib.sha256(raw).hexdigest()


def classify_status(status: str, text: str = "") -> str | None:
    """hard_bounce, soft_bounce, or None when nothing says which."""
    enhanced = _ENHANCED.search(status or "") or _ENHANCED.search(text or "")
    if enhanced:
        code = enhanced.group(0)
        if code.startswith("2."):
            return None
        if code.startswith("4.") or code in _SOFT_PERMANENT or code.startswith("5.7."):
            return K.SOFT_BOUNCE
        return K.HARD_BOUNCE
    basic = _BASIC.search(text or "")
    if basic:
        code = basic.group(1)
        if code.startswith("4") or code == "552":
            return K.SOFT_BOUNCE
        return K.HARD_BOUNCE
    if _TEMPORARY_WORDS.search(text or ""):
        return K.SOFT_BOUNCE
    if _PERMANENT_WORDS.search(text or ""):
        return K.HARD_BOUNCE
    return None


def _status_of(text: str) -> str:
    enhanced = _ENHANCED.search(text or "")
    if enhanced:
        return enhanced.group(0)
    basic = _BASIC.search(text or "")
    return basic.group(1) if basic else ""


def _text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if payload is None:
        inner = part.get_payload()
        return inner if isinstance(inner, str) else ""
    return payload.decode(part.get_content_charset() or "utf-8", "replace")


def _all_text(message: Message) -> str:
    """Every text part and every header of every part, for the VERP and Message-ID search."""
    chunks = [str(k) + ": " + str(v) for k, v in message.items()]
    for part in message.walk():
        if part is not message:
            chunks.extend(str(k) + ": " + str(v) for k, v in part.items())
        if part.get_content_maintype() == "text":
            chunks.append(_text(part))
    return "\n".join(chunks)


def _value(block: Message, name: str) -> str:
    value = block.get(name) or ""
    value = re.sub(r"\s+", " ", str(value)).strip()
    return value.split(";", 1)[1].strip() if ";" in value and name.endswith(
        ("Recipient", "Rcpt-To", "Mail-From")) else value


def _date(message: Message):
    try:
        when = parsedate_to_datetime(message.get("Date") or "")
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)  # "-0000": UTC, origin unknown


def _original_message_ids(message: Message, everything: str) -> list[str]:
    """Message-IDs of the returned original (a message/rfc822 part, text/rfc822-headers, or a
    copy quoted in the text), not the report's own."""
    found = []
    for part in message.walk():
        if part.get_content_type() == "message/rfc822":
            inner = part.get_payload()
            inner = inner[0] if isinstance(inner, list) and inner else inner
            if isinstance(inner, Message) and inner.get("Message-ID"):
                found.append(str(inner["Message-ID"]).strip())
        elif part.get_content_type() == "text/rfc822-headers":
            found += _MESSAGE_ID_LINE.findall(_text(part))
    own = (message.get("Message-ID") or "").strip()
    found += [m for m in _MESSAGE_ID_LINE.findall(everything) if m != own]
    return list(dict.fromkeys(found))


def _who(message: Message, everything: str) -> tuple[int | None, str]:
    """(delivery id from a return path of ours, our original's Message-ID)."""
    # The addresses the report was sent to come first: that is where a bounce goes.
    candidates = []
    for header in ("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "To"):
        candidates += [address for _, address in getaddresses(message.get_all(header, []))]
    candidates += find_return_paths(everything)
    delivery_id = next((found for found in map(delivery_id_from_return_path, candidates)
                        if found is not None), None)
    message_ids = _original_message_ids(message, everything)
    return delivery_id, (message_ids[0] if message_ids else "")


def parse_mailbox_message(raw: bytes) -> Parsed:
    message = email.message_from_bytes(raw)
    parsed = _parse(message, raw)
    parsed.key = message_key(message, raw)
    parsed.subject = str(message.get("Subject") or "")
    return parsed


def _parse(message: Message, raw: bytes) -> Parsed:
    key = message_key(message, raw)
    everything = _all_text(message)
    delivery_id, original_id = _who(message, everything)
    occurred = _date(message)
    report_type = (message.get_param("report-type") or "").lower() \
        if message.get_content_type() == "multipart/report" else ""

    def report(kind, email_address="", status="", diagnostic="", suffix=""):
        return Report(kind=kind, key=f"{key}#{suffix or email_address or delivery_id}",
                      email=email_address, delivery_id=delivery_id, message_id=original_id,
                      status=status, diagnostic=diagnostic[:2000], occurred_at=occurred)

    if report_type == "feedback-report":
        return _feedback(message, report)
    if report_type == "delivery-status":
        return _dsn(message, report)
    # Bounces carry Auto-Submitted too (RFC 3834), so the sender and wording decide first.
    if _looks_like_bounce(message):
        return _text_bounce(message, everything, report)
    if _is_auto_reply(message):
        return Parsed("ignored", "An auto-reply (out of office, vacation), not a bounce.")
    return Parsed("unrecognised", "Neither a bounce nor a complaint report we recognise.")


def _feedback(message: Message, report) -> Parsed:
    fields = next((part for part in message.walk()
                   if part.get_content_type() == "message/feedback-report"), None)
    block = Message()
    if fields is not None:
        inner = fields.get_payload()
        if isinstance(inner, list):  # the email package parses it as header blocks
            for sub in inner:
                for name, value in sub.items():
                    block[name] = value
        elif isinstance(inner, str):
            block = email.message_from_string(inner)
    feedback_type = _value(block, "Feedback-Type").lower() or "abuse"
    if feedback_type == "not-spam":
        return Parsed("ignored", "A not-spam feedback report: nothing to do.")
    recipient = _value(block, "Original-Rcpt-To")
    if not recipient:
        for part in message.walk():
            if part.get_content_type() == "message/rfc822":
                inner = part.get_payload()
                inner = inner[0] if isinstance(inner, list) and inner else inner
                if isinstance(inner, Message):
                    recipient = next((a for _, a in getaddresses(inner.get_all("To", []))), "")
    source = _value(block, "Reported-Domain") or _value(block, "User-Agent")
    return Parsed("complaint", f"ARF {feedback_type} report", [report(
        K.COMPLAINT, recipient, status=feedback_type[:32],
        diagnostic=f"Feedback-Type: {feedback_type}; from {source or 'a mailbox provider'}",
        suffix="complaint")])


def _dsn(message: Message, report) -> Parsed:
    status_part = next((part for part in message.walk()
                        if part.get_content_type() == "message/delivery-status"), None)
    blocks = status_part.get_payload() if status_part is not None else []
    if isinstance(blocks, str):
        blocks = [email.message_from_string(chunk) for chunk in re.split(r"\n\s*\n", blocks)]
    reports, delayed = [], 0
    for block in blocks[1:] if len(blocks) > 1 else blocks:
        action = _value(block, "Action").lower()
        recipient = _value(block, "Final-Recipient") or _value(block, "Original-Recipient")
        if not recipient:
            continue
        if action in ("delayed", "delivered", "relayed", "expanded"):
            delayed += action == "delayed"
            continue
        status = _value(block, "Status")
        diagnostic = _value(block, "Diagnostic-Code")
        kind = classify_status(status, diagnostic) or K.HARD_BOUNCE  # "failed" with no code
        reports.append(report(kind, recipient, status=status or _status_of(diagnostic),
                              diagnostic=diagnostic or f"Action: {action}"))
    if reports:
        return Parsed("bounce", "RFC 3464 delivery status notification", reports)
    if delayed:
        return Parsed("ignored", "A delayed-delivery warning, not a bounce.")
    return Parsed("unrecognised", "A delivery status notification naming no failed recipient.")


def _is_auto_reply(message: Message) -> bool:
    auto = (message.get("Auto-Submitted") or "").lower()
    precedence = (message.get("Precedence") or "").lower()
    return bool(
        auto.startswith("auto-replied") or message.get("X-Autoreply")
        or message.get("X-Autorespond") or precedence == "auto_reply"
        or "oof" in (message.get("X-MS-Exchange-Inbox-Rules-Loop") or "").lower()
        or _AUTO_REPLY_SUBJECTS.search(str(message.get("Subject") or "").strip())
    )


def _looks_like_bounce(message: Message) -> bool:
    sender = str(message.get("From") or "")
    if _AUTO_REPLY_SUBJECTS.search(str(message.get("Subject") or "").strip()):
        return False
    return bool(_BOUNCE_SENDERS.search(sender)
                or _BOUNCE_SUBJECTS.search(str(message.get("Subject") or ""))
                or (message.get("Return-Path") or "").strip() == "<>")


def _text_bounce(message: Message, everything: str, report) -> Parsed:
    body = "\n".join(_text(part) for part in message.walk()
                     if part.get_content_type() == "text/plain")
    cut = _COPY_MARKERS.search(body)
    explanation = body[:cut.start()] if cut else body  # the returned copy is not the reason
    kind = classify_status("", explanation)
    if kind is None:
        return Parsed("unrecognised", "A bounce whose reason we cannot read.")
    # The recipient: an address the explanation names (not ours, not the bounce's sender).
    ignore = {a.lower() for _, a in getaddresses(message.get_all("From", []) +
                                                 message.get_all("To", []))}
    named = [a for a in _ADDRESS.findall(explanation) if a.lower() not in ignore
             and delivery_id_from_return_path(a) is None]
    recipient = named[0] if named else ""
    diagnostic = " ".join(explanation.split())[:500]
    return Parsed("bounce", "A plain-text bounce", [
        report(kind, recipient, status=_status_of(explanation), diagnostic=diagnostic)])
