"""The reader's data rights: their data as JSON, and its erasure.

Export: the profile and consent history held here, plus a section from each app that holds
something about the subscriber, gathered through the ``personal_data_requested`` signal (the
campaigns app adds deliveries; a catch-up app adds its progress) so this app imports none of them.

Erasure (``subscriber_erase``), in one transaction, idempotent:
- the address goes into the suppression table as a keyed HMAC (suppression.py), so a re-import
  cannot add it back silently;
- ``personal_data_erasing`` lets every other app remove or anonymise its part (deliveries keep
  their row and state for the counts, without the address; the audience app records the
  Mailchimp member's permanent deletion, carried out after commit and retried until done);
- here: the address becomes ``erased-<id>@erased.invalid``, the name and series go, the consent
  rows lose their IP address, user agent and notes (their kind, source and dates stay: the count
  of consents is not personal), and a WITHDRAWN consent row records the erasure itself through
  ``subscriber_status_change``, the one place a status changes.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from pipeline.subscribers import suppression
from pipeline.subscribers.models import (
    ConsentKind,
    ConsentRecord,
    ConsentSource,
    Subscriber,
    SubscriberStatus,
)
from pipeline.subscribers.services import LinkNoLongerValid, subscriber_status_change
from pipeline.subscribers.signals import personal_data_erasing, personal_data_requested
from pipeline.subscribers.tokens import address_matches, data_export_url

logger = logging.getLogger(__name__)

ERASED_DOMAIN = "erased.invalid"  # RFC 2606: never deliverable


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def subscriber_data(subscriber: Subscriber) -> dict:
    """Everything we hold about one subscriber, as JSON-able data."""
    data = {
        "profile": {
            "email": subscriber.email,
            "name": subscriber.name,
            "status": subscriber.status,
            "series": sorted(subscriber.series.values_list("slug", flat=True)),
            "created_at": _iso(subscriber.created_at),
            "confirmed_at": _iso(subscriber.confirmed_at),
            "status_changed_at": _iso(subscriber.status_changed_at),
            "preferences_changed_at": _iso(subscriber.preferences_changed_at),
            "erased_at": _iso(subscriber.erased_at),
            "mailchimp": {"status": subscriber.mailchimp_synced_status,
                          "synced_at": _iso(subscriber.mailchimp_synced_at)},
        },
        "consent_history": [
            {"kind": c.kind, "source": c.source, "basis": c.basis,
             "recorded_at": _iso(c.recorded_at), "form": c.form_id,
             "consent_text": c.consent_text, "ip_address": c.ip_address,
             "user_agent": c.user_agent, "series": c.requested_series, "note": c.note,
             "confirmation_sent_at": _iso(c.confirmation_sent_at)}
            for c in subscriber.consents.order_by("recorded_at", "id")
        ],
    }
    for receiver, sections in personal_data_requested.send(sender=Subscriber,
                                                           subscriber=subscriber):
        if not isinstance(sections, dict):
            raise TypeError(f"{receiver!r} must return a dict of sections")
        clash = set(sections) & set(data)
        if clash:
            raise ValueError(f"{receiver!r} returned sections already present: {sorted(clash)}")
        data.update(sections)
    data["exported_at"] = timezone.now().isoformat()
    return data


def subscriber_data_for_link(*, subscriber_id: int, address_digest: str) -> dict:
    """The export a signed link asks for, if the link was made for the current address."""
    subscriber = Subscriber.objects.filter(pk=subscriber_id, erased_at__isnull=True).first()
    if subscriber is None or not address_matches(subscriber.email, address_digest):
        raise LinkNoLongerValid("This link is not valid.")
    return subscriber_data(subscriber)


def subscriber_data_export_url(subscriber: Subscriber) -> str:
    """The signed, short-lived link to the subscriber's own data, for the preference page."""
    return data_export_url(subscriber_id=subscriber.pk, email=subscriber.email)


def subscriber_erase(*, subscriber_id: int, actor: str, note: str = "") -> Subscriber:
    """Erase one subscriber's personal data (see the module docstring). Idempotent."""
    now = timezone.now()
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().get(pk=subscriber_id)
        if subscriber.erased_at is not None:
            return subscriber
        email = subscriber.email
        suppression.suppress(email, reason="erased on request")
        personal_data_erasing.send(sender=Subscriber, subscriber=subscriber, email=email)
        ConsentRecord.objects.filter(subscriber=subscriber).update(
            ip_address=None, user_agent="", note="", confirmation_due_at=None)
        subscriber.series.clear()
        to_status = (SubscriberStatus.CLEANED if subscriber.status == SubscriberStatus.CLEANED
                     else SubscriberStatus.UNSUBSCRIBED)
        subscriber_status_change(
            subscriber=subscriber, to_status=to_status, kind=ConsentKind.WITHDRAWN,
            source=ConsentSource.ADMIN, at=now,
            note=f"Personal data erased on request by {actor}. {note}".strip(),
            also={"email": f"erased-{subscriber.pk}@{ERASED_DOMAIN}", "name": "",
                  "erased_at": now, "email_changed_at": now, "preferences_changed_at": now,
                  "mailchimp_sync_error": ""},
        )
    logger.info("subscriber %s erased by %s", subscriber_id, actor)
    return subscriber
