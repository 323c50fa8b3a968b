"""Issue 12, item 3 (and item 11's campaign edit view): who may preview a campaign and send a
test. Each test is the attack over HTTP with a real Wagtail user, asserting it is refused and that
nothing was mailed, logged or saved.

The rules (README, Campaigns): the campaign page and its previews need a campaign permission
(view or change); a test needs the change permission and goes only to the saved test addresses,
at most five at once; the saved list is kept by people with the send permission.
"""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse

from pipeline.campaigns.models import Campaign, CampaignTestAddress
from pipeline.campaigns.services.campaigns import campaign_create_discount, campaign_schedule
from tests.support.admin_users import admin_user, refused
from tests.support.factories import make_offer
from tests.support.subscribers import make_subscribers

pytestmark = pytest.mark.django_db

SECRET_CODE = "unreleased-code"
WRITER_PERMISSIONS = ("campaigns.add_campaign", "campaigns.change_campaign",
                      "campaigns.view_campaign")


@pytest.fixture(autouse=True)
def _local_email(settings):
    settings.EMAIL_PROVIDER = "local"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def secret_sale() -> Campaign:
    """A draft discount about an offer that has not started: its code is not public yet."""
    offer = make_offer(code=SECRET_CODE, name="Winter sale", starts_in=timedelta(days=3),
                       ends_in=timedelta(days=9))
    return campaign_create_discount(offer=offer, name="Secret winter sale", send_at=None)


def action(campaign: Campaign) -> str:
    return reverse("pipeline_campaign_action", args=[campaign.pk])


def logged_tests(campaign: Campaign) -> int:
    return campaign.transitions.filter(reason__startswith="Test sent").count()


def test_an_editor_cannot_mail_a_campaign_to_addresses_of_their_choosing(client, series):
    campaign = secret_sale()
    client.force_login(admin_user("ed", groups=["Editors"]))
    victims = [f"victim{n}@example.net" for n in range(990)]  # Django's cap is 1,000 fields

    response = client.post(action(campaign), {"action": "test", "test_address": victims})

    assert mail.outbox == [] and logged_tests(campaign) == 0
    assert refused(response)


def test_a_campaign_writer_cannot_send_a_test_outside_the_saved_addresses(client, series):
    campaign = secret_sale()
    CampaignTestAddress.objects.create(email="proof@example.com")
    client.force_login(admin_user("writer", permissions=WRITER_PERMISSIONS))

    response = client.post(action(campaign), {
        "action": "test", "test_address": ["proof@example.com", "stranger@example.net"]},
        follow=True)

    assert mail.outbox == [] and logged_tests(campaign) == 0
    assert "only to the saved test addresses" in response.content.decode()


def test_a_campaign_writer_cannot_send_a_test_to_more_than_five_addresses(client, series):
    campaign = secret_sale()
    saved = [f"team{n}@example.com" for n in range(7)]
    CampaignTestAddress.objects.bulk_create(CampaignTestAddress(email=e) for e in saved)
    client.force_login(admin_user("writer", permissions=WRITER_PERMISSIONS))

    response = client.post(action(campaign), {"action": "test", "test_address": saved},
                           follow=True)

    assert mail.outbox == [] and logged_tests(campaign) == 0
    assert "at most 5 addresses" in response.content.decode()


def test_only_a_sender_may_add_a_test_address(client, series):
    """Granting a writer the test-address model permissions is not enough: the list decides who
    receives unreleased content, so it needs the send permission too."""
    client.force_login(admin_user("writer", permissions=(
        *WRITER_PERMISSIONS, "campaigns.add_campaigntestaddress",
        "campaigns.change_campaigntestaddress", "campaigns.view_campaigntestaddress")))

    response = client.post(reverse("wagtailsnippets_campaigns_campaigntestaddress:add"),
                           {"email": "list-of-strangers@example.net", "note": ""})

    assert not CampaignTestAddress.objects.exists()
    assert refused(response)


def test_an_editor_cannot_read_an_unreleased_code_in_a_campaign_preview(client, series):
    campaign = secret_sale()
    client.force_login(admin_user("ed", groups=["Editors"]))

    preview = client.get(reverse("pipeline_campaign_preview", args=[campaign.pk]))
    page = client.get(reverse("pipeline_campaign_manage", args=[campaign.pk]))

    assert SECRET_CODE.encode() not in preview.content + page.content
    assert refused(preview) and refused(page)


def test_the_campaign_edit_view_names_no_campaign_before_the_permission_check(client, series):
    make_subscribers(1)
    campaign = secret_sale()
    campaign.offer.starts_at -= timedelta(days=4)  # started, so it can be scheduled
    campaign.offer.save()
    assert campaign_schedule(campaign=campaign, send_at=campaign.offer.starts_at + timedelta(
        days=5), actor="sender").ok
    client.force_login(admin_user("ed", groups=["Editors"]))

    edit = client.get(reverse("wagtailsnippets_campaigns_campaign:edit", args=[campaign.pk]))
    dashboard = client.get(reverse("wagtailadmin_home"))

    assert b"Secret winter sale" not in edit.content + dashboard.content
    assert refused(edit)


def test_a_campaign_writer_still_previews_and_tests_to_the_saved_addresses(client, series):
    """The honest flow: a writer (no send permission) previews and tests a draft."""
    campaign = secret_sale()
    CampaignTestAddress.objects.create(email="proof@example.com")
    client.force_login(admin_user("writer", permissions=WRITER_PERMISSIONS))

    preview = client.get(reverse("pipeline_campaign_preview", args=[campaign.pk]))
    response = client.post(action(campaign), {"action": "test",
                                              "test_address": ["proof@example.com"]},
                           follow=True)

    assert preview.status_code == 200 and SECRET_CODE.encode() in preview.content
    assert "Test sent to proof@example.com" in response.content.decode()
    assert [m.to for m in mail.outbox] == [["proof@example.com"]]


def test_no_chooser_lists_campaign_names_to_an_editor(client, series):
    secret_sale()
    client.force_login(admin_user("ed", groups=["Editors"]))

    response = client.get("/admin/snippets/choose/campaigns/campaign/")

    assert b"Secret winter sale" not in response.content
    assert response.status_code in (302, 403, 404)
