"""Issue 17, item 7: a reader's data as JSON (admin and signed link), and erasure here and at
Mailchimp, over real HTTP (live_server, the Mailchimp emulator through the real client)."""

import hashlib
import io
from datetime import timedelta

import pytest
import requests
import time_machine
from django.urls import reverse
from django.utils import timezone

from pipeline.audience.models import MailchimpErasure, MailchimpWebhookEvent
from pipeline.audience.services import erasures
from pipeline.audience.services.erasures import mailchimp_erasures_process
from pipeline.campaigns.models import Campaign, CampaignStatus, Delivery, DeliveryState
from pipeline.providers.mailchimp_errors import MemberError
from pipeline.providers.mailchimp_lists import subscriber_hash
from pipeline.subscribers.csv_io import auto_mapping, import_csv, read_headers
from pipeline.subscribers.models import ConsentKind, ConsentRecord, Subscriber, SubscriberStatus
from pipeline.subscribers.personal_data import subscriber_data_export_url, subscriber_erase
from pipeline.subscribers.services import subscriber_subscribe
from pipeline.subscribers.suppression import is_suppressed, suppression_digest
from pipeline.subscribers.tokens import PREFERENCES, make_token
from tests.support.admin_http import AdminSession, refused_over_http
from tests.support.admin_users import admin_user
from tests.support.factories import OfferFactory
from tests.support.mailchimp import add_members, fast_client
from tests.support.subscribers import CONSENT

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def ann(series):
    reader = Subscriber.objects.create(email="ann@example.com", name="Ann",
                                       status=SubscriberStatus.SUBSCRIBED)
    reader.series.add(series)
    ConsentRecord.objects.create(subscriber=reader, kind=ConsentKind.CONFIRMED, source="api",
                                 recorded_at=timezone.now(), consent_text=CONSENT,
                                 ip_address="203.0.113.7", user_agent="Firefox")
    campaign = Campaign.objects.create(name="Spring offer", offer=OfferFactory(),
                                       status=CampaignStatus.SENT)
    Delivery.objects.create(campaign=campaign, subscriber=reader, email=reader.email,
                            state=DeliveryState.SENT, message_id="<m1@partwork>",
                            updated_at=timezone.now())
    return reader


def _path(url: str) -> str:
    return url.split("://", 1)[1].split("/", 1)[1]


def test_the_signed_link_downloads_the_readers_data_and_nothing_else(live_server, ann, settings):
    settings.BASE_URL = live_server.url
    url = subscriber_data_export_url(ann)
    answer = requests.get(url, timeout=30)
    assert answer.status_code == 200
    assert "no-store" in answer.headers["Cache-Control"]
    assert "attachment" in answer.headers["Content-Disposition"]
    data = answer.json()
    assert data["profile"]["email"] == "ann@example.com" and data["profile"]["name"] == "Ann"
    assert data["consent_history"][0]["ip_address"] == "203.0.113.7"
    assert data["deliveries"] == [{"campaign": "Spring offer", "kind": "discount",
                                   "email": "ann@example.com", "state": "sent",
                                   "at": data["deliveries"][0]["at"]}]  # from the campaigns app
    assert "mailchimp_webhook_events" in data  # from the audience app

    token = url.rsplit("/", 1)[1]
    base = url[: -len(token)]
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for bad in (tampered, token.replace(":", ";"), "x" * 50):
        assert requests.get(base + bad, timeout=30).status_code == 404
    # A token for another purpose (the preferences link of the same reader) is no key here.
    preferences_token = ann_preferences_token(ann)
    assert requests.get(base + preferences_token, timeout=30).status_code == 404

    with time_machine.travel(timezone.now() + settings.SUBSCRIBER_DATA_EXPORT_MAX_AGE
                             + timedelta(minutes=1), tick=False):
        assert requests.get(url, timeout=30).status_code == 404  # expired

    subscriber_erase(subscriber_id=ann.pk, actor="test")
    assert requests.get(url, timeout=30).status_code == 404  # erased: nothing to give


def ann_preferences_token(subscriber) -> str:
    return make_token(PREFERENCES, subscriber_id=subscriber.pk, email=subscriber.email)


def test_a_plain_admin_cannot_import_export_read_or_erase(live_server, ann):
    admin_user("plain", permissions=["subscribers.view_subscriber"])
    session = AdminSession(live_server.url, "plain")
    listing = reverse("wagtailsnippets_subscribers_subscriber:list")
    assert session.get(listing).status_code == 200  # they may see the list...
    assert "Download CSV" not in session.get(listing).text
    # ...but every way in or out is refused, however it is asked for.
    assert refused_over_http(session.get(listing + "?export=csv"))
    assert refused_over_http(session.get(listing + "?export=xlsx"))
    assert refused_over_http(session.get(reverse("subscribers_import")))
    upload = session.post(reverse("subscribers_import"), files={
        "file": ("list.csv", b"email\nmallory@example.net\n", "text/csv")})
    assert refused_over_http(upload)
    assert refused_over_http(session.get(reverse("subscribers_data", args=[ann.pk])))
    erase = session.post(reverse("subscribers_erase", args=[ann.pk]),
                         {"confirm": "ann@example.com"})
    assert refused_over_http(erase)
    ann.refresh_from_db()
    assert ann.erased_at is None and ann.email == "ann@example.com"
    assert not Subscriber.objects.filter(email="mallory@example.net").exists()

    # The export permission does not give erasure, nor the import permission export.
    admin_user("exporter", permissions=["subscribers.view_subscriber",
                                        "subscribers.export_subscribers"])
    exporter = AdminSession(live_server.url, "exporter")
    csv_answer = exporter.get(listing + "?export=csv&status=subscribed")
    assert csv_answer.status_code == 200 and "ann@example.com" in csv_answer.text
    assert exporter.get(reverse("subscribers_data", args=[ann.pk])).json()["profile"]["name"] \
        == "Ann"
    assert refused_over_http(exporter.post(reverse("subscribers_erase", args=[ann.pk]),
                                           {"confirm": "ann@example.com"}))
    assert refused_over_http(exporter.get(reverse("subscribers_import")))
    ann.refresh_from_db()
    assert ann.erased_at is None


def test_the_admin_export_follows_the_listing_filters(live_server, ann):
    Subscriber.objects.create(email="bob@example.com", status=SubscriberStatus.UNSUBSCRIBED)
    Subscriber.objects.create(email="=cmd@example.com", status=SubscriberStatus.SUBSCRIBED)
    admin_user("exporter", permissions=["subscribers.view_subscriber",
                                        "subscribers.export_subscribers"])
    session = AdminSession(live_server.url, "exporter")
    listing = reverse("wagtailsnippets_subscribers_subscriber:list")
    subscribed = session.get(listing + "?export=csv&status=subscribed").text.splitlines()
    assert [line.split(",")[0] for line in subscribed] == [
        "email", "ann@example.com", "'=cmd@example.com"]  # a formula is escaped
    searched = session.get(listing + "?export=csv&q=bob").text.splitlines()
    assert [line.split(",")[0] for line in searched] == ["email", "bob@example.com"]


def test_erasure_end_to_end_with_mailchimp_failing_then_recovering(
        live_server, ann, mailchimp_settings):
    control = mailchimp_settings.control
    add_members(mailchimp_settings, ["ann@example.com"])
    MailchimpWebhookEvent.objects.create(
        body_sha256="a" * 64, event_type="subscribe", fired_at=timezone.now(),
        email="ann@example.com", payload={"data[email]": "ann@example.com"}, subscriber=ann,
        outcome="applied")
    admin_user("dpo", permissions=["subscribers.view_subscriber", "subscribers.erase_subscriber"])
    session = AdminSession(live_server.url, "dpo")
    page = session.get(reverse("subscribers_erase", args=[ann.pk]))
    assert page.status_code == 200 and "cannot be undone" in page.text
    # GET changed nothing; a wrong confirmation changes nothing either.
    session.post(reverse("subscribers_erase", args=[ann.pk]), {"confirm": "someone@else"})
    ann.refresh_from_db()
    assert ann.erased_at is None

    control.add_fault("5xx", path=r"/actions/delete-permanent$", status=503)
    done = session.post(reverse("subscribers_erase", args=[ann.pk]),
                        {"confirm": "ann@example.com", "note": "ticket 42"})
    assert done.status_code == 302
    ann.refresh_from_db()
    assert ann.erased_at is not None and ann.email == f"erased-{ann.pk}@erased.invalid"
    assert ann.name == "" and ann.status == SubscriberStatus.UNSUBSCRIBED
    assert not ann.series.exists()
    consents = list(ann.consents.order_by("id"))
    assert [c.kind for c in consents] == [ConsentKind.CONFIRMED, ConsentKind.WITHDRAWN]
    assert consents[0].ip_address is None and consents[0].user_agent == ""
    delivery = Delivery.objects.get(subscriber=ann)
    assert (delivery.email, delivery.state) == ("", DeliveryState.SENT)  # counted, anonymous
    event = MailchimpWebhookEvent.objects.get()
    assert (event.email, event.payload) == ("", {})
    assert is_suppressed("ANN@example.com")
    assert not Subscriber.objects.filter(email="ann@example.com").exists()

    # Mailchimp is down: the deletion waits, with the error, and is due again later.
    erasure = MailchimpErasure.objects.get()
    assert erasure.member_hash == subscriber_hash("ann@example.com")
    assert mailchimp_erasures_process(client=fast_client()) == {"done": 0, "deferred": 1}
    erasure.refresh_from_db()
    assert erasure.done_at is None and "503" in erasure.last_error
    assert erasure.due_at > timezone.now()
    assert fast_client().get_member("ann@example.com")["status"] == "subscribed"
    assert mailchimp_erasures_process(client=fast_client()) == {"done": 0, "deferred": 0}

    # A worker that claims it and dies: after its lease, the next one finishes the job.
    control.clear_faults()
    later = erasure.due_at + timedelta(seconds=1)
    with time_machine.travel(later, tick=False):
        assert [row.pk for row in erasures._claim(10)] == [erasure.pk]  # ...then SIGKILL
    with time_machine.travel(later + erasures.LEASE + timedelta(seconds=1), tick=False):
        assert mailchimp_erasures_process(client=fast_client()) == {"done": 1, "deferred": 0}
    erasure.refresh_from_db()
    assert erasure.done_at is not None and erasure.member_hash == "" and erasure.due_at is None

    # Gone at Mailchimp, and Mailchimp refuses to take the address back from us.
    assert "ann@example.com" not in {m["email_address"] for m in fast_client().iter_members()}
    with pytest.raises(MemberError) as refusal:
        fast_client().upsert_member("ann@example.com", status_if_new="subscribed")
    assert refusal.value.title == "Forgotten Email Not Subscribed"

    # Nor can a re-import add it back here; a subscribe needs its owner's click.
    binary = io.BytesIO(b"email,consent_basis,consent_date\nann@example.com,consent,2024-01-01\n")
    mapping = auto_mapping(read_headers(binary))
    binary.seek(0)
    report = import_csv(binary, mapping=mapping, label="old-list.csv")
    assert report.counts["created"] == 0 and "erased" in report.errors[0][2]
    outcome = subscriber_subscribe(email="ann@example.com", series_slugs=[],
                                   consent_text=CONSENT, form_id="footer")
    assert outcome.subscriber.status == SubscriberStatus.PENDING
    assert "erased on request" in outcome.consent.note


def test_the_suppression_hash_is_keyed_and_survives_a_key_rotation(settings):
    digest = suppression_digest("ann@example.com")
    assert digest != hashlib.sha256(b"ann@example.com").hexdigest()
    reader = Subscriber.objects.create(email="ann@example.com", status="subscribed")
    subscriber_erase(subscriber_id=reader.pk, actor="test")
    old_key = settings.SECRET_KEY
    settings.SECRET_KEY = "a-brand-new-key-" + "x" * 40
    assert not is_suppressed("ann@example.com")  # the old key is gone: proves it is keyed
    settings.SECRET_KEY_FALLBACKS = [old_key]
    assert is_suppressed("ann@example.com")  # kept in the fallbacks: still suppressed
