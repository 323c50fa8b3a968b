"""Crashes, outages and re-sent batches."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.utils import timezone

from pipeline.audience.models import AudienceSyncRun, SyncRunState
from pipeline.audience.services.runs import AudienceSyncInterrupted
from pipeline.audience.services.sync import audience_sync
from pipeline.subscribers.models import Subscriber, SubscriberStatus
from tests.support.factories import make_series
from tests.support.mailchimp import batch_requests, fast_client
from tests.support.mailchimp_emulator.fixtures import REPO_ROOT
from tests.support.subscribers import make_subscribers

pytestmark = pytest.mark.django_db


def snapshot() -> dict:
    return {m["email_address"]: (m["status"], tuple(sorted(k for k, v in m["interests"].items()
                                                           if v)))
            for m in fast_client().iter_members()}


def expected_state() -> dict:
    mapping = {SubscriberStatus.CLEANED: "unsubscribed"}
    return {s.email: mapping.get(s.status, s.status) for s in Subscriber.objects.all()}


def test_a_run_that_ends_mid_way_resumes_without_redoing_finished_batches(
        sync, mailchimp_settings):
    control = mailchimp_settings.control
    make_subscribers(2300, series=[make_series()])  # 5 batches

    def break_after_two(event):
        if event["event"] == "batch" and event["batch"] == 2:
            control.add_fault("5xx", path=r"/lists/[^/]+$", method="POST", status=503)

    with pytest.raises(AudienceSyncInterrupted):
        sync(concurrency=1, progress=break_after_two)
    run = AudienceSyncRun.objects.get()
    recorded = run.batches  # 2, or 3 when the next batch was already on its way
    assert run.state == SyncRunState.INTERRUPTED and 2 <= recorded < 5
    assert run.cursor_pk == Subscriber.objects.order_by("pk")[recorded * 500 - 1].pk
    assert Subscriber.objects.exclude(mailchimp_synced_hash="").count() == recorded * 500
    assert batch_requests(mailchimp_settings) == recorded

    control.clear_faults()
    summary = sync(concurrency=1)
    assert (summary.run_id, summary.state, summary.resumed) == (run.pk, "finished", 1)
    assert summary.batches == 5 and summary.members_sent == 2300
    assert batch_requests(mailchimp_settings) == 5  # the recorded batches were not sent again
    assert {e: s for e, (s, _) in snapshot().items()} == expected_state()


def test_outage_429_with_and_without_body_5xx_and_timeouts_the_sync_finishes(
        sync, mailchimp_settings):
    control = mailchimp_settings.control
    rows = make_subscribers(1500, series=[make_series()])
    Subscriber.objects.filter(pk__in=[r.pk for r in rows[::7]]).update(
        status=SubscriberStatus.UNSUBSCRIBED)
    batch_path = r"/lists/[^/]+$"
    control.add_fault("429", path=batch_path, method="POST", count=3, retry_after=0)
    control.add_fault("429-empty", path=batch_path, method="POST", count=3)
    control.add_fault("5xx", path=batch_path, method="POST", count=3, status=500,
                      empty_body=True)
    control.add_fault("5xx", path=batch_path, method="POST", count=2, status=503)
    control.add_fault("timeout", path=batch_path, method="POST", count=2, hang_seconds=3)
    control.add_fault("answer-lost", path=batch_path, method="POST", count=2)
    control.add_fault("429-empty", path="/members", method="GET", count=2)

    summary = sync(client_factory=lambda: fast_client(timeout=1.0))

    assert summary.state == SyncRunState.FINISHED and summary.errors == 0
    assert all(rule["fired"] == rule["count"] for rule in control.faults())
    assert {e: s for e, (s, _) in snapshot().items()} == expected_state()
    assert summary.batches == 3
    assert summary.requests > 3 + 2  # the retries are counted
    assert control.stats()["rejected_over_limit"] == 0


def test_a_long_outage_interrupts_the_run_and_the_next_call_finishes_it(
        sync, mailchimp_settings):
    control = mailchimp_settings.control
    make_subscribers(600)
    control.add_fault("5xx", path=r"/lists/[^/]+$", method="POST", status=502)
    with pytest.raises(AudienceSyncInterrupted):
        sync(outage_attempts=2)
    assert AudienceSyncRun.objects.get().state == SyncRunState.INTERRUPTED
    control.clear_faults()
    assert sync().state == SyncRunState.FINISHED
    assert len(snapshot()) == 600


def test_a_batch_sent_twice_has_the_same_effect(sync, mailchimp_settings):
    """Re-sending every batch (full run, plus answers lost after being applied) changes
    nothing in the audience or in our list."""
    series = make_series()
    rows = make_subscribers(1100, series=[series])
    Subscriber.objects.filter(pk__in=[r.pk for r in rows[::5]]).update(
        status=SubscriberStatus.PENDING)
    Subscriber.objects.filter(pk__in=[r.pk for r in rows[1::5]]).update(
        status=SubscriberStatus.UNSUBSCRIBED)
    sync()
    mailchimp_settings.control.mark_member(rows[2].email, status="cleaned")
    sync()  # takes the bounce into our list
    audience_before = snapshot()
    ours_before = list(Subscriber.objects.order_by("pk").values_list("status",
                                                                     "mailchimp_synced_hash"))

    mailchimp_settings.control.add_fault("answer-lost", path=r"/lists/[^/]+$", method="POST",
                                         count=3)
    again = sync(full=True)

    # Everyone but the 220 still pending with us, who are not sent until they confirm.
    assert again.members_sent == 880 and again.statuses_from_mailchimp == 0
    assert snapshot() == audience_before
    assert list(Subscriber.objects.order_by("pk").values_list(
        "status", "mailchimp_synced_hash")) == ours_before


def test_a_stale_running_run_is_taken_over_after_its_lease(sync, mailchimp_settings):
    rows = make_subscribers(10)
    now = timezone.now()
    # A run whose process died before recording anything.
    AudienceSyncRun.objects.create(started_at=now, heartbeat_at=now, list_id="a1b2c3d4e5",
                                   upper_pk=rows[-1].pk)
    with time_machine.travel(now + timedelta(minutes=3)):
        summary = sync()
    assert summary.resumed == 1 and summary.members_sent == 10


@pytest.mark.slow
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_sigkill_mid_sync_then_resume(mailchimp_settings):
    """A real process running the command is killed with SIGKILL mid-run; the next run resumes
    from the recorded cursor and the emulator sees each finished batch once."""
    make_subscribers(5000)  # 10 batches
    control = mailchimp_settings.control
    control.configure(latency_ms=150)  # slow enough to kill it mid-way
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test",
           "MAILCHIMP_API_URL": mailchimp_settings.url,
           "MAILCHIMP_API_KEY": mailchimp_settings.api_key,
           "MAILCHIMP_LIST_ID": mailchimp_settings.list_id}
    database = connection.settings_dict  # the test database, which this test commits to
    if connection.vendor == "postgresql":
        password = f":{database['PASSWORD']}" if database.get("PASSWORD") else ""
        env["DATABASE_URL"] = (f"postgres://{database['USER']}{password}@{database['HOST']}:"
                               f"{database['PORT']}/{database['NAME']}")
    else:
        env["DATABASE_URL"] = f"sqlite:///{database['NAME']}"
    process = subprocess.Popen(
        [sys.executable, "manage.py", "sync_audience", "--concurrency", "2", "--no-progress"],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            run = AudienceSyncRun.objects.first()
            if run and run.batches >= 3:
                break
            assert process.poll() is None, process.stdout.read()
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    # Requests the dead process left in flight still finish inside the emulator.
    deadline = time.monotonic() + 10
    while control.stats()["in_flight"] and time.monotonic() < deadline:
        time.sleep(0.05)
    run = AudienceSyncRun.objects.get()
    assert run.state == SyncRunState.RUNNING and 3 <= run.batches < 10
    recorded_before = run.batches
    applied_before = batch_requests(mailchimp_settings)
    # At most the batches in flight (concurrency 2, one queued) were applied but not recorded.
    assert recorded_before <= applied_before <= recorded_before + 3

    control.configure(latency_ms=0)
    with time_machine.travel(timezone.now() + timedelta(minutes=3)):
        summary = audience_sync(client_factory=fast_client)
    assert summary.state == SyncRunState.FINISHED and summary.members_sent == 5000
    assert summary.batches == 10
    # Finished batches were not sent again: 10 batches, plus only those killed in flight.
    assert batch_requests(mailchimp_settings) == 10 + (applied_before - recorded_before)
    assert {e: s for e, (s, _) in snapshot().items()} == expected_state()
    assert settings.MAILCHIMP["API_URL"] == mailchimp_settings.url
