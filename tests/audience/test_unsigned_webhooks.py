"""Mailchimp's own list webhooks are unsigned: the honest flows with only the URL's secret.

An unsigned event may take away (unsubscribe, cleaned, series dropped) and is applied as a signed
one would be; what it would grant (subscribe, series added, a new address) becomes a subscribe
request answered by our confirmation email, and the member's click applies it."""

import pytest
from django.core import mail

from pipeline.audience.models import MailchimpSeriesInterest, WebhookOutcome
from pipeline.subscribers.models import ConsentKind, ConsentRecord, Subscriber, SubscriberStatus
from tests.support.mailchimp import WEBHOOK_URL, use_unsigned_webhooks, webhook_body
from tests.support.subscribers import confirm_path_from_outbox, deliver_confirmations, make_member
from tests.support.subscribers import confirmations_requested as queued

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _unsigned(settings):
    use_unsigned_webhooks(settings)


@pytest.fixture
def interests(series, other_series):
    for n, mapped in enumerate((series, other_series)):
        MailchimpSeriesInterest.objects.create(series=mapped, category_id="cat1",
                                               interest_id=f"i{n}", interest_name=mapped.title)


def post(client, event_type, fired_at="2026-11-20 10:00:00", **data):
    """Post one event and run the confirmation emails it queued, as the mail worker would."""
    with queued() as requested:
        answer = client.post(WEBHOOK_URL, webhook_body(event_type, fired_at, **data),
                             content_type="application/x-www-form-urlencoded")
    deliver_confirmations(requested)
    assert answer.status_code == 200, answer.content
    return answer.json()["outcome"]


def test_a_mailchimp_signup_is_confirmed_by_our_email_then_subscribed(client, interests):
    assert post(client, "subscribe", email="Ann@Example.com", ip_opt="10.20.10.30",
                **{"merges][INTERESTS": "Eating Well"}) == WebhookOutcome.UNVERIFIED
    subscriber = Subscriber.objects.get()
    assert (subscriber.email, subscriber.status) == ("ann@example.com", SubscriberStatus.PENDING)
    given = ConsentRecord.objects.get()
    assert (given.kind, given.source, given.requested_series) == (
        ConsentKind.GIVEN, "mailchimp", ["eating-well"])
    assert mail.outbox[0].to == ["ann@example.com"]
    client.post(confirm_path_from_outbox())
    subscriber.refresh_from_db()
    assert subscriber.status == SubscriberStatus.SUBSCRIBED
    assert list(subscriber.series.values_list("slug", flat=True)) == ["eating-well"]


def test_unsubscribe_and_cleaned_apply_at_once(client):
    make_member()
    assert post(client, "unsubscribe", email="ann@example.com") == WebhookOutcome.APPLIED
    assert Subscriber.objects.get().status == SubscriberStatus.UNSUBSCRIBED
    assert post(client, "cleaned", "2026-11-20 11:00:00",
                email="ann@example.com") == WebhookOutcome.APPLIED
    assert Subscriber.objects.get().status == SubscriberStatus.CLEANED
    assert not mail.outbox


def test_a_profile_drops_series_at_once_and_asks_before_adding(client, series, interests):
    member = make_member("ann@example.com", series)
    assert post(client, "profile", email="ann@example.com",
                **{"merges][INTERESTS": "Eating Well"}) == WebhookOutcome.UNVERIFIED
    assert not member.series.exists()  # Moving Well dropped
    assert "add series" in mail.outbox[-1].body
    client.post(confirm_path_from_outbox())
    assert list(member.series.values_list("slug", flat=True)) == ["eating-well"]


def test_a_changed_address_is_asked_to_confirm_and_the_old_one_stays(client, series):
    member = make_member("ann@example.com", series)
    assert post(client, "upemail", old_email="ann@example.com",
                new_email="ann@new.example") == WebhookOutcome.UNVERIFIED
    member.refresh_from_db()
    assert (member.email, member.status) == ("ann@example.com", SubscriberStatus.SUBSCRIBED)
    assert mail.outbox[-1].to == ["ann@new.example"]
    client.post(confirm_path_from_outbox())
    new = Subscriber.objects.get(email="ann@new.example")
    assert new.status == SubscriberStatus.SUBSCRIBED
    assert list(new.series.values_list("slug", flat=True)) == ["moving-well"]
