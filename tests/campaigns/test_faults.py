"""Emulator faults on ~30% of calls: every campaign ends sent exactly once, or failed with its
reason shown; never sent twice."""

import pytest
from django.utils import timezone

from pipeline.campaigns.models import Campaign, CampaignStatus
from pipeline.campaigns.services.campaigns import campaign_create_discount, campaign_schedule
from pipeline.campaigns.services.sending import campaign_send, campaigns_sweep
from pipeline.subscribers.models import Subscriber
from tests.support.factories import make_offer
from tests.support.mailchimp import add_members, real_sends, use_emulator

S = CampaignStatus
pytestmark = pytest.mark.django_db

FAULTS = ["429", "429-empty", "5xx", "timeout", "answer-lost"]


def test_thirty_percent_faults_end_sent_once_or_failed_with_reason(settings, mailchimp_emulator,
                                                                  series):
    use_emulator(settings, mailchimp_emulator)
    settings.CAMPAIGN_MAX_ATTEMPTS = 6
    add_members(mailchimp_emulator, [f"m{i}@example.com" for i in range(4)])
    Subscriber.objects.create(email="local@example.com", status="subscribed")
    offer = make_offer(code="corrective")
    campaigns = []
    for number in range(12):
        campaign = campaign_create_discount(offer=offer, name=f"Wave {number}", send_at=None)
        assert campaign_schedule(campaign=campaign, send_at=timezone.now(), actor="ed").ok
        campaigns.append(campaign)

    control = mailchimp_emulator.control
    # Five kinds at 7% each, tried in turn: about 30% of calls meet one of them.
    for kind in FAULTS:
        control.add_fault(kind, path=r"^/3\.0/campaigns", probability=0.07, hang_seconds=0,
                          empty_body=kind == "5xx", status=503)
    for _ in range(200):  # bounded: each round is one sweep plus the sends it finds
        due = campaigns_sweep()
        if not due:
            break
        for campaign_id in due:
            campaign_send(campaign_id=campaign_id)
    fired = {rule["kind"]: rule["fired"] for rule in control.faults()}
    control.clear_faults()
    assert sum(fired.values()) >= 5, fired  # the faults really happened
    print("faults fired:", fired)

    sends = real_sends(mailchimp_emulator)
    by_campaign = {}
    for send in sends:
        by_campaign.setdefault(send["campaign_id"], []).append(send)
    for campaign in Campaign.objects.filter(pk__in=[c.pk for c in campaigns]):
        assert campaign.status in (S.SENT, S.FAILED), (campaign.name, campaign.status)
        copies = by_campaign.get(campaign.provider_campaign_id, [])
        if campaign.status == S.SENT:
            assert len(copies) == 1, campaign.name
        else:
            assert copies == [] and campaign.last_error, campaign.name
    assert len(sends) == sum(1 for c in Campaign.objects.all() if c.status == S.SENT)
    stats = control.stats()
    assert stats, "the emulator counted the calls"
