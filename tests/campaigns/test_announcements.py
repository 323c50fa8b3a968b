"""Announcements: from the publishing branch's intent to a campaign, per-series and per-part
settings, the hand-over task and the sweep finding what a lost message left behind."""

import pytest
from django.core import mail

from pipeline.campaigns.models import (
    Campaign,
    CampaignStatus,
    PartAnnouncementOverride,
    SeriesAnnouncementSetting,
)
from pipeline.campaigns.services.sending import campaign_send, campaigns_sweep
from pipeline.publishing.models import Announcement
from pipeline.publishing.services.announcements import announcement_mark_ready
from tests.support.factories import make_part
from tests.support.subscribers import make_subscribers
from workers.tasks.campaigns import hand_over_announcement

S = CampaignStatus
pytestmark = pytest.mark.django_db


def test_hand_over_makes_a_scheduled_campaign_sent_to_followers_only(
    series, other_series, django_capture_on_commit_callbacks
):
    make_subscribers(2, series=[series], prefix="follower")
    make_subscribers(2, series=[other_series], prefix="other")
    part = make_part(series, title="Hips", standfirst="Why hips matter.")
    announcement = Announcement.objects.get(part=part)
    with django_capture_on_commit_callbacks() as queued:
        hand_over_announcement(announcement.pk)
    assert queued, "the send is queued on commit"
    campaign = Campaign.objects.get(announcement=announcement)
    assert campaign.status == S.SCHEDULED
    assert campaign_send(campaign_id=campaign.pk) == S.SENT
    assert sorted(m.to[0] for m in mail.outbox) == ["follower0@example.com",
                                                     "follower1@example.com"]
    assert "Hips" in mail.outbox[0].subject and "Why hips matter." in mail.outbox[0].body
    hand_over_announcement(announcement.pk)  # redelivered: still one campaign, nothing sent
    assert Campaign.objects.filter(announcement=announcement).count() == 1
    assert len(mail.outbox) == 2


def test_series_set_to_manual_leaves_a_draft_unless_the_part_says_always(series):
    make_subscribers(1, series=[series])
    SeriesAnnouncementSetting.objects.create(series=series, announce_automatically=False)
    manual = make_part(series, title="Manual")
    hand_over_announcement(Announcement.objects.get(part=manual).pk)
    assert Campaign.objects.get(part=manual).status == S.DRAFT

    forced = make_part(series, title="Forced", live=False)
    PartAnnouncementOverride.objects.create(part=forced, choice="always")
    forced.save_revision().publish()
    hand_over_announcement(Announcement.objects.get(part=forced).pk)
    assert Campaign.objects.get(part=forced).status == S.SCHEDULED


def test_sweep_creates_campaigns_for_ready_announcements_a_lost_message_left(series):
    make_subscribers(1, series=[series])
    part = make_part(series, title="Lost")
    announcement = Announcement.objects.get(part=part)
    announcement_mark_ready(announcement_id=announcement.pk)  # the campaign step never ran
    due = campaigns_sweep()
    campaign = Campaign.objects.get(announcement=announcement)
    assert campaign.pk in due
