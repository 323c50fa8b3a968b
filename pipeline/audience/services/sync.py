"""Our subscriber list into the Mailchimp audience, and Mailchimp's statuses back into our list.

How a run goes:
1. Claim: resume the unfinished run (its cursor and counters) or start one; a run whose heartbeat
   is fresh belongs to someone else (AudienceSyncBusy).
2. Series → interests: one interest per followed series in the category "Series", created on
   demand and recorded in MailchimpSeriesInterest.
3. Pull: members Mailchimp changed since the last finished run began, so an unsubscribe or a bounce
   there (its webhook lost) reaches our list before we push anything.
4. Push: subscribers whose hash (address, status, followed series) differs from what was last
   synced, in primary-key order, 500 per ``POST /lists/{id}`` (batch subscribe, update_existing):
   up to ``concurrency`` (≤ 10, Mailchimp's connection limit) batches in flight, results recorded
   in batch order, and the cursor moves in the same transaction as a batch's result.

Why batch subscribe and not ``/batches``: it answers synchronously with every member's status and
error, so a batch's result can be recorded (and the cursor moved) as soon as it returns. Measured
in bench/audience_sync.py (100,000 members, 20 ms latency): batch subscribe 13.8 s, 209 requests,
151 MB peak; ``/batches`` (10 jobs of 10,000 PUTs) 13.2 s, 28 requests, 180 MB peak before
recording anything, and its jobs are asynchronous (queued for minutes at Mailchimp), so a crash
mid-job leaves 10,000 members in doubt instead of at most ``concurrency`` batches of 500.

Statuses. Ours → Mailchimp: unsubscribed and cleaned send ``status: unsubscribed`` (Mailchimp
cannot be told "cleaned"); pending and subscribed send ``status_if_new``, so a member unsubscribed
or cleaned in Mailchimp is never resubscribed. Two explicit exceptions: a member Mailchimp holds as
pending who then confirmed with us is sent ``subscribed``, and a member Mailchimp holds as
unsubscribed who gave us fresh, confirmed consent since is sent ``pending`` (Mailchimp then asks
them itself). Mailchimp → ours: cleaned always wins (a bounce is a fact); unsubscribed wins unless
our consent is newer; subscribed confirms a pending subscriber.

A re-sent batch is the same upsert with the same bodies (statuses only as above, interests as
absolute values), so a batch sent twice (after a crash, or after a timeout whose answer was lost)
ends in the same audience state: no batch is applied twice to a different effect. Batches that
finished are not redone: their members' hashes are recorded, so a resumed run skips them.

Per-member refusals ("Member Exists", "Forgotten Email Not Subscribed", "Member In Compliance
State", invalid addresses) are recorded on the subscriber (``mailchimp_sync_error``) and counted
by kind, never fatal.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from cms.models import SeriesPage
from pipeline.audience.models import AudienceSyncRun, MailchimpSeriesInterest, SyncRunState
from pipeline.providers.mailchimp_client import (
    BATCH_SUBSCRIBE_LIMIT,
    MailchimpClient,
    RetryableError,
)
from pipeline.subscribers.models import ConsentKind, ConsentSource, Subscriber, SubscriberStatus
from pipeline.subscribers.services import subscriber_status_change

logger = logging.getLogger(__name__)

SERIES_CATEGORY_TITLE = "Series"
MAX_CONCURRENCY = 10  # Mailchimp answers 429 beyond about 10 connections per account
DEFAULT_CONCURRENCY = 5  # leaves room for campaign work running at the same time
LEASE = timedelta(minutes=2)  # a run whose heartbeat is older is taken to be dead
SCAN_CHUNK = 2000
SUPPRESSED = {SubscriberStatus.UNSUBSCRIBED.value, SubscriberStatus.CLEANED.value}
POSITIVE = {SubscriberStatus.PENDING.value, SubscriberStatus.SUBSCRIBED.value}

# Error kinds, as shown in the summary and stored (as a prefix) on the subscriber.
MEMBER_EXISTS = "Member Exists"
FORGOTTEN = "Forgotten Email Not Subscribed"
COMPLIANCE = "Member In Compliance State"
INVALID_ADDRESS = "Invalid address"
OTHER = "Other"


class AudienceSyncError(Exception):
    pass


class AudienceSyncBusy(AudienceSyncError):
    """Another sync holds a fresh lease."""


class AudienceSyncInterrupted(AudienceSyncError):
    """Mailchimp kept failing (outage) or refused the call itself; the run is kept and resumes
    from its cursor next time."""


@dataclass
class SyncSummary:
    run_id: int
    state: str
    members_sent: int
    members_created: int
    members_updated: int
    errors_by_kind: dict
    statuses_from_mailchimp: int
    batches: int
    requests: int
    seconds: float
    resumed: int

    @property
    def errors(self) -> int:
        return sum(self.errors_by_kind.values())


@dataclass
class _Entry:
    pk: int
    email: str
    status: str
    digest: str
    explicit_status: bool  # we sent "status" (not just status_if_new)


@dataclass
class _Batch:
    number: int
    last_pk: int
    entries: list[_Entry]
    members: list[dict]


@dataclass
class _BatchAnswer:
    answer: dict
    requests: int


@dataclass
class _Counters:
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


def member_digest(*, email: str, status: str, interest_ids: list[str]) -> str:
    """What we last pushed, in one value: a subscriber is sent again only when it changes."""
    payload = json.dumps([email, status, sorted(interest_ids)], separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def _is_fresh(row: dict) -> bool:
    """Our status changed after the last sync (so our word is the newer one)."""
    synced_at, changed_at = row["mailchimp_synced_at"], row["status_changed_at"]
    return synced_at is None or (changed_at is not None and changed_at > synced_at)


def mailchimp_status_fields(*, ours: str, known: str, fresh: bool) -> dict:
    """The status part of a member body (see the module docstring for the rules)."""
    if ours in SUPPRESSED:
        if known in SUPPRESSED:
            return {"status_if_new": "unsubscribed"}
        return {"status": "unsubscribed"}
    if ours == SubscriberStatus.SUBSCRIBED and known == "pending" and fresh:
        return {"status": "subscribed"}
    if known == "unsubscribed" and fresh:
        return {"status": "pending"}  # re-opt-in: Mailchimp asks the person itself
    return {"status_if_new": ours}


# -- run claim -------------------------------------------------------------------------------
def _claim_run(*, full: bool, list_id: str, now: datetime) -> AudienceSyncRun:
    with transaction.atomic():
        run = (AudienceSyncRun.objects.select_for_update()
               .exclude(state=SyncRunState.FINISHED).order_by("-id").first())
        if run is not None:
            if run.state == SyncRunState.RUNNING and run.heartbeat_at > now - LEASE:
                raise AudienceSyncBusy(f"audience sync run {run.pk} is running "
                                       f"(heartbeat {run.heartbeat_at:%H:%M:%S})")
            run.state = SyncRunState.RUNNING
            run.heartbeat_at = now
            run.resumed += 1
            run.save(update_fields=["state", "heartbeat_at", "resumed"])
            return run
        last = AudienceSyncRun.objects.filter(state=SyncRunState.FINISHED,
                                              list_id=list_id).order_by("-started_at").first()
        upper = Subscriber.objects.aggregate(top=Max("pk"))["top"] or 0
        return AudienceSyncRun.objects.create(
            started_at=now, heartbeat_at=now, full=full, list_id=list_id, upper_pk=upper,
            pulled_since=None if full or last is None else last.started_at)


# -- series as interests ---------------------------------------------------------------------
def series_interests_ensure(*, client: MailchimpClient) -> dict[int, str]:
    """Series id → Mailchimp interest id for every series somebody follows (created on demand)."""
    followed = set(Subscriber.series.through.objects.values_list("seriespage_id", flat=True)
                   .distinct())
    known = {m.series_id: m.interest_id for m in MailchimpSeriesInterest.objects.all()}
    missing = followed - set(known)
    if missing:
        category = client.ensure_interest_category(SERIES_CATEGORY_TITLE)
        titles = Counter(SeriesPage.objects.values_list("title", flat=True))
        for series in SeriesPage.objects.filter(pk__in=missing).order_by("pk"):
            name = series.title if titles[series.title] == 1 else f"{series.title} ({series.slug})"
            interest = client.ensure_interest(category["id"], name[:100])
            MailchimpSeriesInterest.objects.update_or_create(
                series=series, defaults={"category_id": category["id"],
                                         "interest_id": interest["id"],
                                         "interest_name": interest["name"]})
            known[series.pk] = interest["id"]
    return known


# -- Mailchimp → ours ------------------------------------------------------------------------
_ROW_FIELDS = ("pk", "email", "status", "status_changed_at", "mailchimp_synced_status",
               "mailchimp_synced_at", "mailchimp_synced_hash")


def _take_status(subscriber_pk: int, status: str, *, now: datetime, why: str) -> None:
    """Our subscriber takes Mailchimp's status (with a consent row where it is a choice)."""
    kind = {SubscriberStatus.SUBSCRIBED: ConsentKind.CONFIRMED,
            SubscriberStatus.UNSUBSCRIBED: ConsentKind.WITHDRAWN}.get(status)
    subscriber_status_change(
        subscriber=Subscriber.objects.select_for_update().get(pk=subscriber_pk),
        to_status=status, kind=kind, source=ConsentSource.MAILCHIMP, at=now,
        note=f"Audience sync: {why}",
        also={"mailchimp_synced_status": status, "mailchimp_synced_at": now},
    )


def _status_from_mailchimp(row: dict, theirs: str, *, their_change: datetime | None,
                           pushed_if_new: bool) -> str | None:
    """The status our subscriber should take from Mailchimp's, or None to keep ours."""
    ours = row["status"]
    if theirs == ours or theirs not in {"subscribed", "unsubscribed", "cleaned", "pending"}:
        return None
    if theirs == "cleaned":
        return theirs
    if theirs == "unsubscribed" and ours in POSITIVE:
        if pushed_if_new or not _is_fresh(row):
            return theirs
        # Fresh consent with us after Mailchimp's unsubscribe keeps ours (we then send pending);
        # without our own date, Mailchimp's unsubscribe stands.
        ours_at = row["status_changed_at"]
        return theirs if ours_at is None or (their_change and their_change > ours_at) else None
    if theirs == "subscribed" and ours == SubscriberStatus.PENDING:
        return theirs
    if (theirs == "subscribed" and ours == SubscriberStatus.UNSUBSCRIBED and not _is_fresh(row)
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
        rows = Subscriber.objects.filter(email__in=list(by_email)).values(*_ROW_FIELDS)
        changed = 0
        for row in rows:
            member = by_email[row["email"]]
            theirs = member.get("status", "")
            with transaction.atomic():
                target = _status_from_mailchimp(
                    row, theirs, their_change=parse_datetime(member.get("last_changed") or ""),
                    pushed_if_new=False)
                if target:
                    _take_status(row["pk"], target, now=now, why=f"{theirs} in Mailchimp")
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


# -- ours → Mailchimp ------------------------------------------------------------------------
def _batches(*, run: AudienceSyncRun, interests: dict[int, str], batch_size: int,
             on_scanned: Callable[[int], None]) -> Iterator[_Batch]:
    """Changed subscribers after the cursor, in primary-key order, ``batch_size`` at a time."""
    through = Subscriber.series.through
    all_interest_ids = sorted(set(interests.values()))
    position, number = run.cursor_pk, 0
    entries: list[_Entry] = []
    members: list[dict] = []
    while position < run.upper_pk:
        rows = list(Subscriber.objects.filter(pk__gt=position, pk__lte=run.upper_pk)
                    .order_by("pk").values(*_ROW_FIELDS)[:SCAN_CHUNK])
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
                ours=row["status"], known=row["mailchimp_synced_status"], fresh=_is_fresh(row))
            member = {"email_address": row["email"], **status_fields}
            if all_interest_ids:
                member["interests"] = {i: i in followed for i in all_interest_ids}
            entries.append(_Entry(pk=row["pk"], email=row["email"], status=row["status"],
                                  digest=digest, explicit_status="status" in status_fields))
            members.append(member)
            if len(entries) == batch_size:
                number += 1
                yield _Batch(number=number, last_pk=row["pk"], entries=entries, members=members)
                entries, members = [], []
        position = rows[-1]["pk"]
        on_scanned(len(rows))
    if entries:
        number += 1
        yield _Batch(number=number, last_pk=run.upper_pk, entries=entries, members=members)


def _record(*, run: AudienceSyncRun, batch: _Batch, answer: dict, requests: int,
            now: datetime, counters: _Counters) -> None:
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
            pk__in=[e.pk for e in batch.entries]).values(*_ROW_FIELDS)}
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
                target = (_status_from_mailchimp(row, theirs, their_change=None,
                                                 pushed_if_new=not entry.explicit_status)
                          if row["status"] == entry.status else None)
                if target:
                    _take_status(entry.pk, target, now=now, why=f"{theirs} in Mailchimp")
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


def audience_sync(*, full: bool = False, concurrency: int = DEFAULT_CONCURRENCY,
                  batch_size: int = BATCH_SUBSCRIBE_LIMIT,
                  client_factory: Callable[[], MailchimpClient] | None = None,
                  outage_attempts: int = 6, outage_sleep: Callable[[float], None] = time.sleep,
                  progress: Callable[[dict], None] | None = None,
                  clock: Callable[[], datetime] = timezone.now) -> SyncSummary:
    """Run (or resume) one audience sync; see the module docstring."""
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise ValueError(f"concurrency must be between 1 and {MAX_CONCURRENCY}")
    if not 1 <= batch_size <= BATCH_SUBSCRIBE_LIMIT:
        raise ValueError(f"batch_size must be between 1 and {BATCH_SUBSCRIBE_LIMIT}")
    factory = client_factory or MailchimpClient.from_settings
    began = time.monotonic()
    client = factory()
    run = _claim_run(full=full, list_id=client._list(None), now=clock())
    counters = _Counters()
    report = progress or (lambda event: None)
    try:
        interests = series_interests_ensure(client=client)
        run.statuses_from_mailchimp += audience_pull(client=client, since=run.pulled_since,
                                                     now=clock())
        run.pull_done = True
        run.requests += client.calls
        run.save()
        total = Subscriber.objects.filter(pk__gt=run.cursor_pk, pk__lte=run.upper_pk).count()
        report({"event": "start", "total": total, "run_id": run.pk})
        _push(run=run, interests=interests, batch_size=batch_size, concurrency=concurrency,
              factory=factory, outage_attempts=outage_attempts, outage_sleep=outage_sleep,
              report=report, clock=clock, counters=counters)
    except Exception as error:
        AudienceSyncRun.objects.filter(pk=run.pk).update(
            state=SyncRunState.INTERRUPTED, last_error=f"{type(error).__name__}: {error}"[:2000])
        if isinstance(error, AudienceSyncError):
            raise
        if isinstance(error, RetryableError) or getattr(error, "status", None):
            raise AudienceSyncInterrupted(f"run {run.pk} interrupted: {error}") from error
        raise
    run.state = SyncRunState.FINISHED
    run.finished_at = clock()
    run.last_error = ""
    run.save()
    return SyncSummary(
        run_id=run.pk, state=run.state, members_sent=run.members_sent,
        members_created=run.members_created, members_updated=run.members_updated,
        errors_by_kind=dict(run.errors_by_kind),
        statuses_from_mailchimp=run.statuses_from_mailchimp,
        batches=run.batches, requests=run.requests, seconds=time.monotonic() - began,
        resumed=run.resumed)


def _push(*, run, interests, batch_size, concurrency, factory, outage_attempts, outage_sleep,
          report, clock, counters) -> None:
    local = threading.local()

    def send(batch: _Batch) -> _BatchAnswer:
        # One wrapper per thread: the official client keeps per-instance state.
        if not hasattr(local, "client"):
            local.client = factory()
        client = local.client
        before = client.calls
        for attempt in range(outage_attempts):
            try:
                answer = client.batch_subscribe(batch.members, update_existing=True)
                return _BatchAnswer(answer=answer, requests=client.calls - before)
            except RetryableError as error:
                # The wrapper already retried with backoff; this is a longer outage.
                if attempt + 1 >= outage_attempts:
                    raise
                logger.warning("audience sync batch %d: %s; waiting", batch.number, error)
                outage_sleep(min(30.0, 2.0 * 2 ** attempt))
        raise AssertionError("unreachable")

    in_flight: deque[tuple[_Batch, Future]] = deque()

    def record_oldest() -> None:
        batch, future = in_flight.popleft()
        result = future.result()  # raises what the batch raised; the cursor stays put
        _record(run=run, batch=batch, answer=result.answer, requests=result.requests,
                now=clock(), counters=counters)
        report({"event": "batch", "batch": batch.number, "members": len(batch.entries),
                "sent": run.members_sent, "errors": sum(run.errors_by_kind.values())})

    with ThreadPoolExecutor(max_workers=concurrency,
                            thread_name_prefix="audience-sync") as pool:
        try:
            for batch in _batches(run=run, interests=interests, batch_size=batch_size,
                                  on_scanned=lambda n: report({"event": "scanned",
                                                               "rows": n})):
                in_flight.append((batch, pool.submit(send, batch)))
                # Keep the pool busy while results are recorded in order, memory bounded.
                while len(in_flight) > concurrency:
                    record_oldest()
            while in_flight:
                record_oldest()
        except BaseException:
            for _batch, future in in_flight:
                future.cancel()
            raise
    run.cursor_pk = run.upper_pk
    run.save(update_fields=["cursor_pk"])


def audience_sync_task_run(*, full: bool = False) -> dict:
    """One sync for the worker: its summary, or why it was skipped (another run holds the lock).
    A Mailchimp outage still raises AudienceSyncInterrupted, for the task to retry later."""
    try:
        summary = audience_sync(full=full)
    except AudienceSyncBusy as busy:
        logger.info("audience sync skipped: %s", busy)
        return {"skipped": str(busy)}
    return asdict(summary)
