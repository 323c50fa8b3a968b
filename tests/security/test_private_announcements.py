"""Issue 12, item 1 (leftover): a part behind a Wagtail view restriction (password, login or
groups, on the part or on its series) is not announced to the list. Published from the page
editor by someone who may send to the list, its announcement stays a draft naming the reason,
and a restriction added after an announcement was scheduled stops it at send time."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core import mail
from django.urls import reverse
from wagtail.models import PageViewRestriction

from cms.models import PartPage
from pipeline.campaigns.models import Campaign, CampaignStatus
from pipeline.campaigns.services.sending import campaign_send, campaigns_sweep
from pipeline.publishing.models import Announcement
from tests.support.admin_users import admin_user
from tests.support.factories import make_part, make_series
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


def restrict(page, kind):
    restriction = PageViewRestriction.objects.create(
        page=page, restriction_type=kind, password="letmein" if kind == "password" else "")
    if kind == "groups":
        restriction.groups.add(Group.objects.get_or_create(name="Members")[0])


def page_form(part, **changes):
    data = {
        "title": part.title, "slug": part.slug, "part_number": part.part_number,
        "standfirst": part.standfirst, "seo_title": "", "search_description": "",
        "go_live_at": "", "expire_at": "",
        "body-count": "1", "body-0-type": "paragraph", "body-0-deleted": "",
        "body-0-order": "0", "body-0-id": "", "body-0-value": '{"blocks": [{"key": "a", '
        '"type": "unstyled", "text": "Members only.", "depth": 0, "inlineStyleRanges": [], '
        '"entityRanges": []}], "entityMap": {}}',
        "comments-TOTAL_FORMS": "0", "comments-INITIAL_FORMS": "0",
        "comments-MIN_NUM_FORMS": "0", "comments-MAX_NUM_FORMS": "1000",
    }
    data.update(changes)
    return data


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
