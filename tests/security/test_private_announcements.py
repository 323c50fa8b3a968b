"""Issue 12, item 1 (leftover): a part behind a Wagtail view restriction (password, login or
groups, on the part or on its series) is not announced to the list. Published from the page
editor by someone who may send to the list, its announcement stays a draft naming the reason,
and a restriction added after an announcement was scheduled stops it at send time."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from cms.models import PartPage
from pipeline.campaigns.models import Campaign, CampaignStatus
from pipeline.campaigns.services.sending import campaign_send, campaigns_sweep
from pipeline.publishing.models import Announcement
from tests.support.admin_users import admin_user
from tests.support.factories import make_part, make_series
from tests.support.pages import page_form, restrict
from tests.support.subscribers import make_subscribers
from workers.tasks.campaigns import hand_over_announcement

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
SENDER = ("campaigns.add_campaign", "campaigns.change_campaign", "campaigns.view_campaign",
          "campaigns.send_campaign")


@pytest.fixture(autouse=True)
def clock(settings):
    settings.EMAIL_PROVIDER = "local"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def series():
    series = make_series(title="Members' Corner", slug="members-corner")
    make_subscribers(2, series=[series])
    return series




def run_worker():
    for announcement in Announcement.objects.all():
        hand_over_announcement(announcement.pk)
    for campaign_id in campaigns_sweep():
        campaign_send(campaign_id=campaign_id)


def publish_from_the_editor(client, part):
    client.force_login(admin_user("moderator", groups=["Moderators"], permissions=SENDER))
    response = client.post(reverse("wagtailadmin_pages:edit", args=[part.pk]),
                           page_form(part, **{"action-publish": "action-publish"}))
    assert response.status_code == 302
    run_worker()
    assert PartPage.objects.get(pk=part.pk).live


@pytest.mark.parametrize("kind", ["password", "login", "groups"])
@pytest.mark.parametrize("restricted", ["part", "series"])
def test_a_restricted_part_is_not_announced_to_the_list(client, series, kind, restricted):
    part = make_part(series, live=False, title="For members only")
    restrict(part if restricted == "part" else series, kind)

    publish_from_the_editor(client, part)

    campaign = Campaign.objects.get(part=part)
    assert mail.outbox == []
    assert campaign.status == CampaignStatus.DRAFT
    assert "not public" in campaign.transitions.last().reason


def test_a_restriction_added_after_scheduling_stops_the_send(client, series, clock):
    part = make_part(series, live=False, title="Soon for members only")
    client.force_login(admin_user("moderator", groups=["Moderators"], permissions=SENDER))
    client.post(reverse("wagtailadmin_pages:edit", args=[part.pk]),
                page_form(part, **{"action-publish": "action-publish"}))
    for announcement in Announcement.objects.all():
        hand_over_announcement(announcement.pk)  # scheduled for now; the worker has not run
    campaign = Campaign.objects.get(part=part)
    assert campaign.status == CampaignStatus.SCHEDULED
    restrict(series, "login")
    clock.move_to(T0 + timedelta(seconds=5))

    for campaign_id in campaigns_sweep():
        campaign_send(campaign_id=campaign_id)

    campaign.refresh_from_db()
    assert mail.outbox == []
    assert campaign.status in (CampaignStatus.FAILED, CampaignStatus.DRAFT)
    assert "not public" in campaign.transitions.last().reason
