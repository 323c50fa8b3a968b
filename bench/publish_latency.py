#!/usr/bin/env python
"""Publish latency: our beat-driven sweep against Wagtail's stock `publish_scheduled` from cron.

N parts (default 200) per method, in one series or spread over several (--series), are scheduled
across a 30-second window, in one run of this script:

- ours: a Celery beat and a worker process (`celery -A workers.celery_app beat|worker`) running the
  locking sweep every PUBLISHING_SWEEP_INTERVAL seconds;
- cron: Wagtail's stock `publish_scheduled` (wagtail.management.commands.publish_scheduled, not
  our locking override) started as a new process at the top of every minute, as Wagtail's docs
  suggest for cron. The window is placed mid-minute, so each part waits for the next minute.

The delay of a part is its last_published_at (stamped by Wagtail inside the publish) minus its
go-live time. Uses the configured DATABASE_URL / REDIS_URL (SQLite and the embedded Redis when
unset); the two bench series are deleted at the end.

Before the runs, the cost of one publish in this process, side by side: statements per publish
and ms per publish (commit included) for our on-time path (the task's service: lock, part order,
Wagtail's publish, our model and receivers, the announcement intent), for Wagtail's bare
``revision.publish()`` of a part (our model and receivers without our service) and of a plain
Wagtail page (stock), with where each statement comes from (tests/support/query_origins.py).
Statement counts do not depend on the machine's load; the ms do.

    uv run python bench/publish_latency.py [--parts 200] [--window 30] [--series 1] [--probe 20]
"""

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402
from django.utils import timezone  # noqa: E402
from wagtail.models import Revision  # noqa: E402

from cms.models import PartPage, SeriesIndexPage, SeriesPage  # noqa: E402
from pipeline.publishing.models import SweepHeartbeat  # noqa: E402
from pipeline.publishing.services.on_time import revision_publish_on_time  # noqa: E402
from tests.support.query_origins import statements_issued  # noqa: E402

STOCK_CRON_COMMAND = (
    "import django; django.setup(); from django.core.management import call_command; "
    "from wagtail.management.commands.publish_scheduled import Command; call_command(Command())"
)


def series_index() -> SeriesIndexPage:
    from wagtail.models import Page, Site

    index = SeriesIndexPage.objects.first()
    if index is None:
        index = Page.get_first_root_node().add_child(
            instance=SeriesIndexPage(title="Series", slug="series")
        )
        Site.objects.update_or_create(is_default_site=True, defaults={"root_page": index})
    return index


def make_series_group(label: str, parts: int, series_count: int) -> list[SeriesPage]:
    """``series_count`` series sharing ``parts`` parts, each scheduled far ahead for now."""
    index = series_index()
    stamp = int(time.time())
    group = []
    for number in range(series_count):
        series = index.add_child(
            instance=SeriesPage(
                title=f"Bench {label} {number}", slug=f"bench-{label}-{number}-{stamp}"
            )
        )
        series.save_revision().publish()
        group.append(series)
    far = timezone.now() + timedelta(days=30)
    for index_ in range(parts):
        series = group[index_ % series_count]
        part = series.add_child(
            instance=PartPage(
                title=f"Bench {label} part {index_}",
                body=[("paragraph", "<p>Bench.</p>")],
                go_live_at=far,
                live=False,
            )
        )
        part.save_revision().publish()  # scheduled far ahead; moved into the window later
    return group


def schedule_window(group: list[SeriesPage], *, start, seconds: float) -> dict[int, object]:
    """Move the scheduled revisions to go live evenly across [start, start+seconds]: the first
    part of every series, then the second, and so on."""
    parts = list(
        PartPage.objects.filter(series__in=group).order_by("part_number", "series_id")
    )
    step = seconds / max(len(parts) - 1, 1)
    due = {}
    with transaction.atomic():
        for index, part in enumerate(parts):
            at = start + timedelta(seconds=index * step)
            revision = Revision.objects.get(
                object_id=str(part.pk), approved_go_live_at__isnull=False
            )
            revision.content["go_live_at"] = at.isoformat()
            revision.approved_go_live_at = at
            revision.save(update_fields=["content", "approved_go_live_at"])
            PartPage.objects.filter(pk=part.pk).update(go_live_at=at)
            due[part.pk] = at
    return due


def all_live(due: dict) -> bool:
    return PartPage.objects.filter(pk__in=due, live=True).count() == len(due)


def delays(due: dict) -> list[float]:
    published = dict(PartPage.objects.filter(pk__in=due).values_list("pk", "last_published_at"))
    return [(published[pk] - at).total_seconds() for pk, at in due.items() if published[pk]]


def spawn(args, log_dir: Path, name: str):
    log = open(log_dir / f"{name}.log", "w")  # noqa: SIM115
    return subprocess.Popen(
        args, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def stop(process):
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_for(condition, deadline: float, what: str):
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting for {what}")
        time.sleep(0.2)


def run_ours(group, *, window: float, log_dir: Path) -> list[float]:
    celery = [sys.executable, "-m", "celery", "-A", "workers.celery_app"]
    beat = spawn(
        [*celery, "beat", "-l", "WARNING", "-s", str(log_dir / "beat-schedule"), "--pidfile="],
        log_dir,
        "beat",
    )
    worker = spawn(
        # The README's worker command: default concurrency (one process per CPU).
        [*celery, "worker", "-Q", "publishing,chores,mail", "-l", "WARNING", "-n", "bench@%h"],
        log_dir,
        "worker",
    )
    try:
        sweeps = SweepHeartbeat.objects.filter(name="publishing").values_list(
            "total_sweeps", flat=True
        ).first() or 0
        wait_for(
            lambda: SweepHeartbeat.objects.filter(total_sweeps__gt=sweeps).exists(),
            time.monotonic() + 90,
            "the first sweep",
        )
        due = schedule_window(group, start=timezone.now() + timedelta(seconds=3), seconds=window)
        wait_for(lambda: all_live(due), time.monotonic() + window + 120, "our sweep")
    finally:
        stop(worker)
        stop(beat)
    return delays(due)


def run_cron(group, *, window: float, log_dir: Path) -> list[float]:
    now = timezone.now()
    next_minute = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    # Centre the window in a minute: the expected wait for a minutely cron is then ~30 s.
    start = next_minute + timedelta(seconds=(60 - window) / 2)
    if start - now < timedelta(seconds=5):
        start += timedelta(minutes=1)
    due = schedule_window(group, start=start, seconds=window)
    deadline = time.monotonic() + (start - now).total_seconds() + window + 200
    runs = 0
    while not all_live(due):
        if time.monotonic() > deadline:
            raise SystemExit("cron run gave up")
        tick = timezone.now().replace(second=0, microsecond=0) + timedelta(minutes=1)
        time.sleep(max(0.0, (tick - timezone.now()).total_seconds()))
        runs += 1
        spawn([sys.executable, "-c", STOCK_CRON_COMMAND], log_dir, f"cron-{runs}").wait()
    return delays(due)


def due_now(pages) -> list[int]:
    """Make each page's scheduled revision due a second ago, without arming a task for it (an
    update, not a save), so the probe below publishes it itself; returns the revision ids."""
    ids = []
    past = timezone.now() - timedelta(seconds=1)
    for page in pages:
        revision = Revision.objects.get(object_id=str(page.pk), approved_go_live_at__isnull=False)
        content = {**revision.content, "go_live_at": past.isoformat()}
        Revision.objects.filter(pk=revision.pk).update(content=content, approved_go_live_at=past)
        type(page).objects.filter(pk=page.pk).update(go_live_at=past)
        ids.append(revision.pk)
    return ids


def measure(publish, revision_ids: list[int]) -> dict:
    """Publish each revision with ``publish(revision_id)``; statements and ms per publish."""
    statements, millis = [], []
    for revision_id in revision_ids:
        started = time.perf_counter()
        with statements_issued() as issued:
            publish(revision_id)
        millis.append((time.perf_counter() - started) * 1000)
        statements.append(issued)
    return {"statements": statements, "ms": millis}


def probe_publish_cost(count: int) -> tuple[dict, list]:
    """``count`` publishes each way, in this process: ours (the on-time task's service), Wagtail's
    bare revision.publish() of a part, and of a plain Wagtail page (stock)."""
    from wagtail.models import Page

    far = timezone.now() + timedelta(days=30)
    index = series_index()
    stamp = int(time.time())
    created = []
    groups = {}
    for label in ("ours", "part"):
        series = index.add_child(instance=SeriesPage(title=f"Probe {label}",
                                                     slug=f"probe-{label}-{stamp}"))
        series.save_revision().publish()
        created.append(series)
        parts = []
        for number in range(count):
            part = series.add_child(instance=PartPage(
                title=f"Probe {label} {number}", body=[("paragraph", "<p>Probe.</p>")],
                go_live_at=far, live=False))
            part.save_revision().publish()
            parts.append(part)
        groups[label] = parts
    plain_parent = index.add_child(instance=Page(title="Probe plain", slug=f"probe-plain-{stamp}"))
    created.append(plain_parent)
    groups["plain"] = []
    for number in range(count):
        page = plain_parent.add_child(instance=Page(title=f"Probe plain {number}", go_live_at=far,
                                                    live=False))
        page.save_revision().publish()
        groups["plain"].append(page)

    def bare(revision_id):
        Revision.objects.get(pk=revision_id).publish(log_action="wagtail.publish.scheduled",
                                                     skip_permission_checks=True)

    results = {
        "ours": measure(lambda pk: revision_publish_on_time(revision_id=pk),
                        due_now(groups["ours"])),
        "part": measure(bare, due_now(groups["part"])),
        "plain": measure(bare, due_now(groups["plain"])),
    }
    return results, created


PROBE_ROWS = {
    "ours": "ours: on-time service, a part",
    "part": "Wagtail revision.publish(), a part",
    "plain": "stock: Wagtail revision.publish(), a page",
}


def print_probe(results: dict) -> None:
    print(f"| {'publish':<44} | {'stmts':>5} | {'ours':>5} | {'ms p50':>7} | {'ms mean':>7} "
          f"| {'ms in SQL':>9} |")
    print(f"|{'-' * 46}|{'-' * 7}|{'-' * 7}|{'-' * 9}|{'-' * 9}|{'-' * 11}|")
    for key, name in PROBE_ROWS.items():
        runs = results[key]
        # The first publish of a process warms caches (content types, locale): left out.
        statements, millis = runs["statements"][1:], runs["ms"][1:]
        total = statistics.fmean(len(s) for s in statements)
        ours = statistics.fmean(len(s.ours) for s in statements)
        in_sql = statistics.fmean(s.seconds for s in statements) * 1000
        print(f"| {name:<44} | {total:>5.1f} | {ours:>5.1f} | {statistics.median(millis):>7.1f} "
              f"| {statistics.fmean(millis):>7.1f} | {in_sql:>9.1f} |")
    print()
    print("Where the statements of one publish come from (the last publish of each way; the "
          "origin is the innermost frame in our code or Wagtail's):")
    last = {key: results[key]["statements"][-1] for key in PROBE_ROWS}
    counts = {key: statements.by_origin() for key, statements in last.items()}
    origins = sorted(set().union(*counts.values()),
                     key=lambda pair: (-counts["ours"][pair], pair))
    print(f"| {'origin':<58} | {'statement':<34} | {'ours':>4} | {'part':>4} | {'page':>4} |")
    print(f"|{'-' * 60}|{'-' * 36}|{'-' * 6}|{'-' * 6}|{'-' * 6}|")
    for origin, what in origins:
        pair = (origin, what)
        print(f"| {origin[:58]:<58} | {what[:34]:<34} | {counts['ours'][pair]:>4} "
              f"| {counts['part'][pair]:>4} | {counts['plain'][pair]:>4} |")


def row(name: str, values: list[float]) -> str:
    values = sorted(values)
    p50 = statistics.median(values)
    p99 = statistics.quantiles(values, n=100, method="inclusive")[98]
    mean = statistics.fmean(values)
    return (
        f"| {name:<44} | {len(values):>5} | {p50:>7.2f} | {p99:>7.2f} | {values[-1]:>7.2f} "
        f"| {mean:>7.2f} |"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parts", type=int, default=200)
    parser.add_argument("--window", type=float, default=30.0)
    parser.add_argument(
        "--series", type=int, default=1, help="spread the parts over this many series per method"
    )
    parser.add_argument("--keep", action="store_true", help="keep the bench series")
    parser.add_argument("--probe", type=int, default=20,
                        help="publishes measured each way for the statements and ms per publish")
    parser.add_argument("--probe-only", action="store_true",
                        help="only the cost of one publish, not the latency runs")
    options = parser.parse_args()

    call_command("migrate", verbosity=0)
    from django.conf import settings

    db = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    log_dir = Path(tempfile.mkdtemp(prefix="publish-latency-"))
    created: list = []
    try:
        print(f"probing the cost of one publish, {options.probe} each way ...", flush=True)
        probe, probe_pages = probe_publish_cost(options.probe)
        created += probe_pages
        if not options.probe_only:
            print(
                f"creating 2 x {options.parts} scheduled parts in 2 x {options.series} series "
                f"(logs in {log_dir}) ...",
                flush=True,
            )
            ours_series = make_series_group("ours", options.parts, options.series)
            created += ours_series
            cron_series = make_series_group("cron", options.parts, options.series)
            created += cron_series
            print("run 1: beat + worker, locking sweep ...", flush=True)
            ours = run_ours(ours_series, window=options.window, log_dir=log_dir)
            print("run 2: stock publish_scheduled every minute from a cron loop ...", flush=True)
            cron = run_cron(cron_series, window=options.window, log_dir=log_dir)
    finally:
        if not options.keep:
            for page in created:
                PartPage.objects.filter(series_id=page.pk).delete()  # parts protect their series
                type(page).objects.get(pk=page.pk).delete()

    if not options.probe_only:
        print()
        print(
            f"{options.parts} parts in {options.series} series due across {options.window:.0f} s "
            "per method; delay from go-live "
            f"time to live, seconds ({db}, sweep every {settings.PUBLISHING_SWEEP_INTERVAL:g} s)"
        )
        print(f"| {'method':<44} | {'parts':>5} | {'p50':>7} | {'p99':>7} | {'max':>7} "
              f"| {'mean':>7} |")
        print(f"|{'-' * 46}|{'-' * 7}|{'-' * 9}|{'-' * 9}|{'-' * 9}|{'-' * 9}|")
        print(row("ours: beat + worker, locking sweep", ours))
        print(row("stock: publish_scheduled, cron every minute", cron))
    print()
    print(f"The cost of one publish, {options.probe} each way in this process ({db}; statements "
          "as Django runs them, savepoints included; 'ours' = issued by cms/, pipeline/, "
          "workers/; the first publish of each way left out as warm-up):")
    print_probe(probe)

if __name__ == "__main__":
    main()
