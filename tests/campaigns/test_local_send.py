"""Discount and announcement campaigns over the local (Django email) path, on the real DB."""


import pytest
from django.core import mail
from django.utils import timezone

from pipeline.campaigns.models import CampaignStatus, Delivery, DeliveryState
from pipeline.campaigns.services.campaigns import campaign_create_discount, campaign_schedule
from pipeline.campaigns.services.claims import campaigns_due
from pipeline.campaigns.services.delivery import CONTINUING
from pipeline.campaigns.services.local import unsubscribe_link
from pipeline.campaigns.services.sending import campaign_send
from pipeline.subscribers.tokens import UNSUBSCRIBE, read_token, unsubscribe_url
from tests.support.factories import make_offer
from tests.support.subscribers import make_subscribers

S = CampaignStatus
pytestmark = pytest.mark.django_db


def test_discount_goes_to_every_subscriber_once_with_unsubscribe_headers(series):
    make_subscribers(5, series=[series])
    offer = make_offer(code="corrective", percent_off=35)
    campaign = campaign_create_discount(offer=offer, name="Corrective week", send_at=None)
    answer = campaign_schedule(campaign=campaign, send_at=timezone.now(), actor="editor")
    assert answer.ok, answer.message

    assert campaign_send(campaign_id=campaign.pk) == S.SENT
    assert campaign_send(campaign_id=campaign.pk) == S.SENT  # a second call does nothing

    assert sorted(m.to[0] for m in mail.outbox) == [f"reader{i}@example.com" for i in range(5)]
    message = mail.outbox[0]
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/api/subscribers/unsubscribe/" in message.extra_headers["List-Unsubscribe"]
    assert "corrective" in message.body and "*|" not in message.body
    html = message.alternatives[0][0]
    assert "*|" not in html and "1 Example Street" in html
    ids = {m.extra_headers["Message-ID"] for m in mail.outbox}
    assert len(ids) == 5
    campaign.refresh_from_db()
    assert campaign.recipient_count == 5 and "corrective" in campaign.sent_text
    assert set(Delivery.objects.filter(campaign=campaign).values_list("state", flat=True)) == {
        DeliveryState.SENT
    }
    log = list(campaign.transitions.values_list("from_status", "to_status"))
    assert (S.DRAFT, S.SCHEDULED) in log and (S.SEND_REQUESTED, S.SENT) in log


def test_fast_unsubscribe_link_is_the_mailing_list_one_click_url(series):
    (subscriber,) = make_subscribers(1)
    ours = unsubscribe_link(subscriber_id=subscriber.pk, email=subscriber.email)
    theirs = unsubscribe_url(subscriber_id=subscriber.pk, email=subscriber.email)
    assert ours.rsplit("/", 1)[0] == theirs.rsplit("/", 1)[0]
    assert read_token(UNSUBSCRIBE, ours.rsplit("/", 1)[1]).subscriber_id == subscriber.pk


def test_a_long_campaign_is_handed_on_between_tasks_without_loss_or_repeat(series, settings):
    settings.CAMPAIGN_SEND_RUN_SECONDS = 0  # hand on after every turn of the loop
    make_subscribers(9, series=[series])
    offer = make_offer(code="corrective", percent_off=35)
    campaign = campaign_create_discount(offer=offer, name="Long list", send_at=None)
    assert campaign_schedule(campaign=campaign, send_at=timezone.now(), actor="editor").ok

    results = []
    while (status := campaign_send(campaign_id=campaign.pk)) == CONTINUING:
        results.append(status)
        campaign.refresh_from_db()
        # Due again at once (no backoff, no lease), so the task or the sweep carries on.
        assert campaign.claimed_until is None and campaign.next_attempt_at is None
        assert campaign.pk in campaigns_due(now=timezone.now())
    assert status == S.SENT
    assert len(results) >= 3  # it really was cut into several runs
    assert sorted(m.to[0] for m in mail.outbox) == [f"reader{i}@example.com" for i in range(9)]
    assert set(Delivery.objects.filter(campaign=campaign).values_list("state", flat=True)) == {
        DeliveryState.SENT
    }
    assert campaign.transitions.filter(reason__startswith="Paused after").count() == len(results)
