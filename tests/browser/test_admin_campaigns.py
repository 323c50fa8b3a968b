"""End to end in a real browser (Playwright with Debian's chromium, headless): an editor creates a
discount campaign with a reminder, previews it, sends a test, sends it; the worker's service sends
it to the Mailchimp emulator; the admin shows it sent with its report. Screenshots go to
test-artifacts/. The offer itself is made by the factory (the Offer snippet has its own tests)."""

import pytest

from pipeline.campaigns.models import Campaign, CampaignStatus, CampaignTestAddress
from pipeline.campaigns.services.sending import campaign_send
from tests.support.factories import make_offer, make_series
from tests.support.mailchimp import add_members, real_sends, use_emulator

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_editor_builds_previews_tests_and_sends_a_discount_campaign(
    logged_in, live_server, screenshot, settings, mailchimp_emulator
):
    use_emulator(settings, mailchimp_emulator)
    add_members(mailchimp_emulator, ["a@example.com", "b@example.com"])
    make_series(title="Moving Well", slug="moving-well")
    CampaignTestAddress.objects.create(email="proof@example.com")
    offer = make_offer(code="corrective", percent_off=35, name="Corrective week")
    page = logged_in

    page.goto(f"{live_server.url}/admin/snippets/campaigns/campaign/add/")
    page.fill("#id_name", "Corrective week")
    page.click("text=Choose offer")
    page.click(f"a:has-text('{offer.name}')")
    page.fill("#id_reminder_hours", "24")
    page.click("button[type=submit]:has-text('Save')")
    page.wait_for_url("**/admin/campaigns/*/")
    page.wait_for_selector("#preview-desktop")
    screenshot("campaign-preview")
    assert "35% off" in page.frame_locator("#preview-desktop").locator("body").inner_text()

    page.click("#test-form button")
    page.wait_for_selector("text=Test sent to proof@example.com")
    page.click("button[value=send_now]")
    page.wait_for_selector("text=is scheduled for")

    campaign = Campaign.objects.get(name="Corrective week")
    assert campaign_send(campaign_id=campaign.pk) == CampaignStatus.SENT  # the worker
    mailchimp_emulator.control.set_report(
        Campaign.objects.get(pk=campaign.pk).provider_campaign_id, unique_opens=1,
        unique_clicks=1)
    page.reload()
    assert "Status: Sent" in page.inner_text("#campaign-status")
    assert "sent to 2" in page.inner_text("#campaign-report")
    screenshot("campaign-sent")
    assert len(real_sends(mailchimp_emulator)) == 1
