"""The rules of bounces and complaints, one home (services/events.py), and where they show."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from pipeline.audience.services.sync import audience_sync
from pipeline.campaigns.services.campaigns import campaign_create_discount, campaign_report
from pipeline.deliverability.models import DeliverabilityEvent, EventKind, EventSource
from pipeline.deliverability.services.events import Report, event_record
from pipeline.subscribers.models import ConsentKind, SubscriberStatus
from tests.support.bounces import delivered
from tests.support.factories import make_offer
from tests.support.mailchimp import fast_client
from tests.support.subscribers import make_subscribers

pytestmark = pytest.mark.django_db
K = EventKind


def _soft(delivery, *, key, days_ago=0):
    return event_record(source=EventSource.POSTMARK, report=Report(
        kind=K.SOFT_BOUNCE, key=key, delivery_id=delivery.pk, status="4.2.2",
        occurred_at=timezone.now() - timedelta(days=days_ago)))


def _campaign(code: str):
    return campaign_create_discount(offer=make_offer(code=code), name=code, send_at=None)


def test_soft_bounces_clean_only_past_the_limit_within_the_window(settings, sent_campaign):
    settings.BOUNCE_SOFT_LIMIT, settings.BOUNCE_SOFT_WINDOW = 3, timedelta(days=30)
    (reader,) = make_subscribers(1)
    old = delivered(sent_campaign, reader)
    assert _soft(old, key="a", days_ago=50).outcome == "Soft bounce 1 of 3 within 30 days."
    # A second report about the same delivery counts once.
    assert _soft(old, key="a2", days_ago=49).outcome == "Soft bounce 1 of 3 within 30 days."
    # 10 days ago: the reports of 50 and 49 days ago are outside its window.
    assert _soft(delivered(_campaign("b"), reader), key="b", days_ago=10).outcome \
        == "Soft bounce 1 of 3 within 30 days."
    assert _soft(delivered(_campaign("c"), reader), key="c", days_ago=5).outcome \
        == "Soft bounce 2 of 3 within 30 days."
    reader.refresh_from_db()
    assert reader.status == SubscriberStatus.SUBSCRIBED
    assert _soft(delivered(_campaign("d"), reader), key="d", days_ago=1).outcome \
        == "Cleaned: 3 soft bounces within 30 days."
    reader.refresh_from_db()
    assert reader.status == SubscriberStatus.CLEANED
    assert not reader.consents.exists()  # cleaned is not a consent choice: the event says why


def test_a_hard_bounce_cleans_even_an_unsubscribed_address_and_a_complaint_after_keeps_it(
        sent_campaign):
    (reader,) = make_subscribers(1, status=SubscriberStatus.UNSUBSCRIBED)
    delivery = delivered(sent_campaign, reader)
    hard = event_record(source=EventSource.SES, report=Report(
        kind=K.HARD_BOUNCE, key="h", delivery_id=delivery.pk, status="5.1.1"))
    assert hard.outcome == "Cleaned: hard bounce."
    assert event_record(source=EventSource.SES, report=Report(
        kind=K.HARD_BOUNCE, key="h", delivery_id=delivery.pk)) is None  # recorded once
    complaint = event_record(source=EventSource.SES, report=Report(
        kind=K.COMPLAINT, key="c", delivery_id=delivery.pk))
    assert complaint.outcome == "Already cleaned: spam complaint noted."
    reader.refresh_from_db()
    assert reader.status == SubscriberStatus.CLEANED


def test_a_complaint_unsubscribes_with_a_withdrawn_consent_saying_why(sent_campaign):
    (reader,) = make_subscribers(1)
    event_record(source=EventSource.POSTMARK, report=Report(
        kind=K.COMPLAINT, key="1", delivery_id=delivered(sent_campaign, reader).pk))
    reader.refresh_from_db()
    consent = reader.consents.get()
    assert reader.status == SubscriberStatus.UNSUBSCRIBED
    assert consent.kind == ConsentKind.WITHDRAWN
    assert consent.note == (f"Marked our email as spam about campaign {sent_campaign.pk} "
                            "(Postmark webhook complaint report): unsubscribed.")


def test_a_cleaned_reader_is_suppressed_in_mailchimp_and_never_re_added(
        sync_audience, mailchimp_settings, sent_campaign):
    (reader,) = make_subscribers(1)
    sync_audience()
    client = fast_client()
    assert {m["email_address"]: m["status"] for m in client.iter_members()} == {
        reader.email: "subscribed"}
    event_record(source=EventSource.MAILBOX, report=Report(
        kind=K.HARD_BOUNCE, key="m", delivery_id=delivered(sent_campaign, reader).pk))
    sync_audience()
    sync_audience()  # and again: the pull does not bring them back either
    assert {m["email_address"]: m["status"] for m in client.iter_members()} == {
        reader.email: "unsubscribed"}
    reader.refresh_from_db()
    assert reader.status == SubscriberStatus.CLEANED


@pytest.fixture
def sync_audience(mailchimp_settings):
    return lambda: audience_sync(client_factory=fast_client, outage_sleep=lambda seconds: None)


def test_events_show_on_the_subscriber_and_in_the_campaign_report(client, sent_campaign):
    user = get_user_model().objects.create_superuser("ops", "ops@example.com", "pw")
    client.force_login(user)
    (reader,) = make_subscribers(1)
    event_record(source=EventSource.MAILBOX, report=Report(
        kind=K.HARD_BOUNCE, key="m", status="5.1.1",
        delivery_id=delivered(sent_campaign, reader).pk))
    inspect = client.get(reverse("wagtailsnippets_subscribers_subscriber:inspect",
                                 args=[reader.pk]))
    assert inspect.status_code == 200
    assert b"hard bounce 5.1.1 (Bounce mailbox): Cleaned: hard bounce." in inspect.content
    listing = client.get(reverse("wagtailsnippets_deliverability_deliverabilityevent:list"))
    assert listing.status_code == 200 and reader.email.encode() in listing.content
    sections = campaign_report(campaign=sent_campaign)["sections"]
    assert {"title": "Bounces and complaints", "lines": [
        ("bounced (hard)", 1), ("bounced (soft)", 0), ("complained", 0)]} in sections
    page = client.get(reverse("pipeline_campaign_manage", args=[sent_campaign.pk]))
    assert b"Bounces and complaints:" in page.content and b"bounced (hard) <strong>1" \
        in page.content
    assert DeliverabilityEvent.objects.count() == 1
