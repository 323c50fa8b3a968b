"""Double clicks, two editors, two workers at once, and crash recovery of the local ledger."""

import threading
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.utils import timezone

from pipeline.campaigns.models import Campaign, CampaignStatus, Delivery, DeliveryState
from pipeline.campaigns.services.campaigns import (
    campaign_cancel,
    campaign_create_discount,
    campaign_schedule,
)
from pipeline.campaigns.services.claims import campaign_claim
from pipeline.campaigns.services.local import _start
from pipeline.campaigns.services.sending import campaign_send
from tests.support.factories import make_offer
from tests.support.subscribers import make_subscribers

S = CampaignStatus


def _draft():
    offer = make_offer(code="corrective")
    return campaign_create_discount(offer=offer, name="Corrective", send_at=None)


def _in_threads(count, work):
    results, errors = [], []
    barrier = threading.Barrier(count)

    def run():
        try:
            barrier.wait(timeout=10)
            results.append(work())
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_editors_scheduling_at_once_schedule_once(series):
    make_subscribers(2)
    campaign = _draft()
    answers = _in_threads(
        4, lambda: campaign_schedule(campaign=Campaign.objects.get(pk=campaign.pk),
                                     send_at=timezone.now(), actor="editor")
    )
    assert sorted(a.ok for a in answers) == [False, False, False, True]
    assert all("already" in a.message or "just" in a.message for a in answers if not a.ok)
    assert campaign.transitions.filter(to_status=S.SCHEDULED).count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_workers_racing_on_one_campaign_send_each_email_once(series):
    make_subscribers(30)
    campaign = _draft()
    assert campaign_schedule(campaign=campaign, send_at=timezone.now(), actor="editor").ok
    results = _in_threads(
        6, lambda: campaign_send(campaign_id=campaign.pk, worker=threading.current_thread().name)
    )
    assert S.SENT in results
    assert len(mail.outbox) == 30
    assert len({m.to[0] for m in mail.outbox}) == 30


@pytest.mark.django_db
def test_sending_a_sent_campaign_again_is_refused_clearly(series):
    make_subscribers(1)
    campaign = _draft()
    assert campaign_schedule(campaign=campaign, send_at=timezone.now(), actor="editor").ok
    assert campaign_send(campaign_id=campaign.pk) == S.SENT
    again = campaign_schedule(campaign=campaign, send_at=timezone.now(), actor="editor")
    assert not again.ok and "already sent" in again.message
    cancel = campaign_cancel(campaign=campaign, actor="editor")
    assert not cancel.ok and "can no longer be cancelled" in cancel.message
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_crash_mid_send_marks_the_message_in_flight_uncertain_and_never_resends_it(series):
    make_subscribers(5)
    campaign = _draft()
    assert campaign_schedule(campaign=campaign, send_at=timezone.now(), actor="editor").ok
    # A worker claimed it, wrote the ledger, sent two messages and died holding the third.
    claimed = campaign_claim(campaign_id=campaign.pk, worker="dead", now=timezone.now())

    assert _start(claimed, "dead") == S.SEND_REQUESTED
    rows = list(Delivery.objects.filter(campaign=campaign).order_by("pk"))
    Delivery.objects.filter(pk__in=[rows[0].pk, rows[1].pk]).update(state=DeliveryState.SENT)
    Delivery.objects.filter(pk=rows[2].pk).update(state=DeliveryState.SENDING)

    assert campaign_send(campaign_id=campaign.pk) == "in_progress"  # lease still running
    with time_machine.travel(timezone.now() + timedelta(minutes=3)):
        assert campaign_send(campaign_id=campaign.pk) == S.SENT
    assert sorted(m.to[0] for m in mail.outbox) == [r.email for r in rows[3:]]
    states = dict(Delivery.objects.filter(campaign=campaign).values_list("email", "state"))
    assert states[rows[2].email] == DeliveryState.UNCERTAIN
    campaign.refresh_from_db()
    assert "uncertain 1" in campaign.transitions.last().reason
