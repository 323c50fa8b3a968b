"""A batch's answer recorded: per-member outcomes, the run's counters and the cursor.

Per-member refusals ("Member Exists", "Forgotten Email Not Subscribed", "Member In Compliance
State", invalid addresses) are recorded on the subscriber (``mailchimp_sync_error``) and counted
by kind, never fatal.

Everything about one batch is written in one transaction, the cursor with it: a crash between two
batches loses nothing, and a batch whose result was recorded is not sent again.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, transaction

from pipeline.audience.models import AudienceSyncRun
from pipeline.audience.services.batches import Batch
from pipeline.audience.services.statuses import (
    ROW_FIELDS,
    member_digest,
    status_from_mailchimp,
    take_status,
)
from pipeline.subscribers.models import Subscriber

# Error kinds, as shown in the summary and stored (as a prefix) on the subscriber.
MEMBER_EXISTS = "Member Exists"
FORGOTTEN = "Forgotten Email Not Subscribed"
COMPLIANCE = "Member In Compliance State"
INVALID_ADDRESS = "Invalid address"
OTHER = "Other"


@dataclass
class Counters:
    requests: int = 0
    mapped: int = 0
    errors: Counter = field(default_factory=Counter)


def member_error_kind(error: dict) -> str:
    """Which of the known refusals a batch-subscribe error entry is (they come as free text)."""
    text = f"{error.get('error_code', '')} {error.get('error', '')}".lower()
    if "contact_exists" in text or "already a list member" in text and "compliance" not in text:
        return MEMBER_EXISTS
    if "permanently deleted" in text or "forgotten" in text:
        return FORGOTTEN
    if "compliance" in text:
        return COMPLIANCE
    if "invalid" in text or "fake" in text or "valid email" in text:
        return INVALID_ADDRESS
    return OTHER


def record_batch(*, run: AudienceSyncRun, batch: Batch, answer: dict, requests: int,
                 now: datetime, counters: Counters) -> None:
    """One batch's result, the run's counters and the cursor, in one transaction."""
    statuses: dict[str, tuple[str, bool]] = {}
    for key, created in (("new_members", True), ("updated_members", False)):
        for member in answer.get(key) or []:
            statuses[member.get("email_address", "").strip().lower()] = (
                member.get("status", ""), created)
    errors = {str(e.get("email_address", "")).strip().lower(): e
              for e in answer.get("errors") or []}
    created = updated = 0
    batch_errors: Counter = Counter()
    with transaction.atomic():
        rows = {r["pk"]: r for r in Subscriber.objects.filter(
            pk__in=[e.pk for e in batch.entries]).values(*ROW_FIELDS)}
        updates: list[tuple] = []
        for position, entry in enumerate(batch.entries):
            row = rows.get(entry.pk)
            if row is None:  # deleted meanwhile
                continue
            fields = {"mailchimp_synced_hash": entry.digest, "mailchimp_synced_at": now}
            if entry.email in statuses:
                theirs, was_created = statuses[entry.email]
                created += was_created
                updated += not was_created
                fields["mailchimp_synced_status"] = theirs
                fields["mailchimp_sync_error"] = ""
                target = (status_from_mailchimp(row, theirs, their_change=None,
                                                 pushed_if_new=not entry.explicit_status)
                          if row["status"] == entry.status else None)
                if target:
                    take_status(entry.pk, target, now=now, why=f"{theirs} in Mailchimp")
                    counters.mapped += 1
                    run.statuses_from_mailchimp += 1
                    # Mailchimp and we now agree: nothing is left to send for this member.
                    sent_interests = batch.members[position].get("interests", {})
                    fields["mailchimp_synced_hash"] = member_digest(
                        email=entry.email, status=target,
                        interest_ids=[i for i, on in sent_interests.items() if on])
                    fields["mailchimp_synced_status"] = target
            else:
                error = errors.get(entry.email, {"error": "no answer for this member"})
                kind = member_error_kind(error)
                batch_errors[kind] += 1
                fields["mailchimp_sync_error"] = (
                    f"{kind}: {error.get('error', '')}"[:1900] + f" ({now:%Y-%m-%d %H:%M} UTC)")
                if kind == OTHER:  # not a known, lasting refusal: try again next run
                    del fields["mailchimp_synced_hash"]
            updates.append((fields.get("mailchimp_synced_hash", row["mailchimp_synced_hash"]),
                            fields["mailchimp_synced_status"] if "mailchimp_synced_status"
                            in fields else row["mailchimp_synced_status"],
                            now, fields["mailchimp_sync_error"], entry.pk))
        _write_sync_fields(updates)
        run.members_sent += len(batch.entries)
        run.members_created += created
        run.members_updated += updated
        for kind, count in batch_errors.items():
            run.errors_by_kind[kind] = run.errors_by_kind.get(kind, 0) + count
        counters.errors.update(batch_errors)
        run.batches += 1
        run.requests += requests
        run.cursor_pk = batch.last_pk
        run.heartbeat_at = now
        run.save()


def _write_sync_fields(updates: list[tuple]) -> None:
    """One parameterised UPDATE run for every member of a batch (executemany): Django's
    bulk_update builds a CASE per field and row, which took ~1 s per 500 members."""
    if not updates:
        return
    meta = Subscriber._meta
    columns = [meta.get_field(name).column for name in (
        "mailchimp_synced_hash", "mailchimp_synced_status", "mailchimp_synced_at",
        "mailchimp_sync_error")]
    quote = connection.ops.quote_name
    sql = (f"UPDATE {quote(meta.db_table)} SET "
           + ", ".join(f"{quote(column)} = %s" for column in columns)
           + f" WHERE {quote(meta.pk.column)} = %s")
    prepare = meta.get_field("mailchimp_synced_at").get_db_prep_value
    prepared: dict = {}  # one moment per batch: convert it once
    rows = [(digest, status, prepared.setdefault(at, prepare(at, connection)), error, pk)
            for digest, status, at, error, pk in updates]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)
