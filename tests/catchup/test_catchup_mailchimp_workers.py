"""Catch-up with the audience at Mailchimp over real processes: a Celery worker (real Redis
broker) whose settings point at the Mailchimp emulator (real HTTP, the official client), and an
SMTP sink that must stay silent (catch-up goes out as Mailchimp campaigns, not per reader).

As in test_catchup_workers.py, the worker's clock cannot be moved: each step is given the moment
it runs as (the task's ``at``, what beat's tick would be on that day).
"""

from datetime import timedelta

import pytest

from pipeline.campaigns.models import Campaign
from pipeline.catchup.models import (
    CampaignStage,
    CatchupCampaign,
    CatchupDelivery,
    CatchupProgress,
    DeliveryState,
    ProgressState,
)
from pipeline.catchup.services.progress import catchup_start
from pipeline.subscribers.services import subscriber_stop_series
from pipeline.subscribers.tokens import address_digest
from tests.support.catchup import catchup_subject, series_with_parts
from tests.support.mailchimp import (
    add_members,
    map_series_to_interest,
    real_sends,
    use_emulator,
)
from tests.support.processes import celery_worker, purge_queues, wait_until
from tests.support.smtp_sink import SmtpSink
from tests.support.subscribers import make_member, make_subscribers
from workers.tasks.catchup import step

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def emulator(settings, mailchimp_emulator):
    use_emulator(settings, mailchimp_emulator)
    yield mailchimp_emulator
    # A killed worker hangs up mid-answer; the emulator files that as an internal error. Only
    # those are dropped; any other still fails the fixture.
    errors = mailchimp_emulator.emulator.internal_errors
    errors[:] = [e for e in errors if "BrokenPipe" not in e and "ConnectionReset" not in e]


def _worker_env(sink, emulator) -> dict:
    return {"DJANGO_SETTINGS_MODULE": "tests.support.worker_settings",
            "TRIAL_SMTP_PORT": str(sink.port), "TRIAL_PROVIDER": "mailchimp",
            "TRIAL_MAILCHIMP_KEY": emulator.api_key, "TRIAL_MAILCHIMP_URL": emulator.url,
            "TRIAL_MAILCHIMP_LIST": emulator.list_id}


def _received(emulator, address: str) -> list[str]:
    return [send["subject"] for send in real_sends(emulator) if address in send["recipients"]]


def _stage(part) -> str | None:
    return CatchupCampaign.objects.filter(part=part).values_list("stage", flat=True).first()


def test_late_joiners_get_parts_one_to_three_once_in_order_then_part_five(tmp_path, emulator):
    series, parts = series_with_parts()  # parts 1-4 live, 5-6 to come
    purge_queues()  # their announcements went out before anyone joined
    interest = map_series_to_interest(emulator, series)
    add_members(emulator, ["ann@example.com", "bob@example.com"],
                interests=[interest.interest_id])
    ann, bob = make_member("ann@example.com", series), make_member("bob@example.com", series)
    for reader in (ann, bob):
        catchup_start(subscriber_id=reader.pk, series_id=series.pk)
    due = CatchupProgress.objects.get(subscriber=ann).next_due_at
    with SmtpSink() as sink:
        worker = celery_worker("mc-mail", tmp_path, concurrency=1, **_worker_env(sink, emulator))
        try:
            for day in range(1, 5):
                if day == 2:  # Bob stops emails about the series after his first part
                    subscriber_stop_series(subscriber_id=bob.pk, series_id=series.pk,
                                           address_digest=address_digest(bob.email))
                moment = due + timedelta(days=day - 1, minutes=1)
                step.delay(moment.isoformat())
                step.delay(moment.isoformat())  # a second tick the same day: nothing twice
                if day <= 3:
                    wait_until(lambda d=day: _stage(parts[d - 1]) == CampaignStage.SENT,
                               timeout=60, what=f"the catch-up campaign of day {day}")
                else:
                    wait_until(lambda: CatchupProgress.objects.get(subscriber=ann).state
                               == ProgressState.LEVEL, timeout=60, what="Ann to be level")
            # Part 5 goes live: its announcement, through the worker, reaches Ann as usual.
            parts[4].save_revision().publish()
            wait_until(lambda: Campaign.objects.filter(part=parts[4], status="sent").exists(),
                       timeout=90, what="part 5's announcement")
        finally:
            worker.kill()
        smtp_copies = dict(sink.handler.copies)
    announcement = Campaign.objects.get(part=parts[4]).sent_subject
    assert _received(emulator, "ann@example.com") == [
        catchup_subject(p) for p in parts[:3]] + [announcement]
    assert _received(emulator, "bob@example.com") == [catchup_subject(parts[0])]
    assert CatchupProgress.objects.get(subscriber=bob).state == ProgressState.STOPPED
    assert CatchupCampaign.objects.count() == 3 and len(real_sends(emulator)) == 4
    assert smtp_copies == {}


@pytest.mark.parametrize("kill_at", [
    # Between the segment and the campaign: the worker dies while POST /campaigns is pending.
    {"stage": CampaignStage.FILLED, "fault": "delay", "path": r"/campaigns$", "delay_ms": 8000},
    # During the send: Mailchimp applied it, the worker died before hearing so.
    {"stage": CampaignStage.SEND_REQUESTED, "fault": "answer-lost", "path": r"/actions/send$",
     "hang_seconds": 8},
], ids=["before-create", "during-send"])
def test_sigkill_of_the_mail_worker_mid_step_leaves_no_duplicate(tmp_path, emulator, kill_at):
    series, parts = series_with_parts()
    purge_queues()
    interest = map_series_to_interest(emulator, series)
    readers = make_subscribers(300, series=[series])
    add_members(emulator, [r.email for r in readers], interests=[interest.interest_id])
    for reader in readers:
        catchup_start(subscriber_id=reader.pk, series_id=series.pk)
    due = CatchupProgress.objects.values_list("next_due_at", flat=True).first()
    options = {k: v for k, v in kill_at.items() if k not in ("stage", "fault", "path")}
    emulator.control.add_fault(kill_at["fault"], path=kill_at["path"], method="POST", count=1,
                               **options)
    with SmtpSink() as sink:
        env = _worker_env(sink, emulator)
        worker = celery_worker("mc-mail0", tmp_path, concurrency=1, **env)
        try:
            step.delay((due + timedelta(minutes=1)).isoformat())
            wait_until(lambda: _stage(parts[0]) == kill_at["stage"]
                       and emulator.control.faults()[0]["fired"], timeout=60,
                       what=f"the step to reach {kill_at['stage']}")
            worker.kill()
            worker = celery_worker("mc-mail1", tmp_path, concurrency=1, **env)
            for day in range(1, 5):
                moment = due + timedelta(days=day - 1, minutes=2)

                def settled(m=moment, part=parts[day - 1] if day <= 3 else None):
                    if (part is None or _stage(part) == CampaignStage.SENT) and not \
                            CatchupProgress.objects.filter(state=ProgressState.ACTIVE,
                                                           next_due_at__lte=m).exists():
                        return True
                    step.delay(m.isoformat())  # beat's next tick (the lease runs out meanwhile)
                    return False

                wait_until(settled, timeout=120, interval=1, what=f"day {day}'s campaign")
        finally:
            worker.kill()
        smtp_copies = dict(sink.handler.copies)
    sends = real_sends(emulator)
    assert [send["subject"] for send in sends] == [catchup_subject(p) for p in parts[:3]]
    assert all(send["recipient_count"] == 300 for send in sends)
    assert set(CatchupDelivery.objects.values_list("state", flat=True)) == {DeliveryState.SENT}
    assert CatchupProgress.objects.filter(state=ProgressState.LEVEL).count() == 300
    assert smtp_copies == {}
