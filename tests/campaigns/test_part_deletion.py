"""Deleting a part or a whole series, in code and in the admin: drafts and scheduled campaigns are
cancelled and removed with it; sent ones keep their stored copy and report, their part link
emptied; while an announcement is being sent the admin refuses and says why (issue 13)."""

import pytest
from django.contrib.messages import get_messages
from django.core import mail

from cms.models import PartPage, SeriesPage
from pipeline.campaigns.models import (
    Campaign,
    CampaignStatus,
    CampaignTransition,
    SeriesAnnouncementSetting,
)
from pipeline.campaigns.services.campaigns import campaign_report
from pipeline.campaigns.services.sending import campaign_send
from pipeline.publishing.models import Announcement
from tests.support.factories import make_part
from tests.support.subscribers import make_subscribers
from workers.tasks.campaigns import hand_over_announcement

S = CampaignStatus
pytestmark = pytest.mark.django_db


def announced(part) -> Campaign:
    """The part's announcement campaign, made as the hand-over task makes it."""
    hand_over_announcement(Announcement.objects.get(part=part).pk)
    return Campaign.objects.get(part=part)


@pytest.fixture
def sent_part(series):
    make_subscribers(2, series=[series])
    part = make_part(series, title="Sent one")
    campaign = announced(part)
    assert campaign_send(campaign_id=campaign.pk) == S.SENT
    return part


def test_deleting_a_part_removes_its_waiting_campaign_and_keeps_a_sent_ones_copy(
    series, sent_part
):
    waiting = make_part(series, title="Waiting one")
    scheduled = announced(waiting)
    assert scheduled.status == S.SCHEDULED
    sent = Campaign.objects.get(part=sent_part)
    sent_html = sent.sent_html

    PartPage.objects.get(pk=waiting.pk).delete()
    assert not Campaign.objects.filter(pk=scheduled.pk).exists()
    assert not CampaignTransition.objects.filter(campaign_id=scheduled.pk).exists()

    PartPage.objects.get(pk=sent_part.pk).delete()
    sent.refresh_from_db()
    assert sent.status == S.SENT and sent.part_id is None and sent.announcement_id is None
    assert sent.sent_html == sent_html and "Sent one" in sent.sent_subject
    assert campaign_report(campaign=sent)["available"]
    assert sent.transitions.last().reason.startswith("Its part was deleted")


def test_deleting_a_series_with_parts_and_campaigns_works(series, sent_part):
    draft_part = make_part(series, title="Draft one")
    SeriesAnnouncementSetting.objects.create(series=series, announce_automatically=False)
    draft = announced(draft_part)
    assert draft.status == S.DRAFT
    sent = Campaign.objects.get(part=sent_part)

    SeriesPage.objects.get(pk=series.pk).delete()
    assert not PartPage.objects.filter(pk__in=[sent_part.pk, draft_part.pk]).exists()
    assert not Campaign.objects.filter(pk=draft.pk).exists()
    sent.refresh_from_db()
    assert sent.status == S.SENT and sent.part_id is None and sent.sent_text


def test_a_campaign_claimed_just_before_its_part_was_deleted_ends_cancelled(series):
    make_subscribers(1, series=[series])
    part = make_part(series, title="Raced")
    campaign = announced(part)
    # A worker claimed it a moment before the editor's delete committed, then its lease ran out.
    Campaign.objects.filter(pk=campaign.pk).update(status=S.CLAIMED, claimed_until=None)
    PartPage.objects.get(pk=part.pk).delete()
    campaign.refresh_from_db()
    assert campaign.status == S.CLAIMED and campaign.part_id is None
    assert campaign_send(campaign_id=campaign.pk) == S.CANCELLED
    assert mail.outbox == []


def test_a_lost_hand_over_of_a_deleted_part_is_a_no_op(series):
    part = make_part(series, title="Gone before hand-over")
    announcement_id = Announcement.objects.get(part=part).pk
    PartPage.objects.get(pk=part.pk).delete()
    assert hand_over_announcement(announcement_id) is None
    assert not Campaign.objects.exists()


# -- the admin ---------------------------------------------------------------------------------
def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_admin_delete_of_a_part_says_what_happens_to_its_campaigns_and_does_it(
    admin_client, series, sent_part
):
    url = f"/admin/pages/{sent_part.pk}/delete/"
    page = admin_client.get(url)
    assert page.status_code == 200
    text = page.content.decode()
    assert "1 sent campaign keeps its stored copy and report" in text

    response = admin_client.post(url)
    assert response.status_code == 302, response.content[:500]
    assert not PartPage.objects.filter(pk=sent_part.pk).exists()
    assert any("1 sent campaign keeps its stored copy and report" in m
               for m in _messages(response))


def test_admin_delete_of_a_series_counts_every_parts_campaigns(admin_client, series, sent_part):
    waiting = make_part(series, title="Waiting one")
    announced(waiting)
    page = admin_client.get(f"/admin/pages/{series.pk}/delete/").content.decode()
    assert "1 scheduled campaign is cancelled and removed" in page
    assert "1 sent campaign keeps its stored copy and report" in page
    response = admin_client.post(f"/admin/pages/{series.pk}/delete/")
    assert response.status_code == 302
    assert not SeriesPage.objects.filter(pk=series.pk).exists()
    assert Campaign.objects.filter(status=S.SENT, part__isnull=True).count() == 1
    assert not Campaign.objects.exclude(status=S.SENT).exists()


def test_admin_refuses_to_delete_a_part_whose_announcement_is_being_sent(admin_client, series):
    make_subscribers(1, series=[series])
    part = make_part(series, title="Sending now")
    campaign = announced(part)
    Campaign.objects.filter(pk=campaign.pk).update(status=S.SEND_REQUESTED)
    response = admin_client.post(f"/admin/pages/{part.pk}/delete/")
    assert PartPage.objects.filter(pk=part.pk).exists()
    assert response.status_code == 302
    assert any("is being sent right now" in m for m in _messages(response))
