"""Statuses between our list and the Mailchimp audience, both ways, and the pull.

Ours → Mailchimp: a subscriber still pending with us (who has not confirmed our double opt-in)
is not sent at all: made "pending" there, Mailchimp would mail its own confirmation on top of
ours. They are sent once they confirm. Unsubscribed and cleaned send ``status: unsubscribed``
(Mailchimp cannot be told "cleaned"); subscribed sends ``status_if_new``, so a member unsubscribed
or cleaned in Mailchimp is never resubscribed. Two explicit exceptions: a member Mailchimp holds
as pending who then confirmed with us is sent ``subscribed``, and a member Mailchimp holds as
unsubscribed who gave us fresh, confirmed consent since is sent ``pending`` (Mailchimp then asks
them itself: it takes an unsubscribed member back no other way). Mailchimp → ours: cleaned always
wins (a bounce is a fact); unsubscribed wins unless our consent is newer; subscribed confirms a
pending subscriber.

The pull reads back the members Mailchimp changed since the last finished run began, so an
unsubscribe or a bounce there (its webhook lost) reaches our list before anything is pushed.
"""

import hashlib
import json
from datetime import datetime, timedelta

from django.db import transaction
from django.utils.dateparse import parse_datetime

from pipeline.providers.mailchimp_client import MailchimpClient
from pipeline.subscribers.models import ConsentKind, ConsentSource, Subscriber, SubscriberStatus
from pipeline.subscribers.services import subscriber_status_change

SUPPRESSED = {SubscriberStatus.UNSUBSCRIBED.value, SubscriberStatus.CLEANED.value}
POSITIVE = {SubscriberStatus.PENDING.value, SubscriberStatus.SUBSCRIBED.value}
# What the sync reads of a subscriber, both ways.
ROW_FIELDS = ("pk", "email", "status", "status_changed_at", "mailchimp_synced_status",
              "mailchimp_synced_at", "mailchimp_synced_hash")


def member_digest(*, email: str, status: str, interest_ids: list[str]) -> str:
    """What we last pushed, in one value: a subscriber is sent again only when it changes."""
    payload = json.dumps([email, status, sorted(interest_ids)], separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def is_fresh(row: dict) -> bool:
    """Our status changed after the last sync (so our word is the newer one)."""
    synced_at, changed_at = row["mailchimp_synced_at"], row["status_changed_at"]
    return synced_at is None or (changed_at is not None and changed_at > synced_at)


def mailchimp_status_fields(*, ours: str, known: str, fresh: bool) -> dict | None:
    """The status part of a member body, or None: not sent (see the module docstring)."""
    if ours == SubscriberStatus.PENDING:
        return None
    if ours in SUPPRESSED:
        if known in SUPPRESSED:
            return {"status_if_new": "unsubscribed"}
        return {"status": "unsubscribed"}
    if ours == SubscriberStatus.SUBSCRIBED and known == "pending" and fresh:
        return {"status": "subscribed"}
    if known == "unsubscribed" and fresh:
        return {"status": "pending"}  # re-opt-in: Mailchimp asks the person itself
    return {"status_if_new": ours}


def take_status(subscriber_pk: int, status: str, *, now: datetime, why: str) -> None:
    """Our subscriber takes Mailchimp's status (with a consent row where it is a choice)."""
    kind = {SubscriberStatus.SUBSCRIBED: ConsentKind.CONFIRMED,
            SubscriberStatus.UNSUBSCRIBED: ConsentKind.WITHDRAWN}.get(status)
    subscriber_status_change(
        subscriber=Subscriber.objects.select_for_update().get(pk=subscriber_pk),
        to_status=status, kind=kind, source=ConsentSource.MAILCHIMP, at=now,
        note=f"Audience sync: {why}",
        also={"mailchimp_synced_status": status, "mailchimp_synced_at": now},
    )


def status_from_mailchimp(row: dict, theirs: str, *, their_change: datetime | None,
                          pushed_if_new: bool) -> str | None:
    """The status our subscriber should take from Mailchimp's, or None to keep ours."""
    ours = row["status"]
    if theirs == ours or theirs not in {"subscribed", "unsubscribed", "cleaned", "pending"}:
        return None
    if theirs == "cleaned":
        return theirs
    if theirs == "unsubscribed" and ours in POSITIVE:
        if pushed_if_new or not is_fresh(row):
            return theirs
        # Fresh consent with us after Mailchimp's unsubscribe keeps ours (we then send pending);
        # without our own date, Mailchimp's unsubscribe stands.
        ours_at = row["status_changed_at"]
        return theirs if ours_at is None or (their_change and their_change > ours_at) else None
    if theirs == "subscribed" and ours == SubscriberStatus.PENDING:
        return theirs
    if (theirs == "subscribed" and ours == SubscriberStatus.UNSUBSCRIBED and not is_fresh(row)
            and their_change and row["status_changed_at"]
            and their_change > row["status_changed_at"]):
        return theirs  # joined again through a Mailchimp form; its webhook never reached us
    return None


def audience_pull(*, client: MailchimpClient, since: datetime | None, now: datetime,
                  page_size: int = 1000) -> int:
    """Read back members Mailchimp changed since ``since``; returns how many of ours changed."""
    mapped = 0
    page: list[dict] = []

    def apply(members: list[dict]) -> int:
        by_email = {m["email_address"].strip().lower(): m for m in members}
        rows = Subscriber.objects.filter(email__in=list(by_email)).values(*ROW_FIELDS)
        changed = 0
        for row in rows:
            member = by_email[row["email"]]
            theirs = member.get("status", "")
            with transaction.atomic():
                target = status_from_mailchimp(
                    row, theirs, their_change=parse_datetime(member.get("last_changed") or ""),
                    pushed_if_new=False)
                if target:
                    take_status(row["pk"], target, now=now, why=f"{theirs} in Mailchimp")
                    changed += 1
                elif theirs != row["mailchimp_synced_status"]:
                    Subscriber.objects.filter(pk=row["pk"]).update(
                        mailchimp_synced_status=theirs)
        return changed

    if since is not None:
        # Mailchimp's last_changed has whole seconds: step back so nothing at the edge is missed.
        since = since.replace(microsecond=0) - timedelta(seconds=1)
    for member in client.iter_members(since_last_changed=since, page_size=page_size):
        page.append(member)
        if len(page) >= page_size:
            mapped += apply(page)
            page = []
    if page:
        mapped += apply(page)
    return mapped
