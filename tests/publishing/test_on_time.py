"""On-time publishing with a real Celery worker and no beat: a part scheduled by an editor goes
live at its moment through the task queued for it (ETA), not at the next sweep; an unscheduled one
never does; a rescheduled one goes at its new time, once; parts of one series keep their order.
"""

import re
import time
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from wagtail.models import PageLogEntry, Revision

from cms.models import PartPage
from pipeline.publishing.models import Announcement, SweepHeartbeat
from pipeline.publishing.services.arming import revisions_arm_due_soon
from tests.support import processes as proc
from tests.support.factories import make_part, make_series
from tests.support.publishing import scheduled_publish_count
from workers.celery_app import app

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def worker(tmp_path):
    """A worker only: no beat, so no sweep runs unless a test sends one."""
    proc.purge_queues()
    process = proc.celery_worker("worker", tmp_path)
    with proc.running(process):
        yield process
    proc.purge_queues()


def on_time_results(worker, part: PartPage) -> list[str]:
    """What each publish_on_time task for one of the part's revisions returned, from the worker's
    log (tasks other tests left on the shared broker find their revisions gone)."""
    revisions = set(Revision.objects.filter(object_id=str(part.pk)).values_list("pk", flat=True))
    found = re.findall(r"publish_on_time\[[^\]]+\] succeeded in [\d.e-]+s: "
                       r"\{'revision_id': (\d+), 'outcome': '([^']+)'\}", worker.log())
    return [outcome for revision, outcome in found if int(revision) in revisions]


def scheduled_in(series, seconds: float, **fields) -> PartPage:
    return make_part(series, live=False, go_live_at=timezone.now() + timedelta(seconds=seconds),
                     **fields)


def test_a_scheduled_part_goes_live_at_its_moment_without_a_sweep(worker):
    part = scheduled_in(make_series(), 3)
    go_live_at = part.go_live_at
    assert not PartPage.objects.get(pk=part.pk).live

    proc.wait_until(lambda: PartPage.objects.get(pk=part.pk).live, timeout=60,
                    what="the on-time task to publish the part")
    part.refresh_from_db()
    assert part.last_published_at >= go_live_at  # never early
    assert scheduled_publish_count(part) == 1
    assert Announcement.objects.filter(part=part).count() == 1
    assert not SweepHeartbeat.objects.exists()  # no sweep ran: the task did it
    # The task logs its result just after its commit.
    assert proc.wait_until(lambda: on_time_results(worker, part), timeout=30,
                           what="the task's result") == ["published"]


def test_an_unscheduled_part_never_goes_live(worker):
    part = scheduled_in(make_series(), 2)
    # The editor cancels the schedule (Wagtail clears approved_go_live_at).
    Revision.objects.filter(object_id=str(part.pk)).update(approved_go_live_at=None)

    proc.wait_until(lambda: on_time_results(worker, part), timeout=60, what="the armed task to run")
    assert on_time_results(worker, part) == ["gone"]
    assert not PartPage.objects.get(pk=part.pk).live
    assert not Announcement.objects.exists()


def test_a_part_rescheduled_later_goes_live_at_its_new_time_once(worker):
    part = scheduled_in(make_series(), 2)
    later = timezone.now() + timedelta(seconds=6)
    part.go_live_at = later
    part.save_revision().publish()  # as the editor does: a new revision, scheduled anew

    proc.wait_until(lambda: PartPage.objects.get(pk=part.pk).live, timeout=60,
                    what="the part to go live at its new time")
    part.refresh_from_db()
    assert part.last_published_at >= later
    proc.wait_until(lambda: len(on_time_results(worker, part)) == 2, timeout=30,
                    what="both armed tasks to run")
    # The first task (the old time, 4 s early for the new one) finds its revision unscheduled.
    assert sorted(on_time_results(worker, part)) == ["gone", "published"]
    assert scheduled_publish_count(part) == 1


def test_parts_of_one_series_due_together_go_live_in_part_order(worker):
    series = make_series()
    parts = [make_part(series, live=False, part_number=n) for n in (4, 3, 2, 1)]
    at = timezone.now() + timedelta(seconds=8)  # room to schedule all four on a busy machine
    for part in parts:  # scheduled in reverse, so the later part's task is queued first
        part.go_live_at = at
        part.save_revision().publish()
    assert not PartPage.objects.filter(series=series, live=True).exists()

    proc.wait_until(lambda: PartPage.objects.filter(series=series, live=True).count() == 4,
                    timeout=60, what="all four parts to go live")
    published = {
        entry.page_id: entry.timestamp
        for entry in PageLogEntry.objects.filter(action="wagtail.publish.scheduled",
                                                 page__in=[p.pk for p in parts])
    }
    in_publish_order = sorted(parts, key=lambda p: published[p.pk])
    assert [p.part_number for p in in_publish_order] == [1, 2, 3, 4]
    assert [scheduled_publish_count(p) for p in parts] == [1, 1, 1, 1]


@override_settings(PUBLISHING_ON_TIME_HORIZON=6)
def test_a_schedule_beyond_the_horizon_is_armed_by_the_sweep_when_it_comes_within(tmp_path):
    proc.purge_queues()
    process = proc.celery_worker("worker", tmp_path, PUBLISHING_ON_TIME_HORIZON="6")
    with proc.running(process):
        proc.wait_until(lambda: " ready." in process.log(), timeout=60, what="the worker")
        part = scheduled_in(make_series(), 8)
        assert revisions_arm_due_soon(now=timezone.now()) == 0  # 8 s ahead: not yet
        # Wait until it is within the horizon, 5 s ahead of its time, then one sweep.
        time.sleep(max(0.0, (part.go_live_at - timezone.now()).total_seconds() - 5))
        app.send_task("workers.tasks.publishing.sweep", queue="publishing")
        proc.wait_until(lambda: PartPage.objects.get(pk=part.pk).live, timeout=60,
                        what="the part to go live")
        assert proc.wait_until(lambda: on_time_results(process, part), timeout=30,
                               what="the task's result") == ["published"]
        part.refresh_from_db()
        assert part.last_published_at >= part.go_live_at
        # The one sweep ran before the part was due: the task it armed published it.
        assert SweepHeartbeat.objects.get().total_published == 0
    proc.purge_queues()
