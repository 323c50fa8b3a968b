"""Mailchimp list webhooks into our list: subscribe, unsubscribe, profile, cleaned, upemail.

Each accepted body is stored once, keyed by the SHA-256 of its raw bytes: a replay finds the row and
changes nothing. Events are applied by ``fired_at``, not by arrival: a subscriber's status,
series and address each carry the time they last changed, and an event fired before that time is
recorded as STALE and not applied (ties go to the event that arrives later). The newest word wins
whoever said it, us or Mailchimp.

An unsubscribe with ``action=delete`` (the member was deleted in Mailchimp) is kept here as
unsubscribed: deleting our row would forget the suppression. Addresses we do not know: subscribe
creates a subscribed row (Mailchimp collected the consent; the consent row says so), unsubscribe
and cleaned create a suppressed row (so we never mail it), profile and upemail are kept as
UNMATCHED. An event about an address that a later-applied upemail
renamed follows the rename; an UNMATCHED event about the new address is applied when the rename
that creates it lands (out-of-order chains A→B, B→C end at C).

Mailchimp sends ``fired_at`` as "YYYY-MM-DD HH:MM:SS" in UTC; ISO 8601 with an offset is accepted.
A ``fired_at`` later than the moment we receive the event is taken as now: an event dated in the
future would otherwise make every real event until then stale, locking its state in.

Unsigned webhooks. Mailchimp does not sign list webhooks, so unless a signing key is configured
(and then every body must carry a valid X-Mailchimp-Signature) the secret in the URL is the whole
authentication, and anyone who learns it can post events. So an unsigned event may take away but
never grant: ``unsubscribe`` and ``cleaned`` apply as above (they only stop email), and so do the
series a ``profile`` drops; a ``subscribe`` becomes a subscribe request like one from our own form
(a GIVEN consent and our confirmation email: nothing changes until its owner clicks), the series a
``profile`` adds become such a request too, and an ``upemail`` becomes a request for the *new*
address with the member's series, leaving the member and its address as they are. Those events
are recorded as UNVERIFIED. Signed events (signing key set) are applied in full.

Field names nest at most MAX_DEPTH levels (``data[merges][GROUPINGS][0][groups]`` is four);
deeper ones are refused as malformed, and so is a NUL character anywhere.
"""

import base64
import hashlib
import hmac
import ipaddress
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import parse_qsl

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from cms.models import SeriesPage
from pipeline.audience.models import MailchimpSeriesInterest, MailchimpWebhookEvent, WebhookOutcome
from pipeline.subscribers.email_address import InvalidEmail, normalize_email
from pipeline.subscribers.models import ConsentKind, ConsentSource, Subscriber, SubscriberStatus
from pipeline.subscribers.services import (
    SubscriberError,
    subscriber_status_change,
    subscriber_subscribe,
)

TRACKED_TYPES = {"subscribe", "unsubscribe", "profile", "cleaned", "upemail"}
MAX_FIELDS = 500
MAX_DEPTH = 6
UNSIGNED_CONSENT = ("Asked for in Mailchimp (an unsigned list webhook): awaiting confirmation by "
                    "our email.")
_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]+\])*)$")


class MalformedWebhook(ValueError):
    """The body is not a Mailchimp webhook we can read; nothing was recorded."""


@dataclass(frozen=True)
class ParsedEvent:
    body_sha256: str
    event_type: str
    fired_at: datetime
    data: dict
    email: str = ""
    new_email: str = ""
    payload: dict = field(default_factory=dict)


def signature_is_valid(*, body: bytes, signature: str | None, key: str) -> bool:
    """X-Mailchimp-Signature: base64 of HMAC-SHA256 over the raw body."""
    if not signature:
        return False
    expected = base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected.encode(), signature.strip().encode())


def _nest(pairs: list[tuple[str, str]]) -> dict:
    """Turn ``data[merges][FNAME]=Ann`` pairs into nested dicts."""
    root: dict = {}
    for key, value in pairs:
        match = _KEY.match(key)
        if not match:
            raise MalformedWebhook(f"Unreadable field name {key[:80]!r}.")
        path = [match.group(1)] + re.findall(r"\[([^\[\]]+)\]", match.group(2))
        if len(path) > MAX_DEPTH:
            raise MalformedWebhook(f"Field {key[:80]!r} nests deeper than {MAX_DEPTH} levels.")
        node = root
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise MalformedWebhook(f"Field {key[:80]!r} clashes with another field.")
            node = child
        if isinstance(node.get(path[-1]), dict):
            raise MalformedWebhook(f"Field {key[:80]!r} clashes with another field.")
        node[path[-1]] = value
    return root


def _fired_at(raw: str) -> datetime:
    raw = (raw or "").strip()
    try:
        parsed = datetime.strptime(raw, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        try:
            parsed = parse_datetime(raw)
        except ValueError:
            parsed = None
    if parsed is None:
        raise MalformedWebhook("fired_at is missing or not a date and time.")
    try:
        parsed = (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    except (OverflowError, ValueError):
        raise MalformedWebhook("fired_at is out of range.") from None
    return min(parsed, timezone.now())  # never in the future: it would lock its state in


def _address(data: dict, name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str):
        raise MalformedWebhook(f"data[{name}] is missing.")
    try:
        return normalize_email(value)
    except InvalidEmail as error:
        raise MalformedWebhook(f"data[{name}]: {error}") from None


def mailchimp_webhook_parse(*, body: bytes) -> ParsedEvent:
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(
            text, keep_blank_values=True, strict_parsing=True, max_num_fields=MAX_FIELDS,
            errors="strict",
        )
    except (UnicodeDecodeError, ValueError):
        raise MalformedWebhook("The body is not a form-encoded Mailchimp webhook.") from None
    if any("\x00" in key or "\x00" in value for key, value in pairs):
        # PostgreSQL cannot store NUL in text or JSON; no Mailchimp field holds one.
        raise MalformedWebhook("The body holds a NUL character.")
    fields = _nest(pairs)
    event_type = fields.get("type")
    if not isinstance(event_type, str) or not event_type:
        raise MalformedWebhook("type is missing.")
    fired_at = _fired_at(fields.get("fired_at") if isinstance(fields.get("fired_at"), str) else "")
    data = fields.get("data", {})
    if not isinstance(data, dict):
        raise MalformedWebhook("data is missing.")
    email = new_email = ""
    if event_type == "upemail":
        email, new_email = _address(data, "old_email"), _address(data, "new_email")
    elif event_type in TRACKED_TYPES:
        email = _address(data, "email")
    return ParsedEvent(
        body_sha256=hashlib.sha256(body).hexdigest(),
        event_type=event_type[:32],
        fired_at=fired_at,
        data=data,
        email=email,
        new_email=new_email,
        payload=fields,
    )


def _newer(fired_at: datetime, last: datetime | None) -> bool:
    return last is None or fired_at >= last


def _interest_series(data: dict) -> list[SeriesPage] | None:
    """The series a subscribe/profile event says the member follows; None when it does not say
    (no interest data in the event, or no series mapped to Mailchimp interests yet)."""
    merges = data.get("merges")
    if not isinstance(merges, dict):
        return None
    mapping = {m.interest_name.casefold(): m for m in MailchimpSeriesInterest.objects.all()}
    if not mapping:
        return None
    our_categories = {m.category_id for m in mapping.values()}
    groupings = merges.get("GROUPINGS")
    names: list[str] | None = None
    if isinstance(groupings, dict):
        ours = [
            g for g in groupings.values()
            if isinstance(g, dict) and (g.get("unique_id") in our_categories
                                        or g.get("id") in our_categories)
        ]
        if ours:
            names = [n for g in ours for n in str(g.get("groups", "")).split(",")]
    if names is None:
        interests = merges.get("INTERESTS")
        if not isinstance(interests, str):
            return None
        names = interests.split(",")
    wanted = {n.strip().casefold() for n in names if n.strip()}
    series_ids = [mapping[n].series_id for n in wanted if n in mapping]
    return list(SeriesPage.objects.filter(pk__in=series_ids))


def _find_subscriber(address: str, fired_at: datetime) -> Subscriber | None:
    subscriber = Subscriber.objects.select_for_update().filter(email=address).first()
    if subscriber is not None:
        return subscriber
    # The address may have been renamed by an upemail fired after this event.
    rename = (
        MailchimpWebhookEvent.objects.filter(
            event_type="upemail", outcome=WebhookOutcome.APPLIED, email=address,
            fired_at__gte=fired_at, subscriber__isnull=False,
        )
        .order_by("fired_at", "id")
        .first()
    )
    if rename is None:
        return None
    return Subscriber.objects.select_for_update().filter(pk=rename.subscriber_id).first()


def _event_ip(event: ParsedEvent) -> str | None:
    """The opt-in (or signup) IP the event reports, when it is a valid address."""
    raw_ip = event.data.get("ip_opt") or event.data.get("ip_signup") or ""
    try:
        return str(ipaddress.ip_address(raw_ip)) if isinstance(raw_ip, str) and raw_ip else None
    except ValueError:
        return None


def _apply_series(subscriber: Subscriber, event: ParsedEvent) -> bool:
    series = _interest_series(event.data)
    if series is None or not _newer(event.fired_at, subscriber.preferences_changed_at):
        return False
    subscriber.series.set(series)
    subscriber.preferences_changed_at = event.fired_at
    return True


_STATUS_BY_TYPE = {
    "subscribe": SubscriberStatus.SUBSCRIBED,
    "unsubscribe": SubscriberStatus.UNSUBSCRIBED,
    "cleaned": SubscriberStatus.CLEANED,
}
# A cleaned address is a bounce, not a choice: no consent row.
_CONSENT_BY_TYPE = {"subscribe": ConsentKind.CONFIRMED, "unsubscribe": ConsentKind.WITHDRAWN}


def _apply_status_event(event: ParsedEvent) -> tuple[str, Subscriber]:
    status = _STATUS_BY_TYPE[event.event_type]
    subscriber = _find_subscriber(event.email, event.fired_at)
    reason = str(event.data.get("reason", "") or event.data.get("action", ""))
    if subscriber is None:
        # get_or_create: a subscribe through our API may create the row at the same moment.
        # A row created here has no status_changed_at yet, so the event is never stale for it.
        row, _created = Subscriber.objects.get_or_create(
            email=event.email, defaults={"status": status}
        )
        subscriber = Subscriber.objects.select_for_update().get(pk=row.pk)
    note = ("Subscribed in Mailchimp." if status == SubscriberStatus.SUBSCRIBED
            else f"Unsubscribed in Mailchimp ({reason or 'no reason given'}).")
    changed_status = subscriber_status_change(
        subscriber=subscriber, to_status=status, kind=_CONSENT_BY_TYPE.get(event.event_type),
        source=ConsentSource.MAILCHIMP, at=event.fired_at, dated_by_source=True,
        consent_text="Collected by Mailchimp (list webhook).", ip_address=_event_ip(event),
        note=note,
    ).applied
    changed_series = event.event_type == "subscribe" and _apply_series(subscriber, event)
    subscriber.save()
    return (WebhookOutcome.APPLIED if changed_status or changed_series
            else WebhookOutcome.STALE), subscriber


def _apply_profile(event: ParsedEvent, *, signed: bool = True) -> tuple[str, Subscriber | None]:
    """The member's series as the event states them; unsigned, only the series it drops, and
    the ones it adds become a request for our confirmation."""
    subscriber = _find_subscriber(event.email, event.fired_at)
    if subscriber is None:
        return WebhookOutcome.UNMATCHED, None
    series = _interest_series(event.data)
    if series is None:
        return WebhookOutcome.IGNORED, subscriber
    if not _newer(event.fired_at, subscriber.preferences_changed_at):
        return WebhookOutcome.STALE, subscriber
    followed = set(subscriber.series.all())
    added = [] if signed else [s for s in series if s not in followed]
    subscriber.series.set(series if signed else [s for s in followed if s in series])
    subscriber.preferences_changed_at = event.fired_at
    subscriber.save()
    if added:
        return _request_confirmation(event, subscriber.email, added)
    return WebhookOutcome.APPLIED, subscriber


def _apply_upemail(event: ParsedEvent) -> tuple[str, Subscriber | None]:
    subscriber = _find_subscriber(event.email, event.fired_at)
    if subscriber is None:
        return WebhookOutcome.UNMATCHED, None
    if not _newer(event.fired_at, subscriber.email_changed_at):
        return WebhookOutcome.STALE, subscriber
    if subscriber.email == event.new_email:
        return WebhookOutcome.APPLIED, subscriber
    if Subscriber.objects.filter(email=event.new_email).exclude(pk=subscriber.pk).exists():
        return WebhookOutcome.CONFLICT, subscriber
    subscriber.email = event.new_email
    subscriber.email_changed_at = event.fired_at
    subscriber.save()
    return WebhookOutcome.APPLIED, subscriber


def _request_confirmation(event: ParsedEvent, email: str, series: list[SeriesPage]
                          ) -> tuple[str, Subscriber | None]:
    """What an unsigned event asks to grant, as a subscribe request from our own form: a GIVEN
    consent and our confirmation email (if the address does not already have it all)."""
    try:
        outcome = subscriber_subscribe(
            email=email, series_slugs=[s.slug for s in series if s.live],
            consent_text=UNSIGNED_CONSENT, form_id=f"mailchimp-webhook-{event.event_type}",
            ip_address=_event_ip(event), source=ConsentSource.MAILCHIMP,
        )
    except SubscriberError:
        return WebhookOutcome.IGNORED, None
    return WebhookOutcome.UNVERIFIED, outcome.subscriber


def _apply_unsigned(event: ParsedEvent) -> tuple[str, Subscriber | None]:
    if event.event_type == "subscribe":
        return _request_confirmation(event, event.email, _interest_series(event.data) or [])
    if event.event_type == "upemail":
        old = _find_subscriber(event.email, event.fired_at)
        series = list(old.series.all()) if old is not None else []
        return _request_confirmation(event, event.new_email, series)
    if event.event_type == "profile":
        return _apply_profile(event, signed=False)
    return _apply(event)


def _apply(event: ParsedEvent) -> tuple[str, Subscriber | None]:
    if event.event_type in _STATUS_BY_TYPE:
        return _apply_status_event(event)
    if event.event_type == "profile":
        return _apply_profile(event)
    if event.event_type == "upemail":
        return _apply_upemail(event)
    return WebhookOutcome.IGNORED, None


def _from_row(row: MailchimpWebhookEvent) -> ParsedEvent:
    return ParsedEvent(
        body_sha256=row.body_sha256, event_type=row.event_type, fired_at=row.fired_at,
        data=row.payload.get("data", {}), email=row.email, new_email=row.new_email,
        payload=row.payload,
    )


def _retry_unmatched(address: str, since: datetime) -> None:
    """Apply events that waited for ``address`` to exist (an upemail chain out of order)."""
    waiting = MailchimpWebhookEvent.objects.select_for_update().filter(
        email=address, outcome=WebhookOutcome.UNMATCHED, fired_at__gte=since
    ).order_by("fired_at", "id")
    for row in waiting:
        outcome, subscriber = _apply(_from_row(row))
        if outcome != WebhookOutcome.UNMATCHED:
            row.outcome, row.subscriber = outcome, subscriber
            row.save(update_fields=["outcome", "subscriber"])
            if row.event_type == "upemail" and outcome == WebhookOutcome.APPLIED:
                _retry_unmatched(row.new_email, row.fired_at)


@dataclass(frozen=True)
class ReceiveResult:
    event: MailchimpWebhookEvent
    duplicate: bool


def mailchimp_webhook_receive(*, body: bytes, signed: bool) -> ReceiveResult:
    """Record one webhook body and apply it; a body seen before changes nothing. ``signed``: its
    X-Mailchimp-Signature was checked; an unsigned event only takes away (see the module)."""
    parsed = mailchimp_webhook_parse(body=body)
    with transaction.atomic():
        row, created = MailchimpWebhookEvent.objects.get_or_create(
            body_sha256=parsed.body_sha256,
            defaults={
                "event_type": parsed.event_type,
                "fired_at": parsed.fired_at,
                "email": parsed.email,
                "new_email": parsed.new_email,
                "payload": parsed.payload,
                "outcome": WebhookOutcome.IGNORED,
            },
        )
        if not created:
            return ReceiveResult(event=row, duplicate=True)
        outcome, subscriber = (_apply if signed else _apply_unsigned)(parsed)
        row.outcome, row.subscriber = outcome, subscriber
        row.save(update_fields=["outcome", "subscriber"])
        if parsed.event_type == "upemail" and outcome == WebhookOutcome.APPLIED:
            _retry_unmatched(parsed.new_email, parsed.fired_at)
    return ReceiveResult(event=row, duplicate=False)
