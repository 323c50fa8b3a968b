from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.utils import timezone

from pipeline.subscribers.models import ConsentKind, ConsentRecord, Subscriber, SubscriberStatus
from pipeline.subscribers.services import (
    subscriber_allow_reconfirmation,
    subscriber_confirmation_send,
    subscriber_confirmations_due,
    subscriber_unsubscribe,
)
from tests.support.factories import make_series
from tests.support.subscribers import CONSENT, confirm_path_from_outbox, subscribe

pytestmark = pytest.mark.django_db


def test_double_opt_in_from_subscribe_to_confirmed(client, series):
    response = subscribe(client, "  Ann.Reader@Example.COM ", headers={"User-Agent": "Browser/1"})
    assert response.status_code == 202, response.content
    subscriber = Subscriber.objects.get()
    assert subscriber.email == "ann.reader@example.com"
    assert subscriber.status == SubscriberStatus.PENDING
    assert not subscriber.series.exists()

    given = ConsentRecord.objects.get(subscriber=subscriber)
    assert (given.kind, given.consent_text, given.form_id) == (
        ConsentKind.GIVEN, CONSENT, "footer-form")
    assert (given.ip_address, given.user_agent) == ("203.0.113.7", "Browser/1")
    assert given.requested_series == ["moving-well"]
    assert given.confirmation_sent_at is not None

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ann.reader@example.com"]
    assert "Moving Well" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and "Confirm" in html

    path = confirm_path_from_outbox()
    page = client.get(path, REMOTE_ADDR="203.0.113.7")
    assert page.status_code == 200 and b"<form method=\"post\"" in page.content
    subscriber.refresh_from_db()
    assert subscriber.status == SubscriberStatus.PENDING  # opening the link changed nothing

    confirmed = client.post(path, REMOTE_ADDR="198.51.100.9")
    assert confirmed.status_code == 200, confirmed.content
    assert confirmed.json() == {"detail": "Your subscription is confirmed. Thank you."}
    subscriber.refresh_from_db()
    assert subscriber.status == SubscriberStatus.SUBSCRIBED
    assert list(subscriber.series.values_list("slug", flat=True)) == ["moving-well"]
    confirmation = ConsentRecord.objects.get(kind=ConsentKind.CONFIRMED)
    assert confirmation.answers == given and confirmation.ip_address == "198.51.100.9"

    again = client.post(path, HTTP_ACCEPT="text/html")
    assert again.status_code == 200 and b"Subscribed" in again.content
    assert ConsentRecord.objects.filter(kind=ConsentKind.CONFIRMED).count() == 1


@pytest.mark.parametrize(
    "variant",
    ["ann@example.com", "ANN@EXAMPLE.COM", " ann@Example.com\n", "Ann@example.COM"],
)
def test_case_and_whitespace_variants_are_one_subscriber(client, series, variant):
    assert subscribe(client, "ann@example.com").status_code == 202
    assert subscribe(client, variant).status_code == 202
    assert list(Subscriber.objects.values_list("email", flat=True)) == ["ann@example.com"]


def test_unicode_domain_is_stored_idna_encoded(client, series):
    assert subscribe(client, "leser@Bücher.example.de").status_code == 202
    assert subscribe(client, "LESER@xn--bcher-kva.example.de").status_code == 202
    assert list(Subscriber.objects.values_list("email", flat=True)) == [
        "leser@xn--bcher-kva.example.de"]


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("not-an-address", "Invalid email address"),
        ("", "An email address is required"),
        ("a@b", "Invalid email address"),
        ("a" * 300 + "@example.com", "Invalid email address"),
        ("a@" + "b" * 2000 + ".com", "too long"),
        ("ü@example.com", "Internationalized characters"),
        ("ann@mail.test", "special-use"),
        ('"ann smith"@example.com', "Quoting"),
    ],
)
def test_bad_addresses_get_a_clear_400(client, series, email, message):
    response = subscribe(client, email)
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert not Subscriber.objects.exists() and not mail.outbox


def test_nul_characters_are_refused_before_the_database(client, series):
    response = subscribe(client, "ann@example.com\x00")
    assert response.status_code == 422
    response = subscribe(client, "ann@example.com", consent_text="I agree\x00")
    assert response.status_code == 422
    assert not Subscriber.objects.exists()


def test_a_huge_body_is_refused_cleanly(client, series, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100_000
    response = subscribe(client, "ann@example.com", consent_text="x" * 200_000)
    assert response.status_code == 400
    assert not Subscriber.objects.exists()


def test_consent_is_required(client, series):
    response = subscribe(client, "ann@example.com", consent=False)
    assert response.status_code == 400 and "Consent is required" in response.json()["detail"]
    response = subscribe(client, "ann@example.com", consent_text="   ")
    assert response.status_code == 400 and "exact text" in response.json()["detail"]
    assert not Subscriber.objects.exists() and not mail.outbox


def test_unknown_or_unpublished_series_are_refused(client, series):
    make_series(slug="draft-series").unpublish()
    for slug in ("no-such-series", "draft-series"):
        response = subscribe(client, "ann@example.com", series=[slug])
        assert response.status_code == 400
        assert slug in response.json()["detail"]
    assert not Subscriber.objects.exists()


def test_honeypot_gets_a_quiet_success_and_nothing_is_stored(client, series):
    response = subscribe(client, "bot@example.com", website="http://spam.example")
    assert response.status_code == 202
    assert response.json() == subscribe(client, "ann@example.com").json()
    assert list(Subscriber.objects.values_list("email", flat=True)) == ["ann@example.com"]
    assert [m.to for m in mail.outbox] == [["ann@example.com"]]


def test_a_subscribed_address_keeps_its_series_until_the_new_choice_is_confirmed(
    client, series, other_series
):
    subscribe(client, "ann@example.com")
    client.post(confirm_path_from_outbox())
    assert subscribe(client, "ann@example.com", series=["eating-well"]).status_code == 202
    subscriber = Subscriber.objects.get()
    assert set(subscriber.series.values_list("slug", flat=True)) == {"moving-well"}
    assert "add series" in mail.outbox[-1].body
    client.post(confirm_path_from_outbox())
    assert set(subscriber.series.values_list("slug", flat=True)) == {"moving-well", "eating-well"}
    # Asking again for what it already has sends nothing.
    sent = len(mail.outbox)
    assert subscribe(client, "ann@example.com", series=["eating-well"]).status_code == 202
    assert len(mail.outbox) == sent


def test_unsubscribed_address_stays_suppressed_until_it_confirms_again(client, series):
    subscribe(client, "ann@example.com")
    first_link = confirm_path_from_outbox()
    client.post(first_link)
    subscriber = Subscriber.objects.get()

    subscriber_unsubscribe(subscriber_id=subscriber.pk)
    # The old, already used confirmation link does not resubscribe.
    assert client.post(first_link).status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.status == SubscriberStatus.UNSUBSCRIBED

    assert subscribe(client, "ann@example.com").status_code == 202
    subscriber.refresh_from_db()
    assert subscriber.status == SubscriberStatus.UNSUBSCRIBED
    assert not Subscriber.objects.receiving().exists()
    client.post(confirm_path_from_outbox())
    subscriber.refresh_from_db()
    assert subscriber.status == SubscriberStatus.SUBSCRIBED


def test_a_cleaned_address_is_never_mailed_by_a_public_subscribe(client, series):
    subscriber = Subscriber.objects.create(email="gone@example.com",
                                           status=SubscriberStatus.CLEANED)
    response = subscribe(client, "gone@example.com")
    assert response.status_code == 202  # the same answer as everyone: no membership leak
    assert not mail.outbox
    subscriber.refresh_from_db()
    assert subscriber.status == SubscriberStatus.CLEANED
    note = ConsentRecord.objects.get(subscriber=subscriber).note
    assert "no confirmation sent" in note

    subscriber_allow_reconfirmation(subscriber_id=subscriber.pk, operator_note="mailbox is back")
    subscribe(client, "gone@example.com")
    assert len(mail.outbox) == 1
    client.post(confirm_path_from_outbox())
    subscriber.refresh_from_db()
    assert subscriber.status == SubscriberStatus.SUBSCRIBED


def test_a_confirmation_for_an_address_cleaned_meanwhile_is_refused(client, series):
    subscribe(client, "ann@example.com")
    Subscriber.objects.update(status=SubscriberStatus.CLEANED)
    response = client.post(confirm_path_from_outbox())
    assert response.status_code == 409
    assert Subscriber.objects.get().status == SubscriberStatus.CLEANED


def test_confirmation_links_expire(client, series):
    subscribe(client, "ann@example.com")
    path = confirm_path_from_outbox()
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        response = client.post(path)
        assert response.status_code == 400
        assert response.json() == {"detail": "This link has expired."}
        assert client.get(path).status_code == 400
    assert Subscriber.objects.get().status == SubscriberStatus.PENDING


def test_tampered_links_are_refused(client, series):
    subscribe(client, "ann@example.com")
    path = confirm_path_from_outbox()
    assert client.post(path[:-3] + "abc").status_code == 400
    assert client.post("/api/subscribers/confirm/garbage").status_code == 400
    assert Subscriber.objects.get().status == SubscriberStatus.PENDING


def _smtp_down(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2


def test_a_mail_outage_delays_the_confirmation_and_loses_nothing(client, series, settings):
    _smtp_down(settings)
    assert subscribe(client, "ann@example.com").status_code == 202
    consent = ConsentRecord.objects.get()
    assert consent.confirmation_sent_at is None and consent.confirmation_attempts == 1
    assert consent.confirmation_due_at > timezone.now()  # backing off, still owed

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    later = consent.confirmation_due_at + timedelta(seconds=61)
    with time_machine.travel(later, tick=False):
        assert subscriber_confirmations_due() == [consent.pk]  # what the sweep queues again
        assert subscriber_confirmation_send(consent_id=consent.pk) == "sent"
        assert subscriber_confirmation_send(consent_id=consent.pk) == "not-due"  # only once
    consent.refresh_from_db()
    assert consent.confirmation_sent_at is not None and consent.confirmation_due_at is None
    assert len(mail.outbox) == 1
    client.post(confirm_path_from_outbox())
    assert Subscriber.objects.get().status == SubscriberStatus.SUBSCRIBED


def test_an_owed_confirmation_is_given_up_after_a_day(client, series, settings):
    _smtp_down(settings)
    subscribe(client, "ann@example.com")
    consent = ConsentRecord.objects.get()
    with time_machine.travel(timezone.now() + timedelta(days=1, minutes=1), tick=False):
        assert subscriber_confirmation_send(consent_id=consent.pk) == "dropped"
        assert subscriber_confirmations_due() == []
    consent.refresh_from_db()
    assert consent.confirmation_due_at is None and "did not take it" in consent.note


def test_the_subscribe_endpoints_are_in_the_same_openapi_document(client):
    paths = client.get("/api/openapi.json").json()["paths"]
    assert "/api/series" in paths
    assert {"/api/subscribers", "/api/subscribers/confirm/{token}",
            "/api/subscribers/preferences/{token}",
            "/api/subscribers/unsubscribe/{token}"} <= set(paths)
    assert set(paths["/api/subscribers/unsubscribe/{token}"]) == {"get", "post"}


def test_a_browser_subscribes_and_confirms_without_csrf_tokens(series):
    strict = Client(enforce_csrf_checks=True)
    assert subscribe(strict, "ann@example.com").status_code == 202
    assert strict.post(confirm_path_from_outbox(), HTTP_ACCEPT="text/html").status_code == 200
    assert Subscriber.objects.get().status == SubscriberStatus.SUBSCRIBED
