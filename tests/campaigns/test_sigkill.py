"""SIGKILL trials with real Celery worker processes, on both delivery paths.

Each trial queues one campaign, waits until a worker has claimed it, kills the worker (and its
pool) with SIGKILL after a random delay, starts a fresh worker, and lets the sweep hand the
campaign over once the lease runs out. Mailchimp: every campaign is sent exactly once (the
emulator counts sends). Local: no recipient gets two copies (the SMTP sink counts them), and
every recipient who got none is a ledger row marked uncertain.

CI runs a few trials (PARTWORK_CRASH_TRIALS, default 3; PARTWORK_CRASH_RECIPIENTS, default 300);
the full acceptance run is (bench/campaign_crash_trials.sh)
    PARTWORK_CRASH_TRIALS=20 PARTWORK_CRASH_RECIPIENTS=2000 \
        uv run pytest tests/campaigns/test_sigkill.py
"""

import os
import random
import time

import pytest
from django.utils import timezone

from pipeline.campaigns.models import Campaign, CampaignStatus, Delivery, DeliveryState
from pipeline.campaigns.services.campaigns import campaign_create_discount, campaign_schedule
from pipeline.campaigns.services.local import ledger_window, smtp_connections
from pipeline.campaigns.services.sending import campaigns_sweep
from tests.support.factories import make_offer, make_series
from tests.support.mailchimp import add_members, real_sends, use_emulator
from tests.support.processes import celery_worker, purge_queues, wait_until
from tests.support.smtp_sink import SmtpSink
from tests.support.subscribers import make_subscribers
from workers.tasks.campaigns import send_campaign

S = CampaignStatus
TRIALS = int(os.environ.get("PARTWORK_CRASH_TRIALS", "3"))
RECIPIENTS = int(os.environ.get("PARTWORK_CRASH_RECIPIENTS", "300"))
SEED = int(os.environ.get("PARTWORK_CRASH_SEED", str(random.randrange(1 << 30))))

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def logs(tmp_path):
    return tmp_path


def _status(campaign_id) -> str:
    return Campaign.objects.values_list("status", flat=True).get(pk=campaign_id)


def _schedule(offer, number) -> int:
    campaign = campaign_create_discount(offer=offer, name=f"Trial {number}", send_at=None,
                                        subject=f"Trial {number}: 35% off")
    answer = campaign_schedule(campaign=campaign, send_at=timezone.now(), actor="trial")
    assert answer.ok, answer.message
    return campaign.pk


def _run_trials(logs, env, *, max_delay: float) -> tuple[list[int], int]:
    """Returns the campaign ids and how many kills landed while the campaign was in flight."""
    purge_queues()
    rng = random.Random(SEED)
    offer = make_offer(code="corrective")
    campaign_ids, mid_flight = [], 0
    worker = celery_worker("w0", logs, concurrency=1, **env)
    try:
        for number in range(TRIALS):
            campaign_id = _schedule(offer, number)
            campaign_ids.append(campaign_id)
            send_campaign.delay(campaign_id)
            wait_until(lambda cid=campaign_id: _status(cid) != S.SCHEDULED, timeout=60,
                       what=f"trial {number} to be claimed")
            # The first kill lands at once (claimed, nothing sent yet), so every run has at least
            # one kill in flight however fast the machine; the others at random points.
            time.sleep(rng.uniform(0, max_delay) if number else 0)
            if _status(campaign_id) not in (S.SENT, S.FAILED, S.EXPIRED):
                mid_flight += 1
            worker.kill()
            worker = celery_worker(f"w{number + 1}", logs, concurrency=1, **env)

            def finished(cid=campaign_id):
                if _status(cid) in (S.SENT, S.FAILED, S.EXPIRED):
                    return True
                for due_id in campaigns_sweep():  # what beat's sweep would queue
                    send_campaign.delay(due_id)
                time.sleep(0.5)
                return False

            wait_until(finished, timeout=120, what=f"trial {number} to finish after the kill")
    finally:
        worker.kill()
    return campaign_ids, mid_flight


def test_sigkill_trials_local_path_never_two_copies_and_lost_only_uncertain(logs):
    series = make_series(title="Moving Well", slug="moving-well")
    make_subscribers(RECIPIENTS, series=[series])
    with SmtpSink() as sink:
        env = {"DJANGO_SETTINGS_MODULE": "tests.support.worker_settings",
               "TRIAL_SMTP_PORT": str(sink.port), "TRIAL_PROVIDER": "local"}
        campaign_ids, mid_flight = _run_trials(logs, env, max_delay=RECIPIENTS / 500)
        copies = dict(sink.handler.copies)
    print(f"seed {SEED}: {TRIALS} trials x {RECIPIENTS} recipients, {mid_flight} killed in flight")
    assert mid_flight >= 1
    window = ledger_window(smtp_connections())  # the workers' settings: 2 x 4 sessions = 8
    uncertain_total = 0
    for campaign in Campaign.objects.filter(pk__in=campaign_ids):
        assert campaign.status == S.SENT, (campaign.name, campaign.status, campaign.last_error)
        states = dict(Delivery.objects.filter(campaign=campaign).values_list("email", "state"))
        assert len(states) == RECIPIENTS
        uncertain = sum(state == DeliveryState.UNCERTAIN for state in states.values())
        assert uncertain <= window, f"{campaign.name}: {uncertain} uncertain, window {window}"
        for email, state in states.items():
            got = copies.get((campaign.sent_subject, email), 0)
            assert got <= 1, f"{email} got {got} copies of {campaign.name}"
            if state == DeliveryState.SENT:
                assert got == 1, f"{email} is recorded sent but got nothing"
            else:
                assert state == DeliveryState.UNCERTAIN, (email, state)
                uncertain_total += 1
        assert max(c for (subject, _), c in copies.items() if subject == campaign.sent_subject) == 1
    print(f"uncertain rows (shown to the operator, not resent): {uncertain_total}")


def test_sigkill_trials_mailchimp_path_sent_exactly_once(logs, mailchimp_emulator, settings):
    use_emulator(settings, mailchimp_emulator)
    make_series(title="Moving Well", slug="moving-well")
    mailchimp_emulator.emulator.latency_ms = 60  # a few hundred ms per campaign: room to kill
    add_members(mailchimp_emulator, [f"m{i}@example.com" for i in range(5)])
    env = {"DJANGO_SETTINGS_MODULE": "tests.support.worker_settings",
           "TRIAL_PROVIDER": "mailchimp", "TRIAL_MAILCHIMP_KEY": mailchimp_emulator.api_key,
           "TRIAL_MAILCHIMP_URL": mailchimp_emulator.url,
           "TRIAL_MAILCHIMP_LIST": mailchimp_emulator.list_id}
    campaign_ids, mid_flight = _run_trials(logs, env, max_delay=0.5)
    # A killed worker hangs up mid-answer; the emulator (as of its branch's 6be03fa) files that
    # as an internal error. Only those are dropped here; any other still fails the fixture.
    errors = mailchimp_emulator.emulator.internal_errors
    errors[:] = [e for e in errors if "BrokenPipe" not in e and "ConnectionReset" not in e]
    print(f"seed {SEED}: {TRIALS} Mailchimp trials, {mid_flight} killed in flight")
    assert mid_flight >= 1
    sends = real_sends(mailchimp_emulator)
    for campaign in Campaign.objects.filter(pk__in=campaign_ids):
        assert campaign.status == S.SENT, (campaign.name, campaign.status, campaign.last_error)
        assert sum(1 for s in sends if s["campaign_id"] == campaign.provider_campaign_id) == 1
    assert len(sends) == TRIALS
