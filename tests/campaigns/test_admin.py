"""The campaigns area in the Wagtail admin: create, preview, test, schedule, cancel, permission."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.core import mail
from django.urls import reverse
from wagtail.test.utils.form_data import rich_text

from pipeline.campaigns.models import Campaign, CampaignStatus, CampaignTestAddress
from pipeline.campaigns.services.announcements import announcement_campaign_create
from pipeline.publishing.models import Announcement
from tests.support.factories import make_offer, make_part
from tests.support.subscribers import make_subscribers

S = CampaignStatus
pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = User.objects.create_superuser("chief", "chief@example.com", "pw")
    client.force_login(user)
    return client


@pytest.fixture
def writer_client(client):
    """An editor who may write campaigns but not send them to the list."""
    user = User.objects.create_user("writer", "writer@example.com", "pw")
    group = Group.objects.create(name="Campaign writers")
    group.permissions.add(*Permission.objects.filter(
        codename__in=["access_admin", "add_campaign", "change_campaign", "view_campaign"]))
    user.groups.add(group)
    client.force_login(user)
    return client


def _create(client, offer, **extra):
    data = {"name": "Corrective week", "offer": offer.pk, "send_at": "", "reminder_hours": "24",
            "audience": "all", "subject": "", "preheader": "",
            "message": rich_text("<p>Dear reader, *|FNAME|* a treat.</p>"), **extra}
    return client.post(reverse("wagtailsnippets_campaigns_campaign:add"), data)


def test_editor_creates_previews_tests_and_schedules_once(admin_client, series):
    make_subscribers(3)
    CampaignTestAddress.objects.create(email="proof@example.com")
    offer = make_offer(code="corrective", percent_off=35)
    response = _create(admin_client, offer)
    campaign = Campaign.objects.get()
    assert response.status_code == 302, response.content[:2000]
    manage = reverse("pipeline_campaign_manage", args=[campaign.pk])
    assert response["Location"] == manage
    assert campaign.reminder_before.total_seconds() == 24 * 3600

    page = admin_client.get(manage)
    assert page.status_code == 200
    body = page.content.decode()
    assert 'id="preview-desktop"' in body and 'id="preview-phone"' in body
    assert "corrective" in body and "ends" in body
    html = admin_client.get(reverse("pipeline_campaign_preview", args=[campaign.pk]))
    assert b"35% off" in html.content and b"*|UNSUB|*" not in html.content
    assert "*|FNAME|*" in campaign.message  # the merge tag survived the rich text editor

    action = reverse("pipeline_campaign_action", args=[campaign.pk])
    admin_client.post(action, {"action": "test", "test_address": ["proof@example.com"]})
    assert [m.to for m in mail.outbox] == [["proof@example.com"]]
    assert mail.outbox[0].subject.startswith("[Test]")

    first = admin_client.post(action, {"action": "send_now"}, follow=True)
    second = admin_client.post(action, {"action": "send_now"}, follow=True)
    assert "is scheduled for" in first.content.decode()
    assert "already scheduled; nothing was changed" in second.content.decode()
    campaign.refresh_from_db()
    assert campaign.status == S.SCHEDULED
    assert campaign.transitions.filter(to_status=S.SCHEDULED).count() == 1
    assert campaign.reminders.get().status == S.SCHEDULED

    cancel = admin_client.post(action, {"action": "cancel"}, follow=True)
    assert "is cancelled" in cancel.content.decode()
    campaign.refresh_from_db()
    assert campaign.status == S.CANCELLED
    assert campaign.reminders.get().status == S.CANCELLED
    log = admin_client.get(manage).content.decode()
    assert "Cancelled by an editor." in log and "chief" in log


def test_sending_to_the_list_needs_its_own_permission(writer_client, series):
    make_subscribers(1)
    offer = make_offer(code="corrective")
    assert _create(writer_client, offer, reminder_hours="").status_code == 302
    campaign = Campaign.objects.get()
    response = writer_client.post(reverse("pipeline_campaign_action", args=[campaign.pk]),
                                  {"action": "send_now"}, follow=True)
    assert "not send them to the list" in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.status == S.DRAFT


def test_blocked_campaign_shows_why(admin_client, series):
    offer = make_offer(code="corrective")
    _create(admin_client, offer, reminder_hours="")  # nobody is subscribed
    campaign = Campaign.objects.get()
    body = admin_client.get(reverse("pipeline_campaign_manage", args=[campaign.pk])).content
    assert b"The audience is empty" in body


def test_part_editor_shows_its_announcement(admin_client, series):
    make_subscribers(1, series=[series])
    part = make_part(series, title="Hips")

    announcement_campaign_create(announcement_id=Announcement.objects.get(part=part).pk)
    body = admin_client.get(reverse("wagtailadmin_pages:edit", args=[part.pk])).content.decode()
    assert "Open the announcement" in body and "Scheduled" in body


def test_scheduling_at_a_time_typed_in_the_admin(admin_client, series):
    make_subscribers(1)
    offer = make_offer(code="corrective")
    _create(admin_client, offer, reminder_hours="")
    campaign = Campaign.objects.get()
    when = (offer.starts_at + timedelta(hours=2)).replace(second=0, microsecond=0)
    response = admin_client.post(reverse("pipeline_campaign_action", args=[campaign.pk]),
                                 {"action": "schedule", "send_at": f"{when:%Y-%m-%d %H:%M}"},
                                 follow=True)
    assert "is scheduled for" in response.content.decode()
    campaign.refresh_from_db()
    assert (campaign.status, campaign.send_at) == (S.SCHEDULED, when)
