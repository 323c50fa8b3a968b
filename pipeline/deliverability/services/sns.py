"""Amazon SES bounce and complaint notifications, delivered by SNS over HTTP(S).

Every message is checked before anything is done with it, and refused (nothing recorded) when:
- its TopicArn is not one of ``SES_SNS_TOPIC_ARNS`` (none configured: everything is refused);
- its SigningCertURL (and a SubscribeURL) is not on an origin ``SES_SNS_CERT_URL_PATTERN``
  matches (default: https://sns.<region>.amazonaws.com/), so we never fetch from elsewhere;
- its signature (SignatureVersion 1: SHA1withRSA, 2: SHA256withRSA) does not verify against the
  public key of that certificate over the fields AWS documents for its type; the certificate
  is fetched once per URL and cached (Django's cache, a day);
- its Timestamp is older than ``SES_SNS_MAX_AGE`` (or more than 5 minutes ahead);
- its MessageId was taken before (a replay): recorded with the events in one transaction, so
  a message that failed midway is not counted as seen.
A SubscriptionConfirmation is confirmed by GET to its SubscribeURL (on an allowed origin only).
"""

import base64
import hashlib
import json
import logging
import re
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

import requests
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from pipeline.campaigns.services.return_path import delivery_id_from_return_path
from pipeline.deliverability.models import EventKind, EventSource, SnsMessage
from pipeline.deliverability.services.events import Report, event_record

logger = logging.getLogger(__name__)
CERT_CACHE_SECONDS = 24 * 3600
MAX_CERT_BYTES = 64 * 1024
FUTURE_SKEW = timedelta(minutes=5)
HTTP_TIMEOUT = (5, 10)

_SIGNED_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token",
                                 "TopicArn", "Type"),
    "UnsubscribeConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token",
                                "TopicArn", "Type"),
}
_HASHES = {"1": hashes.SHA1, "2": hashes.SHA256}


class SnsRefused(Exception):
    """The message is not one we act on; ``str()`` says why (for the log and the answer)."""


class SnsReplay(SnsRefused):
    """The MessageId was received before."""


@dataclass
class SnsOutcome:
    kind: str
    events: int = 0


def _allowed_origin(url: str) -> bool:
    parts = urlsplit(url or "")
    if not parts.scheme or not parts.hostname or "@" in parts.netloc:
        return False
    origin = f"{parts.scheme}://{parts.netloc}/"
    return re.fullmatch(settings.SES_SNS_CERT_URL_PATTERN, origin, re.IGNORECASE) is not None


def _certificate(url: str) -> x509.Certificate:
    key = "sns-cert:" + hashlib.sha256(url.encode()).hexdigest()
    pem = cache.get(key)
    if pem is None:
        try:
            response = requests.get(url, timeout=HTTP_TIMEOUT, allow_redirects=False,
                                    stream=True)
            data = response.raw.read(MAX_CERT_BYTES + 1, decode_content=True)
        except requests.RequestException as error:
            raise SnsRefused(f"The signing certificate could not be fetched: {error}") from error
        if response.status_code != 200 or len(data) > MAX_CERT_BYTES:
            raise SnsRefused(f"The signing certificate could not be fetched "
                             f"(HTTP {response.status_code}).")
        pem = data
        cache.set(key, pem, CERT_CACHE_SECONDS)
    try:
        return x509.load_pem_x509_certificate(pem)
    except ValueError as error:
        raise SnsRefused("The signing certificate is not a PEM certificate.") from error


def string_to_sign(message: dict) -> bytes:
    fields = _SIGNED_FIELDS[message["Type"]]
    return "".join(f"{name}\n{message[name]}\n" for name in fields
                   if name in message and message[name] is not None).encode()


def sns_verify(message: dict) -> None:
    """Raise SnsRefused unless the message is ours, fresh, and signed by SNS."""
    kind = message.get("Type")
    if kind not in _SIGNED_FIELDS:
        raise SnsRefused(f"Unknown SNS message type {kind!r}.")
    for name in ("MessageId", "TopicArn", "Timestamp", "Signature", "SigningCertURL",
                 "SignatureVersion", "Message"):
        if not isinstance(message.get(name), str) or not message[name]:
            raise SnsRefused(f"The SNS message has no {name}.")
    if message["TopicArn"] not in settings.SES_SNS_TOPIC_ARNS:
        raise SnsRefused(f"Topic {message['TopicArn']!r} is not one we subscribed to.")
    if message["SignatureVersion"] not in _HASHES:
        raise SnsRefused(f"Unknown SignatureVersion {message['SignatureVersion']!r}.")
    if not _allowed_origin(message["SigningCertURL"]):
        raise SnsRefused("The signing certificate is not on an allowed SNS host.")
    if "SubscribeURL" in message and not _allowed_origin(message["SubscribeURL"]):
        raise SnsRefused("The SubscribeURL is not on an allowed SNS host.")
    sent = parse_datetime(message["Timestamp"])
    now = timezone.now()
    if sent is None or sent.tzinfo is None:
        raise SnsRefused("The SNS Timestamp is not a time.")
    if sent < now - settings.SES_SNS_MAX_AGE or sent > now + FUTURE_SKEW:
        raise SnsRefused("The SNS message is too old (or dated in the future): a replay?")
    try:
        signature = base64.b64decode(message["Signature"], validate=True)
    except ValueError as error:
        raise SnsRefused("The signature is not base64.") from error
    certificate = _certificate(message["SigningCertURL"])
    try:
        certificate.public_key().verify(signature, string_to_sign(message), padding.PKCS1v15(),
                                        _HASHES[message["SignatureVersion"]]())
    except (InvalidSignature, TypeError, ValueError) as error:
        raise SnsRefused("The SNS signature does not verify.") from error


def _reports(message_id: str, notification: dict) -> list[Report]:
    kind = notification.get("notificationType") or notification.get("eventType")
    mail = notification.get("mail") or {}
    delivery_id = delivery_id_from_return_path(mail.get("source", ""))
    common = mail.get("commonHeaders") or {}
    our_message_id = common.get("messageId") or ""
    occurred = parse_datetime(str(mail.get("timestamp") or "")) or None
    reports = []
    if kind == "Bounce":
        bounce = notification.get("bounce") or {}
        hard = bounce.get("bounceType") == "Permanent"
        when = parse_datetime(str(bounce.get("timestamp") or "")) or occurred
        for recipient in bounce.get("bouncedRecipients") or []:
            address = str(recipient.get("emailAddress") or "")
            reports.append(Report(
                kind=EventKind.HARD_BOUNCE if hard else EventKind.SOFT_BOUNCE,
                key=f"{message_id}:{address.lower()}", email=address,
                delivery_id=delivery_id, message_id=our_message_id,
                status=str(recipient.get("status") or bounce.get("bounceSubType") or ""),
                diagnostic=f"{bounce.get('bounceType')}/{bounce.get('bounceSubType')}: "
                f"{recipient.get('diagnosticCode') or ''}", occurred_at=when))
    elif kind == "Complaint":
        complaint = notification.get("complaint") or {}
        when = parse_datetime(str(complaint.get("timestamp") or "")) or occurred
        feedback = str(complaint.get("complaintFeedbackType") or "abuse")
        if feedback == "not-spam":
            return []
        for recipient in complaint.get("complainedRecipients") or []:
            address = str(recipient.get("emailAddress") or "")
            reports.append(Report(
                kind=EventKind.COMPLAINT, key=f"{message_id}:{address.lower()}",
                email=address, delivery_id=delivery_id, message_id=our_message_id,
                status=feedback, diagnostic=f"SES complaint ({feedback}) via "
                f"{complaint.get('userAgent') or 'a feedback loop'}", occurred_at=when))
    return reports


def sns_receive(*, body: bytes) -> SnsOutcome:
    """Verify one SNS HTTP message and act on it; SnsRefused when it is not acted on."""
    try:
        message = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise SnsRefused("The body is not JSON.") from error
    if not isinstance(message, dict):
        raise SnsRefused("The body is not an SNS message.")
    sns_verify(message)
    with transaction.atomic():
        try:
            with transaction.atomic():
                SnsMessage.objects.create(message_id=message["MessageId"][:100],
                                          topic_arn=message["TopicArn"][:300],
                                          kind=message["Type"][:40])
        except IntegrityError:
            raise SnsReplay("This SNS message was received before: a replay.") from None
        if message["Type"] == "SubscriptionConfirmation":
            _confirm(message["SubscribeURL"])
            return SnsOutcome("subscription-confirmed")
        if message["Type"] == "UnsubscribeConfirmation":
            logger.warning("SNS topic %s unsubscribed us", message["TopicArn"])
            return SnsOutcome("unsubscribe-noted")
        try:
            notification = json.loads(message["Message"])
        except ValueError as error:
            raise SnsRefused("The notification's Message is not JSON.") from error
        recorded = [event_record(source=EventSource.SES, report=report)
                    for report in _reports(message["MessageId"], notification)]
    return SnsOutcome("notification", sum(event is not None for event in recorded))


def _confirm(url: str) -> None:
    try:
        response = requests.get(url, timeout=HTTP_TIMEOUT, allow_redirects=False)
    except requests.RequestException as error:
        raise SnsRefused(f"Confirming the subscription failed: {error}") from error
    if response.status_code != 200:
        raise SnsRefused(f"Confirming the subscription failed: HTTP {response.status_code}.")
    logger.info("SNS subscription confirmed")
