"""From a part going live to its announcement being sent through the Mailchimp emulator.

    uv run python bench/announcement_latency.py [--parts 100]

Real processes: one Celery worker (queues publishing and mail) and one beat, against a throwaway
test database (test_<name> of DATABASE_URL, or SQLite under var/) and the in-process emulator.
Parts are scheduled by Wagtail (go_live_at) a fraction of a second apart; beat's publishing sweep
publishes them, the announcement is handed over on commit and sent by the mail queue. Prints
p50/p99/max of: go_live_at → live (the sweep), live → sent (the campaigns work), and end to end.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--parts", type=int, default=100)
    parser.add_argument("--spacing", type=float, default=0.25, help="seconds between go-lives")
    args = parser.parse_args()

    import django

    django.setup()
    from django.test.utils import setup_databases, setup_test_environment, teardown_databases

    from tests.support.mailchimp_emulator import Emulator

    setup_test_environment()
    databases = setup_databases(verbosity=0, interactive=False)
    emulator = Emulator().start()
    try:
        rows = run(args, emulator)
    finally:
        emulator.stop()
        teardown_databases(databases, verbosity=0)
    print(f"\nAnnouncement latency over {len(rows)} parts (one worker -c 4, one beat, sweep "
          "every 2 s, Mailchimp emulator)")
    print(f"{'stage':<34}{'p50 s':>8}{'p99 s':>8}{'max s':>8}")
    for label, index in (("go-live time → live (sweep)", 0), ("live → announcement sent", 1),
                         ("go-live time → sent (total)", 2)):
        values = [row[index] for row in rows]
        print(f"{label:<34}{percentile(values, .5):>8.2f}{percentile(values, .99):>8.2f}"
              f"{max(values):>8.2f}")


def run(args, emulator):
    from django.utils import timezone

    from pipeline.campaigns.models import Campaign, CampaignStatus
    from tests.support.factories import make_part, make_series
    from tests.support.mailchimp import map_series_to_interest
    from tests.support.processes import celery_beat, celery_worker, purge_queues, wait_until

    class Running:  # the shape tests.support.mailchimp expects
        def __init__(self, emulator):
            self.emulator, self.list_id = emulator, emulator.list_id

    series = make_series(title="Moving Well", slug="moving-well")
    interest = map_series_to_interest(Running(emulator), series)
    for i in range(3):
        emulator.state.add_member(emulator.list_id, {
            "email_address": f"reader{i}@example.com", "status": "subscribed",
            "interests": {interest.interest_id: True}})
    env = {"DJANGO_SETTINGS_MODULE": "tests.support.worker_settings",
           "TRIAL_PROVIDER": "mailchimp", "TRIAL_MAILCHIMP_KEY": emulator.api_key,
           "TRIAL_MAILCHIMP_URL": emulator.url, "TRIAL_MAILCHIMP_LIST": emulator.list_id,
           "TRIAL_LEASE_SECONDS": "60"}
    purge_queues()
    logs = Path(tempfile.mkdtemp(prefix="announce-bench-"))
    worker = celery_worker("bench", logs, concurrency=4, **env)
    beat = celery_beat(logs, **env)
    try:
        time.sleep(8)  # let worker and beat start before the first part is due
        first = timezone.now() + timedelta(seconds=5)
        parts = [make_part(series, live=False, title=f"Part {n}",
                           go_live_at=first + timedelta(seconds=args.spacing * n))
                 for n in range(args.parts)]
        wait_until(lambda: Campaign.objects.filter(status=CampaignStatus.SENT).count()
                   >= args.parts, timeout=120 + args.parts * args.spacing * 2,
                   what="every announcement to be sent", interval=0.5)
    finally:
        worker.kill()
        beat.kill()
    rows = []
    for part in parts:
        part.refresh_from_db()
        campaign = Campaign.objects.get(part=part)
        live = (part.first_published_at - part.go_live_at).total_seconds()
        sent = (campaign.sent_at - part.first_published_at).total_seconds()
        rows.append((live, sent, live + sent))
    sends = [s for s in emulator.state.sends if s["kind"] != "test"]
    assert len(sends) == args.parts, f"{len(sends)} sends for {args.parts} parts"
    print(f"median of live → sent: {statistics.median(r[1] for r in rows):.2f} s; "
          f"emulator sends: {len(sends)}")
    return rows


if __name__ == "__main__":
    main()
