"""Joining, confirming, choosing series and leaving the list.

The rules, for every way in (API, Mailchimp webhook, operator):
- One row per normalized address (unique in the database); concurrent subscribes of one address
  meet on that row and serialize on its row lock.
- A subscribe never changes status or series by itself. It records the consent (kind GIVEN, with
  the exact text, form, IP and the series asked for) and a worker sends a confirmation link after
  commit (``subscriber_confirmation_send``; never inside the request, so neither its timing nor a
  mail outage tells who is subscribed; retried with backoff, and swept up if a message is lost);
  only the click (``subscriber_confirm``) subscribes and applies the series. This holds for a new
  address, a pending one, an unsubscribed one (suppressed until it confirms again) and a
  subscribed one (so nobody can change another person's series by typing their address); a
  subscribed address that asks for nothing it does not already follow gets no email at all.
- A cleaned address (hard bounce or abuse report) gets no email from a public subscribe: the
  consent is recorded with a note and nothing is sent, because mailing a dead address again harms
  delivery for everyone. An operator who knows the address works again calls
  ``subscriber_allow_reconfirmation``; the next subscribe then sends a confirmation as usual.
- Unsubscribing is immediate, idempotent, and recorded as a WITHDRAWN consent row.
- Every change stamps ``status_changed_at`` / ``preferences_changed_at`` so a Mailchimp webhook
  fired earlier but delivered later cannot undo it.
- Every status change, from whatever way in (these services, the audience sync, the list
  webhooks), goes through ``subscriber_status_change``, which writes the consent row with it.
"""

import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone

from cms.models import SeriesPage
from pipeline.providers.base import ProviderError, TransactionalEmail, get_provider
from pipeline.subscribers.email_address import normalize_email
from pipeline.subscribers.models import (
    ConsentKind,
    ConsentRecord,
    ConsentSource,
    Subscriber,
    SubscriberStatus,
)
from pipeline.subscribers.rate_limits import RateLimited, hit
from pipeline.subscribers.signals import (
    confirmation_requested,
    preferences_changed,
    series_confirmed,
)
from pipeline.subscribers.suppression import is_suppressed, lift
from pipeline.subscribers.tokens import (
    address_matches,
    confirm_max_age_days,
    confirm_url,
    list_unsubscribe_headers,
    preferences_url,
    reader_links,
)

logger = logging.getLogger(__name__)

MAX_SERIES_PER_REQUEST = 100
MAX_CONSENT_TEXT = 5000
MAX_FORM_ID = 200


class SubscriberError(ValueError):
    """A request we refuse; ``str()`` is a message fit for the person who made it."""


class UnknownSeries(SubscriberError):
    pass


class LinkNoLongerValid(SubscriberError):
    pass


class AddressBounced(SubscriberError):
    pass


@dataclass(frozen=True)
class SubscribeOutcome:
    subscriber: Subscriber
    consent: ConsentRecord
    send_confirmation: bool


def series_by_slugs(slugs: list[str]) -> list[SeriesPage]:
    """The live series named, in the order asked; unknown or unpublished slugs are refused."""
    wanted = list(dict.fromkeys(slug.strip() for slug in slugs if slug and slug.strip()))
    if len(wanted) > MAX_SERIES_PER_REQUEST:
        raise SubscriberError(f"Choose at most {MAX_SERIES_PER_REQUEST} series.")
    found = {s.slug: s for s in SeriesPage.objects.live().public().filter(slug__in=wanted)}
    missing = [slug for slug in wanted if slug not in found]
    if missing:
        raise UnknownSeries("Unknown series: " + ", ".join(sorted(missing)[:10]) + ".")
    return [found[slug] for slug in wanted]


def _lock(subscriber_id: int) -> Subscriber:
    return Subscriber.objects.select_for_update().get(pk=subscriber_id)


@dataclass(frozen=True)
class StatusChange:
    applied: bool  # False: the condition did not hold and nothing was written
    consent: ConsentRecord | None = None


def subscriber_status_change(
    *,
    subscriber: Subscriber,
    to_status: str,
    kind: str | None,
    source: str,
    at: datetime,
    only_from: Collection[str] | None = None,
    dated_by_source: bool = False,
    note: str = "",
    consent_text: str = "",
    form_id: str = "",
    ip_address: str | None = None,
    user_agent: str = "",
    requested_series: list[str] | None = None,
    answers: ConsentRecord | None = None,
    also: Mapping[str, object] | None = None,
    basis: str = "",
) -> StatusChange:
    """Move ``subscriber`` to ``to_status`` and record the consent row (``kind``; None for a
    status that is not a choice, such as cleaned) in one transaction: the one place a status
    changes, so the audit trail cannot miss one.

    The change applies only when the current status is in ``only_from`` (when given) and, when
    ``dated_by_source`` (``at`` is when the source says it happened, e.g. a webhook's fired_at),
    only when ``at`` is not before the status's last change: a stale event changes nothing, ties
    go to the later arrival. ``status_changed_at`` is stamped when the status moves, and also
    when a dated event restates it, so that events older than that statement stay stale.
    ``confirmed_at`` is stamped on every move to (or confirmation of) subscribed. ``also`` holds
    other fields written in the same update. ``subscriber`` is updated in memory too.
    """
    with transaction.atomic():
        status, changed_at = (
            Subscriber.objects.select_for_update().filter(pk=subscriber.pk)
            .values_list("status", "status_changed_at").get()
        )
        if only_from is not None and status not in only_from:
            return StatusChange(applied=False)
        if dated_by_source and changed_at is not None and at < changed_at:
            return StatusChange(applied=False)
        fields: dict[str, object] = {**(also or {}), "status": to_status}
        if status != to_status or dated_by_source:
            fields["status_changed_at"] = at
        if to_status == SubscriberStatus.SUBSCRIBED:
            fields["confirmed_at"] = at
        for name, value in fields.items():
            setattr(subscriber, name, value)
        subscriber.save(update_fields=[*fields, "updated_at"])
        consent = None
        if kind is not None:
            consent = ConsentRecord.objects.create(
                subscriber=subscriber, kind=kind, source=source, recorded_at=at,
                form_id=form_id, consent_text=consent_text, ip_address=ip_address,
                user_agent=(user_agent or "")[:500], requested_series=requested_series or [],
                answers=answers, note=note[:500], basis=basis[:100],
            )
    return StatusChange(applied=True, consent=consent)


def subscriber_subscribe(
    *,
    email: str,
    series_slugs: list[str],
    consent_text: str,
    form_id: str,
    ip_address: str | None = None,
    user_agent: str = "",
    source: str = ConsentSource.API,
) -> SubscribeOutcome:
    """Record a request to join; see the module rules for what it changes (almost nothing).

    The confirmation email is never sent here: the consent is marked due and
    ``confirmation_requested`` is sent for every consent recorded, owed or not, so the request does
    the same work whoever the address belongs to; a worker sends it after commit
    (``subscriber_confirmation_send``)."""
    address = normalize_email(email)
    consent_text = (consent_text or "").strip()
    if not consent_text:
        raise SubscriberError("Consent is required: send the exact text the person agreed to.")
    if len(consent_text) > MAX_CONSENT_TEXT:
        raise SubscriberError(f"The consent text is too long (at most {MAX_CONSENT_TEXT}).")
    if len(form_id or "") > MAX_FORM_ID:
        raise SubscriberError(f"The form id is too long (at most {MAX_FORM_ID} characters).")
    series = series_by_slugs(series_slugs)
    now = timezone.now()
    with transaction.atomic():
        created_row, created = Subscriber.objects.get_or_create(
            email=address, defaults={"status": SubscriberStatus.PENDING, "status_changed_at": now}
        )
        subscriber = _lock(created_row.pk)
        bounced = subscriber.status == SubscriberStatus.CLEANED
        nothing_new = subscriber.status == SubscriberStatus.SUBSCRIBED and {
            s.pk for s in series
        } <= set(subscriber.series.values_list("pk", flat=True))
        note = ""
        if created and is_suppressed(address):
            note = ("Address was erased on request earlier: it comes back only if its owner "
                    "confirms.")
        if bounced:
            note = "Address was cleaned (bounced): no confirmation sent."
        elif nothing_new:
            note = "Already subscribed to every series asked for: no confirmation sent."
        send = not (bounced or nothing_new)
        consent = ConsentRecord.objects.create(
            subscriber=subscriber,
            kind=ConsentKind.GIVEN,
            source=source,
            recorded_at=now,
            form_id=form_id or "",
            consent_text=consent_text,
            ip_address=ip_address,
            user_agent=(user_agent or "")[:500],
            requested_series=[s.slug for s in series],
            confirmation_due_at=now if send else None,
            note=note,
        )
        confirmation_requested.send(sender=ConsentRecord, consent_id=consent.pk)
    logger.info("subscribe %s (%s, new=%s)", subscriber.pk, subscriber.status, created)
    return SubscribeOutcome(subscriber=subscriber, consent=consent, send_confirmation=send)


# Sending the confirmation email (a worker: workers/tasks/subscribers.py).
CONFIRMATION_LEASE = timedelta(minutes=2)  # a claimed send no worker finished is due again after
CONFIRMATION_GIVE_UP = timedelta(days=1)  # an email owed this long is dropped, with a note
CONFIRMATION_SWEEP_GRACE = timedelta(seconds=60)  # the queued task (or its retry) goes first
CONFIRMATION_BACKOFF_SECONDS = (5, 300)  # first wait after a failure, doubling up to the cap


class ConfirmationSend(StrEnum):
    SENT = "sent"
    NOT_DUE = "not-due"  # nothing owed, already sent, or another worker holds it
    DROPPED = "dropped"  # no longer owed: see the consent's note


class ConfirmationDeferred(Exception):
    """The provider could not take the email now; it is due again in ``retry_in`` seconds."""

    def __init__(self, error: ProviderError, retry_in: int):
        super().__init__(str(error))
        self.retry_in = retry_in


def confirmation_backoff(attempts: int) -> int:
    """Seconds before the next try after ``attempts`` failed ones (the task's retry adds jitter
    after this; the sweep finds it a little later if the retry is lost)."""
    first, cap = CONFIRMATION_BACKOFF_SECONDS
    return min(cap, first * 2 ** max(attempts - 1, 0))


def _confirmation_email(consent: ConsentRecord) -> TransactionalEmail:
    subscriber = consent.subscriber
    titles = list(
        SeriesPage.objects.filter(slug__in=consent.requested_series).values_list("title", flat=True)
    )
    context = {
        "site_name": settings.WAGTAIL_SITE_NAME,
        "confirm_url": confirm_url(
            subscriber_id=subscriber.pk, email=subscriber.email, consent_id=consent.pk
        ),
        "series_titles": titles,
        "already_subscribed": subscriber.status == SubscriberStatus.SUBSCRIBED,
        "postal_address": settings.POSTAL_ADDRESS,
        "max_age_days": confirm_max_age_days(),
    }
    return TransactionalEmail(
        to=subscriber.email,
        subject=render_to_string("email/subscriber_confirm_subject.txt", context).strip(),
        text=render_to_string("email/subscriber_confirm.txt", context),
        html=render_to_string("email/subscriber_confirm.html", context),
        category="subscriber-confirm",
    )


def _why_not_send(consent: ConsentRecord, now) -> str:
    """Why a claimed confirmation is no longer owed; empty when it is."""
    subscriber = consent.subscriber
    if now - consent.recorded_at > CONFIRMATION_GIVE_UP:
        return "Confirmation email not sent: the provider did not take it for a day."
    if subscriber.status == SubscriberStatus.CLEANED:
        return "Address was cleaned (bounced) meanwhile: no confirmation sent."
    if consent.answered_by.filter(kind=ConsentKind.CONFIRMED).exists():
        return "Already confirmed: no confirmation sent."
    if consent.confirmation_attempts == 1:  # counted once per consent, not per retry
        try:
            hit("confirmations", subscriber.email)
        except RateLimited:
            return ("Too many confirmation emails to this address lately: none sent (the links "
                    "already sent still work).")
    return ""


def subscriber_confirmation_send(*, consent_id: int) -> ConfirmationSend:
    """Send the double opt-in email a consent owes, once, whoever calls (the queued task, its
    retry, the sweep, a redelivery).

    A worker claims the consent by moving ``confirmation_due_at`` past the lease in one
    conditional update, sends without holding a transaction, and records the outcome: sent; due
    again after a backoff when the provider could not take it (raises ConfirmationDeferred, the
    task retries then, and the sweep is the safety net); dropped with a note when it is no longer
    owed or the provider refused it for good. A crash between the provider's accept and our
    record sends it again after the lease: a second confirmation email, never none."""
    now = timezone.now()
    claimed = ConsentRecord.objects.filter(
        pk=consent_id, kind=ConsentKind.GIVEN, confirmation_sent_at__isnull=True,
        confirmation_due_at__lte=now,
    ).update(confirmation_due_at=now + CONFIRMATION_LEASE,
             confirmation_attempts=F("confirmation_attempts") + 1)
    if not claimed:
        return ConfirmationSend.NOT_DUE
    consent = ConsentRecord.objects.select_related("subscriber").get(pk=consent_id)
    row = ConsentRecord.objects.filter(pk=consent_id)
    reason = _why_not_send(consent, now)
    if not reason:
        try:
            get_provider().send_transactional(_confirmation_email(consent))
        except ProviderError as error:
            if error.retryable:
                retry_in = confirmation_backoff(consent.confirmation_attempts)
                row.update(confirmation_due_at=timezone.now() + timedelta(seconds=retry_in))
                logger.warning("confirmation email for consent %s deferred %s s: %s",
                               consent_id, retry_in, error)
                raise ConfirmationDeferred(error, retry_in) from error
            reason = f"Confirmation email refused by the provider: {error}"
    if reason:
        row.update(confirmation_due_at=None, note=reason[:500])
        logger.info("confirmation email for consent %s dropped: %s", consent_id, reason)
        return ConfirmationSend.DROPPED
    row.update(confirmation_due_at=None, confirmation_sent_at=timezone.now())
    return ConfirmationSend.SENT


def subscriber_confirmations_due(*, limit: int = 500) -> list[int]:
    """Consents whose confirmation email is owed and was left behind (a lost message, a crashed
    worker, a retry that never came): the sweep queues them again."""
    overdue = timezone.now() - CONFIRMATION_SWEEP_GRACE
    return list(
        ConsentRecord.objects.filter(confirmation_due_at__lte=overdue)
        .order_by("confirmation_due_at").values_list("pk", flat=True)[:limit]
    )


def _check_address(subscriber: Subscriber, digest: str) -> None:
    if not address_matches(subscriber.email, digest):
        raise LinkNoLongerValid("This link was made for an address that has since changed.")


def subscriber_confirm(
    *,
    subscriber_id: int,
    address_digest: str,
    consent_id: int,
    ip_address: str | None = None,
    user_agent: str = "",
) -> Subscriber:
    """The double opt-in click: subscribe and apply the series asked for. Idempotent."""
    now = timezone.now()
    with transaction.atomic():
        try:
            subscriber = _lock(subscriber_id)
        except Subscriber.DoesNotExist:
            raise LinkNoLongerValid("This link is not valid.") from None
        _check_address(subscriber, address_digest)
        given = ConsentRecord.objects.filter(
            pk=consent_id, subscriber=subscriber, kind=ConsentKind.GIVEN
        ).first()
        if given is None:
            raise LinkNoLongerValid("This link is not valid.")
        if given.answered_by.filter(kind=ConsentKind.CONFIRMED).exists():
            return subscriber  # a second click, or a mail scanner before the person
        if subscriber.status == SubscriberStatus.CLEANED:
            raise AddressBounced(
                "This address bounced, so we cannot subscribe it; please contact us."
            )
        wanted = list(SeriesPage.objects.live().public().filter(slug__in=given.requested_series))
        before = set(subscriber.series.values_list("pk", flat=True))
        lift(subscriber.email)  # the owner's own confirmed consent: imports may add it again
        if subscriber.status == SubscriberStatus.SUBSCRIBED:
            subscriber.series.add(*wanted)  # a new consent for more series: status untouched
        else:
            subscriber.series.set(wanted)
        subscriber_status_change(
            subscriber=subscriber, to_status=SubscriberStatus.SUBSCRIBED,
            kind=ConsentKind.CONFIRMED, source=given.source, at=now, form_id=given.form_id,
            consent_text=given.consent_text, ip_address=ip_address, user_agent=user_agent,
            requested_series=given.requested_series, answers=given,
            also={"preferences_changed_at": now},
        )
        series_confirmed.send(sender=Subscriber, subscriber_id=subscriber.pk,
                              series_ids=[s.pk for s in wanted])
        removed = before - {s.pk for s in wanted}
        if removed or {s.pk for s in wanted} - before:
            preferences_changed.send(sender=Subscriber, subscriber_id=subscriber.pk,
                                     added_ids=sorted({s.pk for s in wanted} - before),
                                     removed_ids=sorted(removed))
    return subscriber


def subscriber_for_link(*, subscriber_id: int, address_digest: str) -> Subscriber:
    """The subscriber a preferences or unsubscribe link names, if the address still matches."""
    subscriber = Subscriber.objects.filter(pk=subscriber_id).first()
    if subscriber is None:
        raise LinkNoLongerValid("This link is not valid.")
    _check_address(subscriber, address_digest)
    return subscriber


def subscriber_update_preferences(
    *, subscriber_id: int, address_digest: str, series_slugs: list[str],
    source: str = ConsentSource.API, ip_address: str | None = None, user_agent: str = "",
) -> Subscriber:
    """Replace the series followed. Status is untouched: preferences never resubscribe.
    A change is recorded as a consent row (kind PREFERENCES); choosing the same set records
    nothing."""
    series = series_by_slugs(series_slugs)
    with transaction.atomic():
        subscriber = _lock(subscriber_id)
        _check_address(subscriber, address_digest)
        _set_series(subscriber, {s.pk for s in series}, source=source, ip_address=ip_address,
                    user_agent=user_agent)
    return subscriber


def subscriber_stop_series(
    *, subscriber_id: int, address_digest: str, series_id: int,
    source: str = ConsentSource.API, ip_address: str | None = None, user_agent: str = "",
) -> Subscriber:
    """Stop following one series (the "stop emails about this series" link). Idempotent."""
    with transaction.atomic():
        subscriber = _lock(subscriber_id)
        _check_address(subscriber, address_digest)
        followed = set(subscriber.series.values_list("pk", flat=True))
        _set_series(subscriber, followed - {series_id}, source=source, ip_address=ip_address,
                    user_agent=user_agent)
    return subscriber


def _set_series(subscriber: Subscriber, wanted: set[int], *, source: str,
                ip_address: str | None, user_agent: str) -> None:
    """Inside the caller's transaction, with the subscriber locked."""
    before = set(subscriber.series.values_list("pk", flat=True))
    added, removed = wanted - before, before - wanted
    if not added and not removed:
        return
    now = timezone.now()
    subscriber.series.set(wanted)
    subscriber.preferences_changed_at = now
    subscriber.save(update_fields=["preferences_changed_at", "updated_at"])
    titles = dict(SeriesPage.objects.filter(pk__in=added | removed).values_list("pk", "slug"))
    slugs = sorted(SeriesPage.objects.filter(pk__in=wanted).values_list("slug", flat=True))
    note = "; ".join(part for part in (
        "follows " + ", ".join(sorted(titles[pk] for pk in added)) if added else "",
        "stopped " + ", ".join(sorted(titles[pk] for pk in removed)) if removed else "",
    ) if part)
    ConsentRecord.objects.create(
        subscriber=subscriber, kind=ConsentKind.PREFERENCES, source=source, recorded_at=now,
        ip_address=ip_address, user_agent=(user_agent or "")[:500], requested_series=slugs,
        note=f"Preferences changed: {note}"[:500],
    )
    preferences_changed.send(sender=Subscriber, subscriber_id=subscriber.pk,
                             added_ids=sorted(added), removed_ids=sorted(removed))


def subscriber_unsubscribe(
    *,
    subscriber_id: int,
    address_digest: str | None = None,
    source: str = ConsentSource.API,
    ip_address: str | None = None,
    user_agent: str = "",
    note: str = "",
    at: datetime | None = None,
) -> Subscriber:
    """Leave the list now. Idempotent; a cleaned address stays cleaned (the stronger block)."""
    when = at or timezone.now()
    with transaction.atomic():
        subscriber = _lock(subscriber_id)
        if address_digest is not None:
            _check_address(subscriber, address_digest)
        subscriber_status_change(
            subscriber=subscriber, to_status=SubscriberStatus.UNSUBSCRIBED,
            kind=ConsentKind.WITHDRAWN, source=source, at=when,
            only_from=(SubscriberStatus.PENDING, SubscriberStatus.SUBSCRIBED),
            ip_address=ip_address, user_agent=user_agent, note=note,
        )
    return subscriber


def subscriber_allow_reconfirmation(*, subscriber_id: int, operator_note: str) -> Subscriber:
    """Operator only: let a cleaned address receive a confirmation link again.

    The address becomes unsubscribed (still suppressed); it is subscribed again only when its
    owner confirms a new consent.
    """
    with transaction.atomic():
        subscriber = _lock(subscriber_id)
        subscriber_status_change(
            subscriber=subscriber, to_status=SubscriberStatus.UNSUBSCRIBED,
            kind=ConsentKind.WITHDRAWN, source=ConsentSource.ADMIN, at=timezone.now(),
            only_from=(SubscriberStatus.CLEANED,),
            note=f"Cleaned address released for reconfirmation: {operator_note}",
        )
    return subscriber


def subscriber_email_headers(subscriber: Subscriber) -> dict[str, str]:
    """List-Unsubscribe headers for any list email to this subscriber (used by campaigns)."""
    return list_unsubscribe_headers(subscriber_id=subscriber.pk, email=subscriber.email)


def subscriber_preferences_url(subscriber: Subscriber) -> str:
    """The preferences link for the footer of list emails (used by campaigns)."""
    return preferences_url(subscriber_id=subscriber.pk, email=subscriber.email)


def subscriber_preferences_page_url(subscriber: Subscriber) -> str:
    """The reader's preference page (server-rendered), for the footer of list emails."""
    return reader_links(subscriber_id=subscriber.pk, email=subscriber.email).preferences


# Bringing a list in (the CSV import: pipeline/subscribers/csv_io.py reads and checks the rows).
@dataclass(frozen=True)
class ImportEntry:
    """One checked row of an import: a normalized address, and what the file says of it."""

    line: int
    email: str
    name: str
    series_ids: tuple[int, ...]
    series_slugs: tuple[str, ...]
    basis: str
    consented_at: datetime | None
    source: str

    @property
    def has_proof(self) -> bool:
        """Proof of consent: the file states the basis and when the person consented. Without
        it a row waits (pending) for the person to confirm our double opt-in email."""
        return bool(self.basis and self.consented_at)


class ImportOutcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    NOT_READDED = "not re-added"  # unsubscribed or cleaned here: only the owner may come back
    SUPPRESSED = "suppressed"  # erased on request: refused


def import_plan(entries: list[ImportEntry], *, existing: Mapping[str, dict],
                suppressed: Collection[str]) -> dict[int, ImportOutcome]:
    """What importing each entry does (line → outcome), given the rows that exist (address →
    {"status": ...}) and the suppressed addresses; the dry run shows it, the import applies it."""
    plan = {}
    for entry in entries:
        row = existing.get(entry.email)
        if entry.email in suppressed and (row is None or row["erased_at"] is not None):
            plan[entry.line] = ImportOutcome.SUPPRESSED
        elif row is None:
            plan[entry.line] = ImportOutcome.CREATED
        elif row["status"] in (SubscriberStatus.UNSUBSCRIBED, SubscriberStatus.CLEANED):
            plan[entry.line] = ImportOutcome.NOT_READDED
        else:
            plan[entry.line] = ImportOutcome.UPDATED
    return plan


def subscribers_import_batch(
    *, entries: list[ImportEntry], plan: Mapping[int, ImportOutcome], label: str,
    send_confirmation: bool, now: datetime | None = None,
) -> dict[str, int]:
    """Write one planned batch of an import in one transaction; returns counts.

    The bulk form of the rules above, for a million rows: a new address is created with its
    consent row (CONFIRMED with the file's basis and date when it has proof of consent, so
    subscribed; GIVEN otherwise, so pending, owing a double opt-in email when
    ``send_confirmation``); an existing one gets its name and the series named (added, never
    removed) and a consent row; a pending one with proof becomes subscribed through
    ``subscriber_status_change``. Unsubscribed, cleaned and suppressed addresses are not
    touched. A concurrent subscribe of the same new address makes the batch fail with an
    IntegrityError; the caller plans it again (the address then exists)."""
    now = now or timezone.now()
    counts = {"created": 0, "updated": 0, "subscribed": 0, "pending": 0,
              "confirmation_emails": 0}
    todo = [e for e in entries if plan[e.line] in (ImportOutcome.CREATED, ImportOutcome.UPDATED)]
    if not todo:
        return counts
    through = Subscriber.series.through
    note = f"Imported from {label}"[:500]
    with transaction.atomic():
        new = [e for e in todo if plan[e.line] == ImportOutcome.CREATED]
        created = Subscriber.objects.bulk_create([
            Subscriber(
                email=e.email, name=e.name,
                status=SubscriberStatus.SUBSCRIBED if e.has_proof else SubscriberStatus.PENDING,
                status_changed_at=e.consented_at or now,
                confirmed_at=e.consented_at if e.has_proof else None,
                preferences_changed_at=now if e.series_ids else None,
            ) for e in new])
        ids = {s.email: s.pk for s in created}
        old = {s.email: s for s in Subscriber.objects.select_for_update().filter(
            email__in=[e.email for e in todo if e.email not in ids]).order_by("pk")}
        ids.update({email: s.pk for email, s in old.items()})
        consents: list[ConsentRecord] = []
        changed: list[Subscriber] = []
        promote: list[tuple[Subscriber, ImportEntry]] = []
        for entry in todo:
            subscriber = old.get(entry.email)
            proof = entry.has_proof
            owes_email = (not proof and send_confirmation
                          and (subscriber is None or subscriber.status == SubscriberStatus.PENDING))
            if subscriber is not None and subscriber.status == SubscriberStatus.PENDING and proof:
                promote.append((subscriber, entry))
                continue  # its consent row comes with the status change
            consents.append(ConsentRecord(
                subscriber_id=ids[entry.email],
                kind=ConsentKind.CONFIRMED if proof else ConsentKind.GIVEN,
                source=ConsentSource.IMPORT, recorded_at=entry.consented_at or now,
                form_id=entry.source[:MAX_FORM_ID], basis=entry.basis[:100],
                requested_series=list(entry.series_slugs),
                confirmation_due_at=now if owes_email else None,
                note=note if subscriber is None else f"{note} (already on the list)"[:500]))
            counts["confirmation_emails"] += owes_email
            if subscriber is None:
                counts["created"] += 1
                counts["subscribed" if proof else "pending"] += 1
            else:
                counts["updated"] += 1
                if entry.name and entry.name != subscriber.name or entry.series_ids:
                    subscriber.name = entry.name or subscriber.name
                    subscriber.updated_at = now
                    if entry.series_ids:
                        subscriber.preferences_changed_at = now
                    changed.append(subscriber)
        ConsentRecord.objects.bulk_create(consents)
        Subscriber.objects.bulk_update(
            changed, ["name", "updated_at", "preferences_changed_at"], batch_size=1000)
        through.objects.bulk_create(
            [through(subscriber_id=ids[e.email], seriespage_id=series_id)
             for e in todo for series_id in e.series_ids],
            ignore_conflicts=True, batch_size=5000)
        for subscriber, entry in promote:
            subscriber_status_change(
                subscriber=subscriber, to_status=SubscriberStatus.SUBSCRIBED,
                kind=ConsentKind.CONFIRMED, source=ConsentSource.IMPORT,
                at=entry.consented_at or now, only_from=(SubscriberStatus.PENDING,),
                form_id=entry.source[:MAX_FORM_ID], basis=entry.basis,
                requested_series=list(entry.series_slugs), note=note,
                also={"name": entry.name or subscriber.name, "preferences_changed_at": now})
            counts["updated"] += 1
            counts["subscribed"] += 1
        for consent in consents:
            if consent.confirmation_due_at is not None:
                confirmation_requested.send(sender=ConsentRecord, consent_id=consent.pk)
    return counts
