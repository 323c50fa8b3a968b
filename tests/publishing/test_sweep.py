import logging
import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from wagtail.models import Revision

from cms.models import PartPage
from pipeline.publishing.models import Announcement, SweepHeartbeat
from pipeline.publishing.services.sweep import publishing_heartbeat, publishing_sweep
from tests.support.factories import make_part, make_series
from tests.support.publishing import schedule_part, scheduled_publish_count

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_sweep_publishes_what_is_due_and_leaves_the_future_alone():
    series = make_series()
    due = schedule_part(series, due_at=T0)
    later = schedule_part(series, due_at=T0 + timedelta(minutes=10))
    with time_machine.travel(T0 + timedelta(seconds=1), tick=False):
        result = publishing_sweep()
    due.refresh_from_db()
    later.refresh_from_db()
    assert due.live and not later.live
    assert len(result.published_revision_ids) == 1
    assert Revision.objects.get(pk=later.latest_revision_id).approved_go_live_at is not None
    assert not Revision.objects.filter(approved_go_live_at__isnull=False, object_id=str(due.pk))


def test_sweep_writes_a_heartbeat_the_health_check_reads():
    series = make_series()
    schedule_part(series, due_at=T0)
    with time_machine.travel(T0 + timedelta(seconds=3), tick=False):
        publishing_sweep()
        publishing_sweep()
        beat = publishing_heartbeat()
    assert beat["age_seconds"] == 0
    assert beat["total_sweeps"] == 2 and beat["total_published"] == 1
    assert beat["last_published"] == 0 and beat["last_max_lateness_seconds"] == 0
    assert SweepHeartbeat.objects.get().last_success_at == T0 + timedelta(seconds=3)


def test_catch_up_after_an_hour_down_is_logged_and_goes_in_part_order(caplog):
    series = make_series()
    # Due times deliberately out of part order: part 2 is due first.
    parts = [
        schedule_part(series, due_at=T0 + timedelta(minutes=minutes)) for minutes in (20, 0, 10)
    ]
    other = make_series(slug="other")
    elsewhere = schedule_part(other, due_at=T0 + timedelta(minutes=5))
    with (
        time_machine.travel(T0 + timedelta(hours=1), tick=True),
        caplog.at_level(logging.WARNING, logger="pipeline.publishing.services.sweep"),
    ):
        result = publishing_sweep()
    assert result.overdue == 4
    assert result.max_lateness_seconds == pytest.approx(3600, abs=5)
    assert "publishing catch-up: 4 overdue revision(s), the oldest 3600 s late" in caplog.text
    published = [PartPage.objects.get(pk=p.pk) for p in parts]
    assert all(p.live for p in published)
    order = sorted(published, key=lambda p: p.last_published_at)
    assert [p.part_number for p in order] == [1, 2, 3]
    assert PartPage.objects.get(pk=elsewhere.pk).live


def test_expired_parts_are_unpublished_by_the_sweep():
    series = make_series()
    part = make_part(series, expire_at=T0)
    assert part.live
    with time_machine.travel(T0 + timedelta(seconds=1), tick=False):
        result = publishing_sweep()
    part.refresh_from_db()
    assert not part.live and part.expired
    assert result.unpublished == [f"wagtailcore.Page:{part.pk}"]


def test_a_second_sweep_finds_nothing_left():
    series = make_series()
    part = schedule_part(series, due_at=T0)
    with time_machine.travel(T0 + timedelta(seconds=1), tick=False):
        publishing_sweep()
        again = publishing_sweep()
    assert again.published_revision_ids == []
    assert scheduled_publish_count(part) == 1


def test_publish_scheduled_command_uses_the_locking_sweep():
    series = make_series()
    part = schedule_part(series, due_at=T0)
    with time_machine.travel(T0 + timedelta(seconds=1), tick=False):
        call_command("publish_scheduled")
        call_command("publish_due")
    assert scheduled_publish_count(part) == 1
    assert Announcement.objects.filter(part=part).count() == 1


def test_api_shows_a_scheduled_part_right_after_the_sweep(
    client, django_capture_on_commit_callbacks
):
    series = make_series(slug="moving-well")
    schedule_part(series, due_at=timezone.now() - timedelta(seconds=1))
    url = "/api/series/moving-well/parts/1"
    assert client.get(url).status_code == 404  # and now cached
    with django_capture_on_commit_callbacks(execute=True):
        publishing_sweep()
    assert client.get(url).status_code == 200


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_concurrent_sweeps_publish_each_revision_once():
    if connection.vendor != "postgresql":
        pytest.skip("row locks: PostgreSQL; SQLite is covered by the worker-process test")
    series = make_series()
    now = timezone.now()
    parts = [schedule_part(series, due_at=now - timedelta(seconds=30 - i)) for i in range(30)]
    barrier = threading.Barrier(4)
    errors = []

    def run():
        try:
            barrier.wait()
            publishing_sweep()
        except Exception as error:  # surfaced below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert [scheduled_publish_count(p) for p in parts] == [1] * 30
    assert Announcement.objects.filter(part__in=parts).count() == 30
    assert all(PartPage.objects.get(pk=p.pk).live for p in parts)
