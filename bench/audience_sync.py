"""Syncing 100,000 subscribers into the Mailchimp emulator (20 ms latency per request): our
audience sync (batch subscribe, 500 per call, a few in flight) against the plain way, one PUT per
member in a loop, both through the same wrapper of the official client, same emulator, same run.

    uv run python bench/audience_sync.py [--subscribers 100000] [--plain-slice 5000]
                                         [--latency-ms 20] [--concurrency 5]

The plain loop runs on the first ``--plain-slice`` subscribers and is scaled linearly to the
whole list (the output says so). Each side runs in its own process on a fresh audience; peak
memory is that process's maximum resident set (os.wait4), Django and Wagtail included, with the
resident set before the sync began shown beside it. The database is a SQLite file in a temporary
directory, filled with bulk_create and thrown away at the end.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._roles import django_setup, rss_mb, run_role  # noqa: E402

SERIES = ("Moving Well", "Eating Well", "Sleeping Well")




def role_prepare(count: int) -> dict:
    django_setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from pipeline.subscribers.models import Subscriber, SubscriberStatus
    from tests.support.factories import make_series

    series = [make_series(title=title) for title in SERIES]
    started = time.perf_counter()
    statuses = ([SubscriberStatus.SUBSCRIBED] * 17 + [SubscriberStatus.PENDING] * 2
                + [SubscriberStatus.UNSUBSCRIBED])
    Subscriber.objects.bulk_create(
        (Subscriber(email=f"reader{n:06d}@example.com", status=statuses[n % len(statuses)])
         for n in range(count)), batch_size=5000)
    through = Subscriber.series.through
    ids = list(Subscriber.objects.order_by("pk").values_list("pk", flat=True))
    rows = []
    for position, subscriber_id in enumerate(ids):
        for offset, page in enumerate(series):
            if (position + offset) % 3 != 2:  # two series each, in turn
                rows.append(through(subscriber_id=subscriber_id, seriespage_id=page.pk))
        if len(rows) >= 20000:
            through.objects.bulk_create(rows, batch_size=5000)
            rows = []
    through.objects.bulk_create(rows, batch_size=5000)
    return {"subscribers": len(ids), "seconds": time.perf_counter() - started}


def role_ours(concurrency: int) -> dict:
    django_setup()
    from pipeline.audience.services.sync import audience_sync

    before = rss_mb()
    started = time.perf_counter()
    summary = audience_sync(concurrency=concurrency)
    return {"seconds": time.perf_counter() - started, "members": summary.members_sent,
            "errors": summary.errors, "batches": summary.batches,
            "requests_counted": summary.requests, "rss_before_mb": before}


def _client_and_interests():
    """What both per-member baselines need: the client, series → interest ids, every interest
    id, and the subscriber ↔ series table."""
    django_setup()
    from pipeline.audience.services.interests import series_interests_ensure
    from pipeline.providers.mailchimp_client import MailchimpClient
    from pipeline.subscribers.models import Subscriber

    client = MailchimpClient.from_settings()
    interests = series_interests_ensure(client=client)
    return client, interests, sorted(set(interests.values())), Subscriber.series.through


def role_plain(limit: int) -> dict:
    """The stock way: for each subscriber, one PUT /lists/{id}/members/{hash} (an upsert with
    status_if_new and the series as interests), one after the other."""
    client, interests, all_ids, through = _client_and_interests()
    from pipeline.subscribers.models import Subscriber

    before = rss_mb()
    started = time.perf_counter()
    sent = errors = 0
    for subscriber in Subscriber.objects.order_by("pk")[:limit].iterator(chunk_size=1000):
        followed = {interests[s] for s in through.objects.filter(
            subscriber_id=subscriber.pk).values_list("seriespage_id", flat=True)}
        try:
            client.upsert_member(subscriber.email, status_if_new=subscriber.status,
                                 interests={i: i in followed for i in all_ids})
        except Exception:  # counted, as the sync counts per-member errors
            errors += 1
        sent += 1
    return {"seconds": time.perf_counter() - started, "members": sent, "errors": errors,
            "rss_before_mb": before}


def role_batches_endpoint(jobs_of: int) -> dict:
    """The alternative bulk path: ``/batches`` jobs of ``jobs_of`` PUT operations each, all
    submitted, then polled until finished, and their gzipped-tar results downloaded and read
    (which is where a sync would find each member's outcome)."""
    client, interests, all_ids, through = _client_and_interests()
    from pipeline.providers.mailchimp_lists import subscriber_hash
    from pipeline.subscribers.models import Subscriber

    before = rss_mb()
    started = time.perf_counter()
    batch_ids, operations, sent = [], [], 0

    def submit():
        batch_ids.append(client.start_batch(operations)["id"])

    last = 0
    while True:
        rows = list(Subscriber.objects.filter(pk__gt=last).order_by("pk")
                    .values_list("pk", "email", "status")[:2000])
        if not rows:
            break
        follows: dict[int, set] = {}
        for subscriber_id, series_id in through.objects.filter(
                subscriber_id__in=[r[0] for r in rows]).values_list("subscriber_id",
                                                                    "seriespage_id"):
            follows.setdefault(subscriber_id, set()).add(interests[series_id])
        for pk, email, status in rows:
            followed = follows.get(pk, set())
            operations.append({
                "method": "PUT", "operation_id": str(pk),
                "path": f"/lists/{client.list_id}/members/{subscriber_hash(email)}",
                "body": {"email_address": email, "status_if_new": status,
                         "interests": {i: i in followed for i in all_ids}}})
            sent += 1
            if len(operations) == jobs_of:
                submit()
                operations = []
        last = rows[-1][0]
    if operations:
        submit()
        operations = []
    errors = 0
    for batch_id in batch_ids:
        batch = client.wait_for_batch(batch_id, timeout_seconds=900, poll_seconds=0.5)
        results = client.batch_results(batch["response_body_url"])
        errors += sum(1 for result in results if result["status_code"] >= 400)
        del results
    return {"seconds": time.perf_counter() - started, "members": sent, "errors": errors,
            "jobs": len(batch_ids), "rss_before_mb": before}



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--plain-slice", type=int, default=5_000)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=5)
    parser.add_argument("--batches-job-size", type=int, default=10_000,
                        help="operations per /batches job in the third column (0: skip it)")
    parser.add_argument("--role", nargs=2, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.role:
        role, argument = options.role[0], int(options.role[1])
        answer = {"prepare": role_prepare, "ours": role_ours, "plain": role_plain,
                  "batches": role_batches_endpoint}[role](argument)
        print(json.dumps(answer))
        return

    from tests.support.mailchimp_emulator.fixtures import start_emulator_process

    emulator_process, emulator = start_emulator_process("--latency-ms", str(options.latency_ms))
    control = emulator.control
    with tempfile.TemporaryDirectory(prefix="partwork-bench-") as directory:
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.dev",
               "DATABASE_URL": f"sqlite:///{directory}/bench.sqlite3",
               "MAILCHIMP_API_URL": emulator.url, "MAILCHIMP_API_KEY": emulator.api_key,
               "MAILCHIMP_SERVER": "", "MAILCHIMP_LIST_ID": emulator.list_id}
        try:
            prepared, _ = run_role("prepare", options.subscribers, env)
            print(f"{prepared['subscribers']:,} subscribers created with bulk_create in "
                  f"{prepared['seconds']:.1f} s; emulator latency {options.latency_ms} ms")

            # The plain loop first, on a fresh audience (it sets up the series interests).
            control.reset(emulator.list_id)
            plain, plain_rss = run_role("plain", options.plain_slice, env)
            plain_requests = control.stats()["requests_total"]

            # Then ours, from scratch: a fresh audience and no interests recorded.
            control.reset(emulator.list_id)

            def forget_interests():  # a fresh audience has none of the recorded interests
                subprocess.run([sys.executable, "-c", (
                    "import django;django.setup();from pipeline.audience.models import "
                    "MailchimpSeriesInterest as M;M.objects.all().delete()")],
                    cwd=ROOT, env=env, check=True)

            forget_interests()
            ours, ours_rss = run_role("ours", options.concurrency, env)
            stats = control.stats()
            state = control.state()

            # The other bulk path, measured the same way, to justify the choice.
            bulk = None
            if options.batches_job_size:
                control.reset(emulator.list_id)
                forget_interests()
                bulk, bulk_rss = run_role("batches", options.batches_job_size, env)
                bulk_requests = control.stats()["requests_total"]
        finally:
            emulator_process.terminate()
            emulator_process.wait(timeout=10)

    scale = options.subscribers / plain["members"]
    plain_seconds = plain["seconds"] * scale
    plain_total_requests = plain_requests * scale
    ours_requests = stats["requests_total"]
    rows = [
        ("members", f"{plain['members']:,} (x{scale:g} → {options.subscribers:,})",
         f"{ours['members']:,}"),
        ("wall time", f"{plain_seconds:,.1f} s (measured {plain['seconds']:.1f} s)",
         f"{ours['seconds']:,.1f} s"),
        ("HTTP requests", f"{plain_total_requests:,.0f} (measured {plain_requests:,})",
         f"{ours_requests:,} ({ours['batches']} batches)"),
        ("peak memory (RSS)", f"{plain_rss:.0f} MB (before {plain['rss_before_mb']:.0f} MB)",
         f"{ours_rss:.0f} MB (before {ours['rss_before_mb']:.0f} MB)"),
        ("per-member errors", str(plain["errors"]), str(ours["errors"])),
    ]
    header = ("", "plain loop, 1 PUT/member", "our sync")
    if bulk:
        header += (f"/batches ({bulk['jobs']} jobs)",)
        extra = [f"{bulk['members']:,}", f"{bulk['seconds']:,.1f} s",
                 f"{bulk_requests:,}",
                 f"{bulk_rss:.0f} MB (before {bulk['rss_before_mb']:.0f} MB)",
                 str(bulk["errors"])]
        rows = [row + (cell,) for row, cell in zip(rows, extra, strict=True)]
    width = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    print()
    print("  ".join(h.ljust(w) for h, w in zip(header, width, strict=True)))
    print("  ".join("-" * w for w in width))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, width, strict=True)))
    print()
    speedup = plain_seconds / ours["seconds"]
    request_ratio = ours_requests / plain_total_requests
    print(f"plain loop measured on the first {plain['members']:,} subscribers and scaled "
          f"linearly (x{scale:g}) to {options.subscribers:,}.")
    print(f"speed-up {speedup:,.0f}x (goal ≥ 50x); requests {request_ratio:.5f} of the plain "
          f"loop = 1/{1 / request_ratio:,.0f} (goal ≤ 1/400); our peak memory "
          f"{ours_rss:.0f} MB (goal < 200 MB); emulator peak in flight "
          f"{stats['peak_in_flight']}, rejected over the limit {stats['rejected_over_limit']}.")
    print(f"audience after our sync: {json.dumps(state.get('lists', state))[:300]}")


if __name__ == "__main__":
    main()
