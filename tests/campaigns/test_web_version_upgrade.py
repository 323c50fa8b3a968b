"""Campaigns scheduled before web versions existed: their approved copy has no "view in browser"
link, and they go out as approved instead of falling back to draft; a real change still stops
them."""

import pytest
from django.core import mail
from django.utils import timezone

from pipeline.campaigns.models import Campaign, CampaignStatus
from pipeline.campaigns.services.approval import copy_fields
from pipeline.campaigns.services.campaigns import campaign_create_discount, campaign_schedule
from pipeline.campaigns.services.rendering import campaign_render
from pipeline.campaigns.services.sending import campaign_send
from pipeline.campaigns.services.web_version import web_version_url
from tests.support.factories import make_offer
from tests.support.subscribers import make_subscribers

S = CampaignStatus
pytestmark = pytest.mark.django_db


def scheduled_before_web_versions(series):
    make_subscribers(2, series=[series])
    offer = make_offer(code="OLDCOPY20", percent_off=20)
    campaign = campaign_create_discount(offer=offer, name="Old copy", send_at=None)
    assert campaign_schedule(campaign=campaign, send_at=timezone.now(), actor="editor").ok
    old_copy = campaign_render(campaign=campaign, web_link=False)
    assert web_version_url(campaign) not in old_copy.html
    Campaign.objects.filter(pk=campaign.pk).update(**copy_fields(old_copy))
    return campaign, offer


def test_a_copy_approved_before_web_versions_goes_out_as_approved(series):
    campaign, _ = scheduled_before_web_versions(series)
    assert campaign_send(campaign_id=campaign.pk) == S.SENT
    assert len(mail.outbox) == 2
    assert web_version_url(campaign) not in mail.outbox[0].alternatives[0][0]


def test_a_copy_approved_before_web_versions_still_stops_when_the_offer_changed(series):
    campaign, offer = scheduled_before_web_versions(series)
    offer.percent_off = 25
    offer.save_revision().publish()
    campaign_send(campaign_id=campaign.pk)
    campaign.refresh_from_db()
    assert campaign.status == S.DRAFT and not mail.outbox
