"""Issue 12, item 12: consent and sending rules. Each test is the attack (or the slip) over HTTP
where there is one, then the worker's own services, asserting nothing reached anybody.

The rules (README, Campaigns and "The mailing list"): a last-chance reminder goes only after its
discount campaign was sent (it follows the discount when that ends expired, failed or
cancelled); what goes out is the copy approved when the campaign was scheduled, and a campaign
whose content changed since (an offer editor's change) goes back to draft for a sender; a
subscriber still pending with us is not pushed to Mailchimp.
"""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from pipeline.audience.services.sync import audience_sync
from pipeline.campaigns.models import Campaign, CampaignStatus
from pipeline.campaigns.services.campaigns import campaign_create_discount
from pipeline.campaigns.services.sending import campaign_send, campaigns_sweep
from pipeline.subscribers.models import Subscriber
from pipeline.subscribers.services import subscriber_unsubscribe
from tests.support.admin_users import admin_user
from tests.support.factories import make_offer
from tests.support.mailchimp import fast_client
from tests.support.subscribers import confirm_path_from_outbox, make_subscribers, subscribe

S = CampaignStatus
pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SENDER = ("campaigns.add_campaign", "campaigns.change_campaign", "campaigns.view_campaign",
          "campaigns.send_campaign")


@pytest.fixture
def clock(settings):
    settings.EMAIL_PROVIDER = "local"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def scheduled_by_a_sender(client, *, reminder=True) -> Campaign:
    """A discount (offer ends in three days; reminder a day before) sent now (at T0) by someone
    with the send permission, from the campaign page; the worker has not run yet."""
    offer = make_offer(code="corrective", percent_off=35, ends_in=timedelta(days=3),
                       landing_url="https://shop.example.com/corrective")
    campaign = campaign_create_discount(
        offer=offer, name="Corrective week", send_at=None,
        reminder_before=timedelta(hours=24) if reminder else None)
    client.force_login(admin_user("sender", permissions=SENDER))
    response = client.post(reverse("pipeline_campaign_action", args=[campaign.pk]),
                           {"action": "send_now"}, follow=True)
    assert "is scheduled for" in response.content.decode()
    return campaign


def run_worker() -> None:
    """What beat and the mail worker do: the sweep, and a send for each campaign due."""
    for campaign_id in campaigns_sweep():
        campaign_send(campaign_id=campaign_id)


def test_a_reminder_is_not_sent_after_its_discount_expired_unsent(client, series, clock):
    make_subscribers(2)
    campaign = scheduled_by_a_sender(client)
    reminder = campaign.reminders.get()
    assert reminder.status == S.SCHEDULED

    clock.move_to(T0 + timedelta(hours=2))  # the workers were down: the discount is overdue
    run_worker()
    campaign.refresh_from_db()
    assert campaign.status == S.EXPIRED
    clock.move_to(reminder.send_at + timedelta(minutes=1))
    run_worker()

    reminder.refresh_from_db()
    assert mail.outbox == [] and reminder.status == S.CANCELLED
    assert "expired" in reminder.transitions.last().reason


def test_a_reminder_is_not_sent_after_its_discount_failed(client, series, clock):
    (early,) = make_subscribers(1, prefix="early")
    campaign = scheduled_by_a_sender(client)
    reminder = campaign.reminders.get()
    subscriber_unsubscribe(subscriber_id=early.pk)  # the list is empty at send time

    clock.move_to(T0 + timedelta(minutes=1))
    run_worker()
    campaign.refresh_from_db()
    assert campaign.status == S.FAILED
    make_subscribers(2, prefix="late")  # readers who never had the discount email
    clock.move_to(reminder.send_at + timedelta(minutes=1))
    run_worker()

    reminder.refresh_from_db()
    assert mail.outbox == [] and reminder.status == S.CANCELLED


def test_an_offer_editor_cannot_change_what_a_sender_approved(client, series, clock):
    make_subscribers(2)
    campaign = scheduled_by_a_sender(client, reminder=False)
    offer = campaign.offer
    client.force_login(admin_user("offers", permissions=(
        "cms.change_offer", "cms.publish_offer", "cms.view_offer")))

    edit = client.post(reverse("wagtailsnippets_cms_offer:edit", args=[offer.pk]), {
        "name": offer.name, "code": "HIJACKED", "percent_off": "90",
        "starts_at": f"{offer.starts_at:%Y-%m-%d %H:%M}",
        "ends_at": f"{offer.ends_at:%Y-%m-%d %H:%M}",
        "landing_url": "https://evil.example.net/", "terms": "",
        "action-publish": "action-publish",
    })
    assert edit.status_code == 302
    offer.refresh_from_db()
    assert offer.code == "HIJACKED"  # the offer editor may change the offer itself
    clock.move_to(T0 + timedelta(minutes=1))
    run_worker()

    campaign.refresh_from_db()
    assert mail.outbox == [] and campaign.status == S.DRAFT
    assert "changed" in campaign.transitions.last().reason

    # The honest way on: a sender looks again and schedules the new copy.
    client.force_login(get_user_model().objects.get(username="sender"))
    scheduled_again = client.post(reverse("pipeline_campaign_action", args=[campaign.pk]),
                                  {"action": "send_now"})
    assert scheduled_again.status_code == 302
    run_worker()
    assert len(mail.outbox) == 2 and "HIJACKED" in mail.outbox[0].body


def test_an_address_subscribed_by_someone_else_gets_no_confirmation_from_mailchimp(
        client, series, mailchimp_settings, settings):
    """Anyone can ask us to subscribe any address; only our own confirmation may reach it. Pushed
    to Mailchimp as pending, Mailchimp would mail its own confirmation on top of ours."""
    assert subscribe(client, "victim@example.net").status_code == 202

    summary = sync()

    assert "victim@example.net" not in {m["email_address"] for m in fast_client().iter_members()}
    assert summary.members_sent == 0

    # Once its owner confirms with us, the address is sent, subscribed.
    client.post(confirm_path_from_outbox())
    assert Subscriber.objects.get(email="victim@example.net").status == "subscribed"
    Subscriber.objects.update(status_changed_at=timezone.now())
    sync()
    member = fast_client().get_member("victim@example.net")
    assert member["status"] == "subscribed"


def sync():
    return audience_sync(client_factory=fast_client, outage_sleep=lambda seconds: None)
