"""The catch-up step for N readers due the same day (local path) vs the naive way.

    uv run python bench/catchup_step.py [--readers 5000] [--naive-sample N]
    uv run python bench/catchup_step.py --readers 100000 --naive-sample 2000   # the issue's figure

One series with four live parts; N readers, each with parts 1-3 queued and due now. In one run,
on the same rows (reset between runs, untimed), each method sends every reader their next part:
  ours   pipeline.catchup.services.step.catchup_step: a page of 500 due readers planned in a few
         statements (lock, queues, live parts, who still receives the series, the pace), then the
         ledger moved pending → sending → sent a window at a time;
  naive  for each due reader, its own set of queries: lock the reader's progress, read its next
         queued part, check the part is live and public and the reader still subscribed and
         following, mark it sending, send, mark it sent, move the due time on.
Both build each reader's message the same way (the part's email made once, personal links per
reader) and hand it to Django's dummy email backend, so the table compares the database work,
not a mail server. Queries are counted with a connection execute wrapper; memory is the process's
resident set, sampled every 20 ms while a method runs (its peak, and its rise over the start).
It creates a throwaway test database (test_<name> of DATABASE_URL).

The naive way costs about 50 ms a reader (80 minutes for 100,000), so ``--naive-sample N`` runs it
on the first N due readers only: its row says so, shows the measured time and the per-reader
figures, and the time it would take for all readers is that per-reader time scaled (printed as
such, not measured).
"""

import argparse
import os
import resource
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")


class QueryCounter:
    """Counts queries, and notes when each page of due readers is locked (ours reads a page
    with one SELECT ... FOR UPDATE SKIP LOCKED): the pages' times show whether a reader costs
    the same at the end of a large step as at its start."""

    def __init__(self):
        self.count = 0
        self.page_starts: list[float] = []

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        if "SKIP LOCKED" in sql and sql.lstrip().upper().startswith("SELECT"):
            self.page_starts.append(time.perf_counter())
        return execute(sql, params, many, context)

    def tenths(self, ended: float) -> tuple[float, float] | None:
        """Seconds a page took in the first and in the last tenth of the pages."""
        starts = self.page_starts[:-1]  # the last lock finds no one due: the end
        if len(starts) < 10:
            return None
        spans = [b - a for a, b in zip(starts, starts[1:] + [ended], strict=True)]
        tenth = len(spans) // 10
        return sum(spans[:tenth]) / tenth, sum(spans[-tenth:]) / tenth


class ResidentMemory:
    """The process's resident set sampled in a thread while the block runs (peak and start, MB):
    the process-wide maximum (ru_maxrss) would carry the first method's peak into the second's."""

    def __init__(self, interval: float = 0.02):
        self.interval = interval
        self.page_mb = resource.getpagesize() / 2**20
        self.start = self.peak = 0.0
        self._stop = threading.Event()

    def now(self) -> float:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * self.page_mb

    def _watch(self):
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, self.now())

    def __enter__(self):
        self.start = self.peak = self.now()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.now())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--readers", type=int, default=5_000)
    parser.add_argument("--naive-sample", type=int, default=None,
                        help="run the naive way on this many readers only (default: all)")
    args = parser.parse_args()
    sample = min(args.naive_sample or args.readers, args.readers)

    import django

    django.setup()
    from django.conf import settings
    from django.test.utils import setup_databases, setup_test_environment, teardown_databases

    setup_test_environment()
    settings.EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
    settings.EMAIL_PROVIDER = "local"
    # At most 8 messages in flight, as with the default 4 SMTP sessions (the dummy backend
    # sends inline, whose own default would be 2).
    settings.CAMPAIGN_LEDGER_WINDOW = 8
    databases = setup_databases(verbosity=0, interactive=False)
    try:
        results = run_all(args.readers, sample)
    finally:
        teardown_databases(databases, verbosity=0)
    naive = results[-1]
    naive_ms = naive["seconds"] * 1000 / naive["sent"]
    print(f"\nCatch-up step: {args.readers:,} readers due the same day, one process "
          f"({settings.DATABASES['default']['ENGINE'].split('.')[-1]}, dummy email backend, "
          "ledger window 8)")
    print(f"{'method':<22}{'sent':>9}{'seconds':>10}{'ms/reader':>11}{'queries':>10}"
          f"{'q/reader':>10}{'ms/reader vs naive':>20}{'peak RSS MB (rise)':>20}")
    for row in results:
        ms = row["seconds"] * 1000 / row["sent"]
        print(f"{row['label']:<22}{row['sent']:>9,}{row['seconds']:>10.2f}{ms:>11.3f}"
              f"{row['queries']:>10,}{row['queries'] / row['sent']:>10.3f}"
              f"{naive_ms / ms:>19.1f}x"
              f"{row['peak_mb']:>11.0f} ({row['peak_mb'] - row['start_mb']:+.0f})")
    tenths = results[0]["tenths"]
    if tenths:
        first, last = tenths
        print(f"\nours, a page of due readers: {first:.2f} s in the first tenth of the pages, "
              f"{last:.2f} s in the last tenth ({last / first:.2f}x)")
    if sample < args.readers:
        print(f"\nnaive measured on a sample of {sample:,} of the {args.readers:,} readers; at "
              f"its {naive_ms:.1f} ms a reader all {args.readers:,} would take about "
              f"{naive_ms * args.readers / 1000:,.0f} s (scaled, not measured). ours measured "
              f"on all {args.readers:,}.")


def run_all(readers: int, sample: int) -> list[dict]:
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone
    from rich.progress import Progress

    from pipeline.catchup.models import CatchupDelivery, CatchupProgress, DeliveryState
    from pipeline.catchup.services.step import catchup_step
    from pipeline.subscribers.models import Subscriber
    from tests.support.catchup import series_with_parts

    series, parts = series_with_parts()
    at = timezone.now()
    with Progress(transient=True) as progress:
        task = progress.add_task("readers", total=readers)
        for start in range(0, readers, 5000):
            count = min(5000, readers - start)
            subscribers = Subscriber.objects.bulk_create(
                [Subscriber(email=f"reader{n}@example.com", status="subscribed")
                 for n in range(start, start + count)])
            Subscriber.series.through.objects.bulk_create(
                [Subscriber.series.through(subscriber_id=s.pk, seriespage_id=series.pk)
                 for s in subscribers])
            rows = CatchupProgress.objects.bulk_create(
                [CatchupProgress(subscriber=s, series=series, started_at=at - timedelta(days=1),
                                 next_due_at=at - timedelta(minutes=1)) for s in subscribers])
            CatchupDelivery.objects.bulk_create(
                [CatchupDelivery(progress=p, subscriber_id=p.subscriber_id, part=part,
                                 position=part.part_number, updated_at=at)
                 for p in rows for part in parts[:3]], batch_size=5000)
            progress.advance(task, count)

    def reset():
        CatchupDelivery.objects.update(state=DeliveryState.PENDING, sent_at=None,
                                       message_id="")
        CatchupProgress.objects.update(state="active", next_due_at=at - timedelta(minutes=1))

    naive_label = "naive" if sample == readers else f"naive (sample {sample:,})"
    results = []
    for label, method, expected in (
            ("ours", lambda: catchup_step(at=at).sent, readers),
            (naive_label, lambda: naive_step(at, limit=sample), sample)):
        reset()
        counter = QueryCounter()
        with connection.execute_wrapper(counter), ResidentMemory() as memory:
            started = time.perf_counter()
            sent = method()
            seconds = time.perf_counter() - started
        assert sent == expected, (label, sent)
        assert CatchupDelivery.objects.filter(state=DeliveryState.SENT).count() == expected
        results.append({"label": label, "sent": sent, "seconds": seconds,
                        "queries": counter.count, "peak_mb": memory.peak,
                        "start_mb": memory.start,
                        "tenths": counter.tenths(started + seconds) if label == "ours" else None})
    return results


def naive_step(at, *, limit: int) -> int:
    """One set of queries per reader (what a straightforward implementation does)."""
    from django.core.mail import get_connection
    from django.db import transaction
    from django.utils import timezone

    from cms.models import PartPage
    from pipeline.campaigns.services.local import unsubscribe_link
    from pipeline.catchup.models import CatchupDelivery, CatchupProgress, DeliveryState
    from pipeline.catchup.services.emails import catchup_render
    from pipeline.catchup.services.pace import series_pace
    from pipeline.providers.campaign_email import CampaignEmail
    from pipeline.subscribers.models import Subscriber
    from pipeline.subscribers.tokens import reader_links

    emails: dict[int, CampaignEmail] = {}
    sent = 0
    backend = get_connection()
    for progress_id in list(CatchupProgress.objects.filter(
            state="active", next_due_at__lte=at).order_by("pk").values_list("pk", flat=True)[
                :limit]):
        with transaction.atomic():
            progress = CatchupProgress.objects.select_for_update().get(pk=progress_id)
            row = (CatchupDelivery.objects.filter(progress=progress, state=DeliveryState.PENDING)
                   .order_by("position").first())
            if row is None:
                continue
            if not PartPage.objects.live().public().filter(pk=row.part_id).exists():
                continue
            subscriber = Subscriber.objects.get(pk=progress.subscriber_id)
            if (subscriber.status != "subscribed"
                    or not subscriber.series.filter(pk=progress.series_id).exists()):
                continue
            CatchupDelivery.objects.filter(pk=row.pk).update(state=DeliveryState.SENDING)
            progress.next_due_at = series_pace(progress.series_id).next_due(at)
            progress.save(update_fields=["next_due_at"])
        if row.part_id not in emails:
            emails[row.part_id] = CampaignEmail(catchup_render(PartPage.objects.get(
                pk=row.part_id)))
        links = reader_links(subscriber_id=subscriber.pk, email=subscriber.email,
                             series_slug="moving-well")
        message = emails[row.part_id].for_recipient(
            email=subscriber.email, message_id=f"<naive.{row.pk}@example.com>",
            unsubscribe_url=unsubscribe_link(subscriber_id=subscriber.pk,
                                             email=subscriber.email),
            preferences_url=links.preferences, stop_series_url=links.stop_series)
        backend.send_messages([message])
        CatchupDelivery.objects.filter(pk=row.pk).update(state=DeliveryState.SENT,
                                                         sent_at=timezone.now())
        sent += 1
    return sent


if __name__ == "__main__":
    main()
