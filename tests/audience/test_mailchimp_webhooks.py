import base64
import hashlib
import hmac
import itertools
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.utils import timezone

from pipeline.audience.models import MailchimpSeriesInterest, MailchimpWebhookEvent, WebhookOutcome
from pipeline.subscribers.models import ConsentKind, ConsentRecord, Subscriber, SubscriberStatus
from pipeline.subscribers.services import subscriber_unsubscribe

pytestmark = pytest.mark.django_db

SECRET = "s3cret-path-Segment"
URL = f"/hooks/mailchimp/{SECRET}/"
SIGNING_KEY = "signing-key"


@pytest.fixture(autouse=True)
def _webhook_settings(settings):
    """Signed webhooks, applied in full; tests/audience/test_unsigned_webhooks.py covers unsigned
    ones (Mailchimp's own list webhooks), which may only take away."""
    settings.MAILCHIMP = {**settings.MAILCHIMP, "WEBHOOK_SECRET": SECRET,
                          "WEBHOOK_SIGNING_KEY": SIGNING_KEY}


def body(event_type: str, fired_at: str, **data) -> bytes:
    fields = {"type": event_type, "fired_at": fired_at}
    for key, value in data.items():
        if isinstance(value, dict):
            for inner, inner_value in value.items():
                fields[f"data[{key}][{inner}]"] = inner_value
        else:
            fields[f"data[{key}]"] = value
    fields.setdefault("data[list_id]", "a6b5da1054")
    return urlencode(fields).encode()


def signature(raw: bytes, key: str = SIGNING_KEY) -> str:
    return base64.b64encode(hmac.new(key.encode(), raw, hashlib.sha256).digest()).decode()


def post(client, raw: bytes, url=URL, *, signed=True, **headers):
    if signed:
        headers.setdefault("X-Mailchimp-Signature", signature(raw))
    return client.post(url, raw, content_type="application/x-www-form-urlencoded",
                       headers=headers)


def sub_body(email, fired_at, **extra):
    return body("subscribe", fired_at, id="8a25ff1d98", email=email, email_type="html",
                ip_opt="10.20.10.30", merges={"EMAIL": email, "FNAME": "Ann"}, **extra)


def unsub_body(email, fired_at):
    return body("unsubscribe", fired_at, action="unsub", reason="manual", id="8a25ff1d98",
                email=email, campaign_id="cb398d21d2")


def at(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)


def test_mailchimp_validates_the_url_with_a_get(client):
    assert client.get(URL).status_code == 200
    assert client.get("/hooks/mailchimp/wrong/").status_code == 403


@pytest.mark.parametrize("url", ["/hooks/mailchimp/wrong/", f"/hooks/mailchimp/{SECRET}x/",
                                 f"/hooks/mailchimp/{SECRET.upper()}/"])
def test_a_wrong_secret_is_403_and_changes_nothing(client, url):
    response = post(client, sub_body("ann@example.com", "2026-11-20 10:00:00"), url=url)
    assert response.status_code == 403
    assert not Subscriber.objects.exists() and not MailchimpWebhookEvent.objects.exists()


def test_without_a_configured_secret_every_url_is_403(client, settings):
    settings.MAILCHIMP = {**settings.MAILCHIMP, "WEBHOOK_SECRET": None}
    assert client.get("/hooks/mailchimp/None/").status_code == 403
    assert post(client, sub_body("ann@example.com", "2026-11-20 10:00:00"),
                url="/hooks/mailchimp/None/").status_code == 403


def test_signature_is_checked_over_the_raw_body_when_configured(client):
    raw = sub_body("ann@example.com", "2026-11-20 10:00:00")
    good = signature(raw)
    other = signature(raw, "other-key")
    assert post(client, raw, signed=False).status_code == 403  # unsigned
    assert post(client, raw, **{"X-Mailchimp-Signature": other}).status_code == 403
    assert post(client, raw + b"&x=1", **{"X-Mailchimp-Signature": good}).status_code == 403
    assert not Subscriber.objects.exists() and not MailchimpWebhookEvent.objects.exists()
    response = post(client, raw, **{"X-Mailchimp-Signature": good})
    assert response.status_code == 200, response.content
    assert Subscriber.objects.get().status == SubscriberStatus.SUBSCRIBED


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not a form",
        b"\xff\xfe\x00garbage",
        b"type=subscribe",  # no fired_at
        b"type=subscribe&fired_at=yesterday&data[email]=ann@example.com",
        b"fired_at=2026-11-20+10:00:00&data[email]=ann@example.com",  # no type
        b"type=subscribe&fired_at=2026-11-20+10:00:00",  # no email
        b"type=subscribe&fired_at=2026-11-20+10:00:00&data[email]=not-an-address",
        b"type=upemail&fired_at=2026-11-20+10:00:00&data[old_email]=a@example.com",
        b"type=subscribe&fired_at=2026-11-20+10:00:00&data=x&data[email]=a@example.com",
        b"type=subscribe&fired_at=2026-11-20+10:00:00&data[email]]=a@example.com",
        b"&".join([b"type=profile", b"fired_at=2026-11-20+10:00:00"]
                  + [b"data[f%d]=x" % n for n in range(600)]),
    ],
)
def test_malformed_bodies_are_400_and_change_nothing(client, raw):
    response = post(client, raw)
    assert response.status_code == 400, response.content
    assert "detail" in response.json()
    assert not Subscriber.objects.exists() and not MailchimpWebhookEvent.objects.exists()


def test_subscribe_creates_a_subscribed_member_with_mailchimp_consent(client):
    response = post(client, sub_body("Ann@Example.com", "2026-11-20 10:00:00"))
    assert response.status_code == 200
    assert response.json()["outcome"] == "applied"
    subscriber = Subscriber.objects.get()
    assert (subscriber.email, subscriber.status) == ("ann@example.com", "subscribed")
    assert subscriber.status_changed_at == at("2026-11-20 10:00:00")
    consent = ConsentRecord.objects.get()
    assert (consent.kind, consent.source, consent.ip_address) == (
        ConsentKind.CONFIRMED, "mailchimp", "10.20.10.30")


def test_unsubscribe_suppresses_even_an_unknown_address(client):
    post(client, unsub_body("stranger@example.com", "2026-11-20 10:00:00"))
    assert Subscriber.objects.get().status == SubscriberStatus.UNSUBSCRIBED
    existing = Subscriber.objects.create(email="ann@example.com",
                                         status=SubscriberStatus.SUBSCRIBED)
    post(client, unsub_body("ann@example.com", "2026-11-20 10:00:00"))
    existing.refresh_from_db()
    assert existing.status == SubscriberStatus.UNSUBSCRIBED
    assert ConsentRecord.objects.filter(subscriber=existing, kind="withdrawn").count() == 1


def test_cleaned_marks_the_address_cleaned(client):
    Subscriber.objects.create(email="ann@example.com", status=SubscriberStatus.SUBSCRIBED)
    raw = body("cleaned", "2026-11-20 10:00:00", campaign_id="4fjk2ma9xd", reason="hard",
               email="ann@example.com")
    assert post(client, raw).json()["outcome"] == "applied"
    assert Subscriber.objects.get().status == SubscriberStatus.CLEANED
    assert not Subscriber.objects.receiving().exists()


def test_profile_updates_series_through_the_interest_mapping(client, series, other_series):
    for s, interest in ((series, "aa11"), (other_series, "bb22")):
        MailchimpSeriesInterest.objects.create(series=s, category_id="cat1",
                                               interest_id=interest, interest_name=s.title)
    subscriber = Subscriber.objects.create(email="ann@example.com",
                                           status=SubscriberStatus.SUBSCRIBED)
    subscriber.series.add(series)
    raw = body("profile", "2026-11-20 10:00:00", email="ann@example.com",
               merges={"EMAIL": "ann@example.com", "INTERESTS": "Eating Well, Unmapped Group"})
    assert post(client, raw).json()["outcome"] == "applied"
    assert list(subscriber.series.values_list("slug", flat=True)) == ["eating-well"]

    groupings = urlencode({
        "type": "profile", "fired_at": "2026-11-20 11:00:00", "data[email]": "ann@example.com",
        "data[merges][GROUPINGS][0][unique_id]": "cat1",
        "data[merges][GROUPINGS][0][name]": "Series",
        "data[merges][GROUPINGS][0][groups]": "Moving Well, Eating Well",
        "data[merges][GROUPINGS][1][unique_id]": "other-category",
        "data[merges][GROUPINGS][1][groups]": "Something Else",
    }).encode()
    assert post(client, groupings).json()["outcome"] == "applied"
    assert set(subscriber.series.values_list("slug", flat=True)) == {"moving-well", "eating-well"}


def test_profile_without_interest_data_or_mapping_is_ignored(client):
    Subscriber.objects.create(email="ann@example.com", status=SubscriberStatus.SUBSCRIBED)
    raw = body("profile", "2026-11-20 10:00:00", email="ann@example.com",
               merges={"FNAME": "Ann"})
    assert post(client, raw).json()["outcome"] == "ignored"
    unknown = body("profile", "2026-11-20 10:00:00", email="who@example.com")
    assert post(client, unknown).json()["outcome"] == "unmatched"
    assert Subscriber.objects.count() == 1


def test_upemail_moves_the_subscriber_to_the_new_address(client):
    subscriber = Subscriber.objects.create(email="ann@example.com",
                                           status=SubscriberStatus.SUBSCRIBED)
    raw = body("upemail", "2026-11-20 10:00:00", new_id="51aa6", new_email="Ann@New.example",
               old_email="ann@example.com")
    assert post(client, raw).json()["outcome"] == "applied"
    subscriber.refresh_from_db()
    assert subscriber.email == "ann@new.example"


def test_upemail_onto_a_taken_address_is_a_recorded_conflict(client):
    Subscriber.objects.create(email="ann@example.com", status=SubscriberStatus.SUBSCRIBED)
    Subscriber.objects.create(email="ann@new.example", status=SubscriberStatus.UNSUBSCRIBED)
    raw = body("upemail", "2026-11-20 10:00:00", new_email="ann@new.example",
               old_email="ann@example.com")
    assert post(client, raw).json()["outcome"] == "conflict"
    assert set(Subscriber.objects.values_list("email", flat=True)) == {
        "ann@example.com", "ann@new.example"}


def test_campaign_and_unknown_types_are_recorded_and_ignored(client):
    raw = body("campaign", "2026-11-20 10:00:00", id="5aa2102003", subject="Part 3",
               status="sent", reason="")
    assert post(client, raw).json()["outcome"] == "ignored"
    assert not Subscriber.objects.exists()


def test_a_replayed_body_changes_nothing(client):
    subscribe_raw = sub_body("ann@example.com", "2026-11-20 10:00:00")
    unsubscribe_raw = unsub_body("ann@example.com", "2026-11-20 11:00:00")
    post(client, subscribe_raw)
    post(client, unsubscribe_raw)
    replay = post(client, subscribe_raw)
    assert replay.status_code == 200 and replay.json()["outcome"] == "duplicate"
    assert Subscriber.objects.get().status == SubscriberStatus.UNSUBSCRIBED
    assert MailchimpWebhookEvent.objects.count() == 2
    assert ConsentRecord.objects.count() == 2


def test_an_older_event_arriving_late_does_not_overwrite_a_newer_one(client):
    post(client, unsub_body("ann@example.com", "2026-11-20 11:00:00"))
    late = post(client, sub_body("ann@example.com", "2026-11-20 10:00:00"))
    assert late.json()["outcome"] == "stale"
    subscriber = Subscriber.objects.get()
    assert subscriber.status == SubscriberStatus.UNSUBSCRIBED
    assert subscriber.status_changed_at == at("2026-11-20 11:00:00")
    newer = post(client, sub_body("ann@example.com", "2026-11-20 12:00:00"))
    assert newer.json()["outcome"] == "applied"
    subscriber.refresh_from_db()
    assert subscriber.status == SubscriberStatus.SUBSCRIBED


def test_any_arrival_order_ends_in_the_state_of_the_latest_event(client):
    events = [
        sub_body("ann@example.com", "2026-11-20 10:00:00"),
        unsub_body("ann@example.com", "2026-11-20 11:00:00"),
        sub_body("ann@example.com", "2026-11-20 12:00:00"),
        body("cleaned", "2026-11-20 13:00:00", reason="hard", email="ann@example.com"),
    ]
    for order in itertools.permutations(range(len(events))):
        Subscriber.objects.all().delete()
        MailchimpWebhookEvent.objects.all().delete()
        for index in order:
            assert post(client, events[index]).status_code == 200
        assert Subscriber.objects.get().status == SubscriberStatus.CLEANED, order


def test_a_local_unsubscribe_is_not_undone_by_an_older_webhook(client, series):
    subscriber = Subscriber.objects.create(email="ann@example.com",
                                           status=SubscriberStatus.SUBSCRIBED)
    subscriber_unsubscribe(subscriber_id=subscriber.pk)
    earlier = timezone.now().astimezone(UTC) - timedelta(minutes=5)
    raw = sub_body("ann@example.com", earlier.strftime("%Y-%m-%d %H:%M:%S"))
    assert post(client, raw).json()["outcome"] == "stale"
    subscriber.refresh_from_db()
    assert subscriber.status == SubscriberStatus.UNSUBSCRIBED


def test_events_for_a_renamed_address_follow_the_rename(client):
    Subscriber.objects.create(email="a@example.com", status=SubscriberStatus.SUBSCRIBED)
    post(client, body("upemail", "2026-11-20 10:00:00", old_email="a@example.com",
                      new_email="b@example.com"))
    # Fired before the rename, delivered after: it is about the member now called b.
    late = post(client, unsub_body("a@example.com", "2026-11-20 09:00:00"))
    assert late.json()["outcome"] == "applied"
    assert list(Subscriber.objects.values_list("email", "status")) == [
        ("b@example.com", "unsubscribed")]


def test_an_out_of_order_rename_chain_ends_at_the_last_address(client):
    Subscriber.objects.create(email="a@example.com", status=SubscriberStatus.SUBSCRIBED)
    second = post(client, body("upemail", "2026-11-20 11:00:00", old_email="b@example.com",
                               new_email="c@example.com"))
    assert second.json()["outcome"] == "unmatched"
    first = post(client, body("upemail", "2026-11-20 10:00:00", old_email="a@example.com",
                              new_email="b@example.com"))
    assert first.json()["outcome"] == "applied"
    assert list(Subscriber.objects.values_list("email", flat=True)) == ["c@example.com"]
    assert MailchimpWebhookEvent.objects.get(pk=second.json()["event"]).outcome == (
        WebhookOutcome.APPLIED)


def test_iso_fired_at_with_an_offset_is_understood(client):
    post(client, sub_body("ann@example.com", "2026-11-20T12:00:00+02:00"))
    assert Subscriber.objects.get().status_changed_at == at("2026-11-20 10:00:00")


def test_webhooks_need_no_csrf_token():
    strict = Client(enforce_csrf_checks=True)
    raw = sub_body("ann@example.com", "2026-11-20 10:00:00")
    response = strict.post(URL, raw, content_type="application/x-www-form-urlencoded",
                           headers={"X-Mailchimp-Signature": signature(raw)})
    assert response.status_code == 200
