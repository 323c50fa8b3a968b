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

A re-sent batch is the same upsert with the same bodies (statuses as in statuses.py, interests
as absolute values), so a batch sent twice (after a crash, or after a timeout whose answer was
lost) ends in the same audience state: no batch is applied twice to a different effect. Batches
that finished are not redone: their members' hashes are recorded, so a resumed run skips them.

The parts: runs.py (claim, finish, interrupt), interests.py (series → interests), statuses.py
(the status rules both ways, and the pull), batches.py (what is pushed), outcomes.py (a batch's
result recorded).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime

from django.utils import timezone

from pipeline.audience.models import AudienceSyncRun, SyncRunState
from pipeline.audience.services.account import mailchimp_configured
from pipeline.audience.services.batches import Batch, changed_batches
from pipeline.audience.services.interests import series_interests_ensure
from pipeline.audience.services.outcomes import Counters, record_batch
from pipeline.audience.services.runs import (
    AudienceSyncBusy,
    AudienceSyncError,
    AudienceSyncInterrupted,
    claim_run,
    finish_run,
    interrupt_run,
)
from pipeline.audience.services.statuses import audience_pull
from pipeline.providers.mailchimp_client import MailchimpClient
from pipeline.providers.mailchimp_errors import RetryableError
from pipeline.providers.mailchimp_lists import BATCH_SUBSCRIBE_LIMIT
from pipeline.subscribers.models import Subscriber

logger = logging.getLogger(__name__)

MAX_CONCURRENCY = 10  # Mailchimp answers 429 beyond about 10 connections per account
DEFAULT_CONCURRENCY = 5  # leaves room for campaign work running at the same time


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
class _BatchAnswer:
    answer: dict
    requests: int


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
    run = claim_run(full=full, list_id=client._list(None), now=clock())
    counters = Counters()
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
        interrupt_run(run, error)
        if isinstance(error, AudienceSyncError):
            raise
        if isinstance(error, RetryableError) or getattr(error, "status", None):
            raise AudienceSyncInterrupted(f"run {run.pk} interrupted: {error}") from error
        raise
    finish_run(run, now=clock())
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

    def send(batch: Batch) -> _BatchAnswer:
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

    in_flight: deque[tuple[Batch, Future]] = deque()

    def record_oldest() -> None:
        batch, future = in_flight.popleft()
        result = future.result()  # raises what the batch raised; the cursor stays put
        record_batch(run=run, batch=batch, answer=result.answer, requests=result.requests,
                     now=clock(), counters=counters)
        report({"event": "batch", "batch": batch.number, "members": len(batch.entries),
                "sent": run.members_sent, "errors": sum(run.errors_by_kind.values())})

    with ThreadPoolExecutor(max_workers=concurrency,
                            thread_name_prefix="audience-sync") as pool:
        try:
            for batch in changed_batches(
                    run=run, interests=interests, batch_size=batch_size,
                    on_scanned=lambda n: report({"event": "scanned", "rows": n})):
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


def audience_sync_health(*, now: datetime | None = None) -> dict:
    """The sync's figures for /health/: the last finished run, its lag and errors, and the
    unfinished run if any (``state``, ``heartbeat_age_seconds``, ``last_error``)."""
    now = now or timezone.now()
    last = (AudienceSyncRun.objects.filter(state=SyncRunState.FINISHED)
            .order_by("-started_at", "-id").first())
    unfinished = (AudienceSyncRun.objects.exclude(state=SyncRunState.FINISHED)
                  .order_by("-id").first())
    figures: dict = {
        "last_success_at": (last.finished_at or last.started_at).isoformat() if last else None,
        # Lag: changes made after the last finished run began may not be at Mailchimp yet.
        "lag_seconds": round((now - last.started_at).total_seconds()) if last else None,
        "last_run_errors": sum(last.errors_by_kind.values()) if last else 0,
        "last_run_errors_by_kind": dict(last.errors_by_kind) if last else {},
        "unfinished_run": unfinished.pk if unfinished else None,
    }
    if unfinished:
        figures.update(state=unfinished.state, last_error=unfinished.last_error[:200],
                       heartbeat_age_seconds=round(
                           (now - unfinished.heartbeat_at).total_seconds()))
    return figures


def audience_sync_task_run(*, full: bool = False) -> dict:
    """One sync for the worker: its summary, or why it was skipped (another run holds the lock).
    A Mailchimp outage still raises AudienceSyncInterrupted, for the task to retry later."""
    if not mailchimp_configured():
        return {"skipped": "Mailchimp is not configured"}
    try:
        summary = audience_sync(full=full)
    except AudienceSyncBusy as busy:
        logger.info("audience sync skipped: %s", busy)
        return {"skipped": str(busy)}
    return asdict(summary)
