"""Erasure at Mailchimp: the member deleted permanently (``actions/delete-permanent``), retried
until done.

``erasure_record`` runs inside the subscriber's erasure transaction (a receiver of
``personal_data_erasing``) and writes a due MailchimpErasure row when Mailchimp is configured.
``mailchimp_erasures_process`` (a worker, queued on commit and by beat) claims due rows with
SKIP LOCKED, pushing ``due_at`` past a lease so a crashed worker's row comes back by itself,
and calls Mailchimp without holding a transaction:
- 204, or 404 (no such member: nothing to delete) → done, and the hash is forgotten;
- anything else (an outage, 429, 5xx, even a 4xx) → due again after a backoff doubling from
  ERASURE_BACKOFF[0] to ERASURE_BACKOFF[1], with the error kept for the operator (/health/
  alerts when one is pending for longer than ERASURE_ALERT_AFTER).
Mailchimp then refuses to re-add the address ("Forgotten Email Not Subscribed") unless its owner
subscribes through a Mailchimp form.
"""

from __future__ import annotations

import logging
import random
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from pipeline.audience.models import MailchimpErasure
from pipeline.audience.services.account import mailchimp_configured
from pipeline.providers.mailchimp_client import MailchimpClient
from pipeline.providers.mailchimp_errors import MailchimpError, NotFound
from pipeline.providers.mailchimp_lists import subscriber_hash

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
ERASURE_BACKOFF = (10, 3600)  # seconds: first wait, cap
ERASURE_ALERT_AFTER = timedelta(hours=6)


def erasure_record(*, subscriber_id: int, email: str) -> MailchimpErasure | None:
    if not mailchimp_configured():
        return None
    now = timezone.now()
    return MailchimpErasure.objects.create(
        subscriber_id=subscriber_id, list_id=settings.MAILCHIMP["LIST_ID"],
        member_hash=subscriber_hash(email), requested_at=now, due_at=now)


def erasure_backoff(attempts: int) -> float:
    first, cap = ERASURE_BACKOFF
    return min(cap, first * 2 ** max(attempts - 1, 0)) * random.uniform(1.0, 1.25)


def _claim(limit: int) -> list[MailchimpErasure]:
    now = timezone.now()
    with transaction.atomic():
        rows = list(MailchimpErasure.objects.select_for_update(skip_locked=True)
                    .filter(due_at__lte=now).order_by("due_at")[:limit])
        for row in rows:
            row.attempts += 1
            row.due_at = now + LEASE
            row.save(update_fields=["attempts", "due_at"])
    return rows


def mailchimp_erasures_process(*, limit: int = 50, client: MailchimpClient | None = None
                               ) -> dict[str, int]:
    """Delete the due members permanently; returns {"done": n, "deferred": n}."""
    outcome = {"done": 0, "deferred": 0}
    rows = _claim(limit)
    if not rows:
        return outcome
    client = client or MailchimpClient.from_settings()
    for row in rows:
        try:
            client.delete_member_permanently_by_hash(row.member_hash, list_id=row.list_id)
        except NotFound:
            pass  # not (or no longer) a member: nothing left to delete
        except MailchimpError as error:
            wait = erasure_backoff(row.attempts)
            MailchimpErasure.objects.filter(pk=row.pk).update(
                due_at=timezone.now() + timedelta(seconds=wait),
                last_error=f"{type(error).__name__}: {error}"[:2000])
            logger.warning("Mailchimp erasure %s deferred %.0f s: %s", row.pk, wait, error)
            outcome["deferred"] += 1
            continue
        MailchimpErasure.objects.filter(pk=row.pk).update(
            due_at=None, done_at=timezone.now(), member_hash="", last_error="")
        outcome["done"] += 1
    return outcome


def mailchimp_erasures_pending() -> dict:
    """For /health/: how many are waiting, and the oldest one's age."""
    pending = MailchimpErasure.objects.filter(done_at__isnull=True)
    oldest = pending.order_by("requested_at").values_list("requested_at", "last_error").first()
    age = (timezone.now() - oldest[0]).total_seconds() if oldest else 0
    return {"pending": pending.count(), "oldest_age_seconds": round(age),
            "last_error": (oldest[1] if oldest else "")[:200]}
