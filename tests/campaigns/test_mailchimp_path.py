"""The Mailchimp path with the real client over HTTP against the emulator."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from pipeline.campaigns.models import Campaign, CampaignStatus
from pipeline.campaigns.services.announcements import announcement_campaign_create
from pipeline.campaigns.services.campaigns import (
    campaign_create_discount,
    campaign_report,
    campaign_schedule,
)
from pipeline.campaigns.services.claims import campaign_claim
from pipeline.campaigns.services.sending import campaign_send
from pipeline.providers.mailchimp import PROVIDER_RETRY
from pipeline.publishing.models import Announcement
from tests.support.factories import make_offer, make_part
from tests.support.mailchimp import (
    add_members,
    map_series_to_interest,
    real_sends,
    use_emulator,
)

S = CampaignStatus
pytestmark = pytest.mark.django_db


@pytest.fixture
def emulator(settings, mailchimp_emulator):
    use_emulator(settings, mailchimp_emulator)
    add_members(mailchimp_emulator, [f"m{i}@example.com" for i in range(3)])
    return mailchimp_emulator


def scheduled_discount(**kwargs):
    offer = make_offer(code="corrective", percent_off=35)
    campaign = campaign_create_discount(offer=offer, name="Corrective week", send_at=None,
                                        **kwargs)
    answer = campaign_schedule(campaign=campaign, send_at=timezone.now(), actor="editor")
    assert answer.ok, answer.message
    return campaign


def test_discount_is_sent_once_and_the_id_and_copy_are_kept(emulator):
    campaign = scheduled_discount()
    assert campaign_send(campaign_id=campaign.pk) == S.SENT
    assert campaign_send(campaign_id=campaign.pk) == S.SENT
    campaign.refresh_from_db()
    sends = real_sends(emulator)
    assert len(sends) == 1 and sends[0]["campaign_id"] == campaign.provider_campaign_id
    assert sends[0]["recipient_count"] == 3 == campaign.recipient_count
    assert "*|UNSUB|*" in sends[0]["html"] and "corrective" in sends[0]["plain_text"]
    assert campaign.sent_html == sends[0]["html"] and campaign.sent_subject == sends[0]["subject"]
    emulator.control.set_report(campaign.provider_campaign_id, unique_opens=2, unique_clicks=1)
    report = campaign_report(campaign=campaign)
    assert (report["sent"], report["opens"], report["clicks"]) == (3, 2, 1)


def test_send_whose_answer_is_lost_is_read_back_not_resent(emulator):
    campaign = scheduled_discount()
    emulator.control.add_fault("answer-lost", path=r"/actions/send$", count=1, hang_seconds=0)
    assert campaign_send(campaign_id=campaign.pk) == S.SENT
    assert len(real_sends(emulator)) == 1
    reasons = list(campaign.transitions.values_list("reason", flat=True))
    assert any("did not answer cleanly" in r for r in reasons)


@pytest.mark.parametrize("kind", ["timeout", "429-empty", "429", "5xx"])
def test_send_not_applied_is_tried_again_and_sent_once(emulator, kind):
    campaign = scheduled_discount()
    emulator.control.add_fault(kind, path=r"/actions/send$", count=1, hang_seconds=0,
                               empty_body=True)
    first = campaign_send(campaign_id=campaign.pk)
    assert first == S.CREATED and real_sends(emulator) == []
    assert campaign_send(campaign_id=campaign.pk) == S.SENT
    assert len(real_sends(emulator)) == 1


def test_a_brief_429_or_5xx_on_an_idempotent_call_costs_no_attempt(emulator):
    """The provider retries 429 on create and 429/5xx on content and the status read inside
    one attempt; the campaign is sent on its first claim, once."""
    campaign = scheduled_discount()
    emulator.control.add_fault("429-empty", path=r"/campaigns$", method="POST", count=1)
    emulator.control.add_fault("5xx", path=r"/content$", method="PUT", count=1, status=503)
    emulator.control.add_fault("5xx", path=r"/campaigns/[^/]+$", method="GET", count=1,
                               status=500, empty_body=True)
    assert campaign_send(campaign_id=campaign.pk) == S.SENT
    campaign.refresh_from_db()
    assert campaign.attempts == 1 and campaign.recipient_count == 3
    assert [rule["fired"] for rule in emulator.control.faults()] == [1, 1, 1]
    assert len(emulator.emulator.state.campaigns) == 1 and len(real_sends(emulator)) == 1


def test_a_5xx_on_create_is_not_retried_inside_the_call_but_by_the_campaign(emulator):
    """POST /campaigns may have made a campaign; the provider does not repeat it at once."""
    campaign = scheduled_discount()
    emulator.control.add_fault("5xx", path=r"/campaigns$", method="POST", count=1, status=503)
    assert campaign_send(campaign_id=campaign.pk) == S.SCHEDULED
    campaign.refresh_from_db()
    assert "503" in campaign.last_error and not campaign.provider_campaign_id
    assert campaign_send(campaign_id=campaign.pk) == S.SENT
    assert Campaign.objects.get(pk=campaign.pk).attempts == 2
    assert len(real_sends(emulator)) == 1


def test_worker_crash_after_send_requested_reconciles_from_mailchimp(emulator):
    """A worker died right after actions/send was applied: the next one reads 'sending'."""
    campaign = scheduled_discount()
    emulator.control.add_fault("answer-lost", path=r"/actions/send$", count=1, hang_seconds=0)
    # Every attempt the provider makes at reading the status fails (it retries reads briefly).
    emulator.control.add_fault("timeout", path=r"/campaigns/[^/]+$", method="GET",
                               count=PROVIDER_RETRY.max_attempts, hang_seconds=0)
    # Send applied, answer lost, status unreadable: the campaign waits in send_requested.
    assert campaign_send(campaign_id=campaign.pk) == S.SEND_REQUESTED
    assert campaign_send(campaign_id=campaign.pk) == S.SENT
    assert len(real_sends(emulator)) == 1


def test_stuck_claim_is_resumed_after_the_lease_not_restarted(emulator):
    campaign = scheduled_discount()
    claimed = campaign_claim(campaign_id=campaign.pk, worker="dead-worker", now=timezone.now())
    assert claimed.status == S.CLAIMED
    assert campaign_send(campaign_id=campaign.pk) == "in_progress"
    with time_machine.travel(timezone.now() + timedelta(minutes=3)):
        assert campaign_send(campaign_id=campaign.pk) == S.SENT
    assert len(real_sends(emulator)) == 1


def test_mailchimp_refusal_fails_with_its_reason(emulator, settings):
    emulator.emulator.state.reset(default_list_id=emulator.list_id)  # no members at all
    campaign = scheduled_discount()
    assert campaign_send(campaign_id=campaign.pk) == S.FAILED
    campaign.refresh_from_db()
    assert "not ready" in campaign.last_error and real_sends(emulator) == []


def test_announcement_goes_to_the_series_interest_only(emulator, series, other_series):
    interest = map_series_to_interest(emulator, series)
    other = map_series_to_interest(emulator, other_series, category_id=interest.category_id)
    add_members(emulator, ["follower@example.com"], interests=[interest.interest_id])
    add_members(emulator, ["other@example.com"], interests=[other.interest_id])
    part = make_part(series, title="Hips", standfirst="Why hips matter.")
    announcement = Announcement.objects.get(part=part)
    campaign = announcement_campaign_create(announcement_id=announcement.pk)
    assert campaign.status == S.SCHEDULED
    assert announcement_campaign_create(announcement_id=announcement.pk).pk == campaign.pk
    assert campaign_send(campaign_id=campaign.pk) == S.SENT
    (send,) = real_sends(emulator)
    assert send["recipients"] == ["follower@example.com"]
    assert "Hips" in send["subject"] and "Why hips matter." in send["plain_text"]
