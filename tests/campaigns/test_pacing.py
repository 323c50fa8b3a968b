"""Pacing of local sending: the daily cap and warm-up, the per-second rate shared through Redis,
and a campaign that reaches the day's cap pausing and resuming on the next days with real
worker processes and the real SMTP sink: every reader gets exactly one copy, nothing is lost."""

import threading
import time
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.conf import settings as django_settings
from django.utils import timezone

from config.settings.env import ConfigurationError, env_date, env_file, env_int, env_int_list
from pipeline.campaigns.models import Campaign, CampaignStatus, Delivery, DeliveryState
from pipeline.campaigns.services.campaigns import campaign_create_discount, campaign_schedule
from pipeline.campaigns.services.pacing import KEY_PREFIX, Pacer, _storage, daily_cap
from pipeline.campaigns.services.sending import campaigns_sweep
from tests.support.factories import make_offer, make_series
from tests.support.processes import celery_worker, purge_queues, wait_until
from tests.support.smtp_sink import SmtpSink
from tests.support.subscribers import make_subscribers
from workers.tasks.campaigns import send_campaign

S = CampaignStatus


@pytest.fixture(autouse=True)
def _fresh_pacing_keys():
    redis = _storage(django_settings.REDIS_URL).get_connection()
    for key in redis.scan_iter(f"{KEY_PREFIX}*"):
        redis.delete(key)
    yield
    for key in redis.scan_iter(f"{KEY_PREFIX}*"):
        redis.delete(key)


def test_pacing_is_off_by_default_and_then_costs_no_redis_call():
    assert django_settings.CAMPAIGN_SMTP_RATE is None
    assert django_settings.CAMPAIGN_SMTP_DAILY_CAP is None
    assert django_settings.CAMPAIGN_SMTP_WARMUP == []
    pacer = Pacer()
    assert not pacer.enabled and not hasattr(pacer, "redis")
    assert pacer.take(8).count == 8


def test_warm_up_caps_grow_by_the_schedule_then_the_daily_cap_holds(settings):
    settings.CAMPAIGN_SMTP_WARMUP = [50, 100, 200]
    settings.CAMPAIGN_SMTP_WARMUP_START = date(2026, 3, 1)
    settings.CAMPAIGN_SMTP_DAILY_CAP = 150
    assert daily_cap(date(2026, 2, 20)) == 50  # before the start: the first day's cap
    assert daily_cap(date(2026, 3, 1)) == 50
    assert daily_cap(date(2026, 3, 2)) == 100
    assert daily_cap(date(2026, 3, 3)) == 150  # the daily cap is never exceeded
    assert daily_cap(date(2026, 3, 4)) == 150
    settings.CAMPAIGN_SMTP_DAILY_CAP = None
    assert daily_cap(date(2026, 3, 3)) == 200
    assert daily_cap(date(2026, 3, 4)) is None


def test_racing_workers_never_take_more_than_the_day_together(settings):
    settings.CAMPAIGN_SMTP_DAILY_CAP = 500
    granted = []
    lock = threading.Lock()

    def worker():
        pacer = Pacer()
        while True:
            grant = pacer.take(7)
            with lock:
                granted.append(grant.count)
            if grant.day_full_until:
                assert grant.day_full_until == datetime.combine(
                    datetime.now(UTC).date() + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
                return

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(granted) == 500
    assert Pacer().take(1).day_full_until is not None
    # The next day has its own count.
    with time_machine.travel(timezone.now() + timedelta(days=1), tick=False):
        assert Pacer().take(7).count == 7


def test_tokens_given_back_may_be_taken_again_the_same_day(settings):
    settings.CAMPAIGN_SMTP_DAILY_CAP = 10
    pacer = Pacer()
    assert pacer.take(10).count == 10
    pacer.give_back(4)  # four messages were never handed over
    assert Pacer().take(10).count == 4
    assert Pacer().take(1).day_full_until is not None


def test_the_rate_holds_across_workers(settings):
    """No one-second span holds more than the rate, so 120 messages at 20 a second span at
    least five seconds, whatever the machine's speed (a slower one only takes longer)."""
    settings.CAMPAIGN_SMTP_RATE = 20
    granted = []
    lock = threading.Lock()

    def worker():
        pacer = Pacer()
        for _ in range(10):
            count = pacer.take(4).count
            with lock:
                granted.append(count)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    assert sum(granted) == 120
    assert elapsed >= (120 - 20) / 20, f"120 messages at 20/s in {elapsed:.2f} s"


def _status(campaign_id):
    return Campaign.objects.values_list("status", "next_attempt_at", "claimed_by").get(
        pk=campaign_id)


def _paused(campaign_id, sent: int):
    status, next_attempt_at, claimed_by = _status(campaign_id)
    done = Delivery.objects.filter(campaign_id=campaign_id, state=DeliveryState.SENT).count()
    return done == sent and next_attempt_at is not None and not claimed_by


@pytest.mark.slow
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_daily_cap_pauses_and_the_next_days_finish_with_nothing_lost_or_doubled(tmp_path):
    """Warm-up 20 then 30 a day, then a cap of 1,000: 75 readers go out as 20 + 30 + 25 on
    three days, each day's remainder picked up by the sweep and a worker living on that day."""
    purge_queues()
    series = make_series(title="Moving Well", slug="moving-well")
    make_subscribers(75, series=[series])
    offer = make_offer(code="corrective", ends_in=timedelta(days=10))
    campaign = campaign_create_discount(offer=offer, name="Paced", send_at=None,
                                        subject="Paced: 35% off")
    assert campaign_schedule(campaign=campaign, send_at=timezone.now(), actor="trial").ok
    today = datetime.now(UTC).date()
    midnight = datetime.combine(today, datetime.min.time(), tzinfo=UTC)
    with SmtpSink() as sink:
        env = {"DJANGO_SETTINGS_MODULE": "tests.support.paced_worker_settings",
               "TRIAL_SMTP_PORT": str(sink.port), "TRIAL_LEASE_SECONDS": "30",
               "TRIAL_DAILY_CAP": "1000", "TRIAL_WARMUP": "20,30",
               "TRIAL_WARMUP_START": today.isoformat()}
        per_day = []
        for day, (expected_total, clock) in enumerate(
                [(20, None), (50, midnight + timedelta(days=1, seconds=5)),
                 (75, midnight + timedelta(days=2, seconds=5))]):
            worker_env = {**env, "TRIAL_CLOCK": clock.isoformat()} if clock else env
            worker = celery_worker(f"day{day}", tmp_path, concurrency=1, **worker_env)
            try:
                if clock is None:
                    send_campaign.delay(campaign.pk)
                else:
                    with time_machine.travel(clock, tick=True):
                        # What beat's sweep finds that day: the paused campaign, due again.
                        assert campaign.pk in campaigns_sweep()
                        send_campaign.delay(campaign.pk)
                if expected_total < 75:
                    wait_until(lambda total=expected_total: _paused(campaign.pk, total),
                               timeout=90, what=f"day {day} to pause at {expected_total}")
                    status, next_attempt_at, _ = _status(campaign.pk)
                    assert status == S.SEND_REQUESTED
                    assert next_attempt_at == midnight + timedelta(days=day + 1)
                    # Not due before then: a sweep on the same day leaves it alone.
                    assert campaign.pk not in campaigns_sweep(
                        now=next_attempt_at - timedelta(seconds=1))
                else:
                    wait_until(lambda: _status(campaign.pk)[0] == S.SENT, timeout=90,
                               what="the last day to finish the campaign")
            finally:
                worker.stop()
            per_day.append(sink.handler.total - sum(per_day))
        copies = dict(sink.handler.copies)

    assert per_day == [20, 30, 25]
    states = dict(Delivery.objects.filter(campaign=campaign).values_list("email", "state"))
    assert len(states) == 75
    assert set(states.values()) == {DeliveryState.SENT}
    for email in states:
        assert copies.get(("Paced: 35% off", email)) == 1, email
    assert sum(copies.values()) == 75
    reasons = list(campaign.transitions.values_list("reason", flat=True))
    assert any("Ledger written: 75 recipients" in reason for reason in reasons)


@pytest.mark.parametrize("read, name, raw, expected", [
    (lambda n: env_int(n, minimum=1), "CAMPAIGN_SMTP_RATE", "0", "a whole number of at least 1"),
    (lambda n: env_int_list(n, minimum=1), "CAMPAIGN_SMTP_WARMUP", "50,lots",
     "comma-separated whole numbers of at least 1"),
    (env_date, "CAMPAIGN_SMTP_WARMUP_START", "1 March", "a date as YYYY-MM-DD"),
    (env_file, "DKIM_PRIVATE_KEY_FILE", "/nonexistent/dkim.pem", "the path of a readable file"),
])
def test_bad_pacing_and_dkim_settings_are_refused_in_one_line(monkeypatch, read, name, raw,
                                                              expected):
    monkeypatch.setenv(name, raw)
    with pytest.raises(ConfigurationError) as refused:
        read(name)
    assert f"{name} must be {expected}, not {raw!r}" in str(refused.value)


def test_pacing_settings_read_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CAMPAIGN_SMTP_WARMUP", "50, 100,200")
    monkeypatch.setenv("CAMPAIGN_SMTP_WARMUP_START", "2026-03-01")
    key = tmp_path / "dkim.pem"
    key.write_text("pem")
    monkeypatch.setenv("DKIM_PRIVATE_KEY_FILE", str(key))
    assert env_int_list("CAMPAIGN_SMTP_WARMUP", minimum=1) == [50, 100, 200]
    assert env_date("CAMPAIGN_SMTP_WARMUP_START") == date(2026, 3, 1)
    assert env_file("DKIM_PRIVATE_KEY_FILE") == str(key)
    monkeypatch.delenv("CAMPAIGN_SMTP_WARMUP")
    assert env_int_list("CAMPAIGN_SMTP_WARMUP") == []
