"""Ours → Mailchimp: the changed subscribers after the run's cursor, as batch-subscribe bodies.

A subscriber is sent when the digest of what we would send (address, status, followed series)
differs from the one last synced, or always in a full run; never while pending with us
(statuses.py). Interests go as absolute values, so a batch sent twice has the same effect as once.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.db.models import Q

from pipeline.audience.models import AudienceSyncRun
from pipeline.audience.services.statuses import (
    ROW_FIELDS,
    is_fresh,
    mailchimp_status_fields,
    member_digest,
)
from pipeline.subscribers.models import Subscriber

SCAN_CHUNK = 2000


@dataclass
class Entry:
    pk: int
    email: str
    status: str
    digest: str
    explicit_status: bool  # we sent "status" (not just status_if_new)


@dataclass
class Batch:
    number: int
    last_pk: int
    entries: list[Entry]
    members: list[dict]


def changed_batches(*, run: AudienceSyncRun, interests: dict[int, str], batch_size: int,
                    on_scanned: Callable[[int], None]) -> Iterator[Batch]:
    """Changed subscribers after the cursor, in primary-key order, ``batch_size`` at a time."""
    through = Subscriber.series.through
    all_interest_ids = sorted(set(interests.values()))
    position, number = run.cursor_pk, 0
    entries: list[Entry] = []
    members: list[dict] = []
    # Erased subscribers are never sent (their member is deleted permanently instead); an
    # incremental run reads only who changed since the last run, or still has a sync error.
    candidates = Subscriber.objects.filter(erased_at__isnull=True)
    if run.changed_since is not None and not run.full:
        since = run.changed_since
        candidates = candidates.filter(
            Q(updated_at__gte=since) | Q(status_changed_at__gte=since)
            | Q(preferences_changed_at__gte=since) | Q(email_changed_at__gte=since)
            | ~Q(mailchimp_sync_error=""))
    while position < run.upper_pk:
        rows = list(candidates.filter(pk__gt=position, pk__lte=run.upper_pk)
                    .order_by("pk").values(*ROW_FIELDS)[:SCAN_CHUNK])
        if not rows:
            break
        follows: dict[int, set[str]] = {}
        for subscriber_id, series_id in through.objects.filter(
                subscriber_id__in=[r["pk"] for r in rows]).values_list("subscriber_id",
                                                                       "seriespage_id"):
            if series_id in interests:
                follows.setdefault(subscriber_id, set()).add(interests[series_id])
        for row in rows:
            followed = follows.get(row["pk"], set())
            digest = member_digest(email=row["email"], status=row["status"],
                                   interest_ids=list(followed))
            if not run.full and digest == row["mailchimp_synced_hash"]:
                continue
            status_fields = mailchimp_status_fields(
                ours=row["status"], known=row["mailchimp_synced_status"], fresh=is_fresh(row))
            if status_fields is None:
                continue
            member = {"email_address": row["email"], **status_fields}
            if all_interest_ids:
                member["interests"] = {i: i in followed for i in all_interest_ids}
            entries.append(Entry(pk=row["pk"], email=row["email"], status=row["status"],
                                  digest=digest, explicit_status="status" in status_fields))
            members.append(member)
            if len(entries) == batch_size:
                number += 1
                yield Batch(number=number, last_pk=row["pk"], entries=entries, members=members)
                entries, members = [], []
        position = rows[-1]["pk"]
        on_scanned(len(rows))
    if entries:
        number += 1
        yield Batch(number=number, last_pk=run.upper_pk, entries=entries, members=members)
