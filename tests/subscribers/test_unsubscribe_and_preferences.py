import pytest
from django.test import Client

from pipeline.subscribers.models import ConsentKind, ConsentRecord, Subscriber, SubscriberStatus
from pipeline.subscribers.services import subscriber_email_headers, subscriber_preferences_url
from pipeline.subscribers.tokens import CONFIRM, make_token
from tests.support.subscribers import link_path

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(series):
    subscriber = Subscriber.objects.create(
        email="ann@example.com", status=SubscriberStatus.SUBSCRIBED
    )
    subscriber.series.add(series)
    return subscriber


def _unsubscribe_path(subscriber):
    header = subscriber_email_headers(subscriber)["List-Unsubscribe"]
    return link_path(header.strip("<>"))


def test_list_emails_carry_rfc_8058_headers(member):
    headers = subscriber_email_headers(member)
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert headers["List-Unsubscribe"].startswith("<http")
    assert "ann@example.com" not in headers["List-Unsubscribe"]  # the address is not in the URL


def test_get_shows_a_button_and_changes_nothing(client, member):
    path = _unsubscribe_path(member)
    for _ in range(3):  # a mail scanner may fetch it several times
        page = client.get(path)
        assert page.status_code == 200
        assert b'name="List-Unsubscribe" value="One-Click"' in page.content
        assert b"ann@example.com" in page.content
    member.refresh_from_db()
    assert member.status == SubscriberStatus.SUBSCRIBED
    assert not ConsentRecord.objects.exists()


def test_one_click_post_unsubscribes_at_once_and_is_idempotent(client, member):
    path = _unsubscribe_path(member)
    response = client.post(path, "List-Unsubscribe=One-Click",
                           content_type="application/x-www-form-urlencoded",
                           REMOTE_ADDR="198.51.100.4")
    assert response.status_code == 200
    member.refresh_from_db()
    assert member.status == SubscriberStatus.UNSUBSCRIBED
    withdrawn = ConsentRecord.objects.get()
    assert (withdrawn.kind, withdrawn.ip_address) == (ConsentKind.WITHDRAWN, "198.51.100.4")

    again = client.post(path, {"List-Unsubscribe": "One-Click"}, HTTP_ACCEPT="text/html")
    assert again.status_code == 200 and b"Unsubscribed" in again.content
    assert ConsentRecord.objects.count() == 1
    assert b"receives no more emails" in client.get(path).content


@pytest.mark.parametrize("body", ["", "List-Unsubscribe=Yes", "unsubscribe=1"])
def test_a_post_without_the_one_click_body_changes_nothing(client, member, body):
    response = client.post(_unsubscribe_path(member), body,
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert "List-Unsubscribe=One-Click" in response.json()["detail"]
    member.refresh_from_db()
    assert member.status == SubscriberStatus.SUBSCRIBED


def test_bad_or_stale_links_are_400(client, member):
    path = _unsubscribe_path(member)
    assert client.post(path + "x", {"List-Unsubscribe": "One-Click"}).status_code == 400
    assert client.get("/api/subscribers/unsubscribe/nonsense").status_code == 400
    member.refresh_from_db()
    assert member.status == SubscriberStatus.SUBSCRIBED


def test_unsubscribe_links_survive_a_change_of_address_but_preferences_do_not(client, member):
    unsubscribe = _unsubscribe_path(member)
    preferences = link_path(subscriber_preferences_url(member))
    Subscriber.objects.filter(pk=member.pk).update(email="ann.new@example.com")
    page = client.get(unsubscribe)
    assert page.status_code == 200 and b"ann.new@example.com" not in page.content
    stale = client.get(preferences)
    assert stale.status_code == 400
    assert "address that has since changed" in stale.json()["detail"]
    assert client.post(unsubscribe, {"List-Unsubscribe": "One-Click"}).status_code == 200
    member.refresh_from_db()
    assert member.status == SubscriberStatus.UNSUBSCRIBED


def test_a_confirmation_link_is_not_an_unsubscribe_link(client, member):
    token = make_token(CONFIRM, subscriber_id=member.pk, email=member.email, consent_id=1)
    response = client.post(f"/api/subscribers/unsubscribe/{token}",
                           {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 400


def test_preferences_read_and_replace_the_series(client, member, other_series):
    path = link_path(subscriber_preferences_url(member))
    data = client.get(path).json()
    assert data["email"] == "ann@example.com" and data["status"] == "subscribed"
    assert {s["slug"]: s["followed"] for s in data["series"]} == {
        "moving-well": True, "eating-well": False}

    response = client.put(path, {"series": ["eating-well"]}, content_type="application/json")
    assert response.status_code == 200
    assert {s["slug"]: s["followed"] for s in response.json()["series"]} == {
        "moving-well": False, "eating-well": True}
    member.refresh_from_db()
    assert member.preferences_changed_at is not None

    bad = client.put(path, {"series": ["nope"]}, content_type="application/json")
    assert bad.status_code == 400 and "nope" in bad.json()["detail"]
    assert client.get(path + "x").status_code == 400


def test_preferences_never_resubscribe(client, member):
    Subscriber.objects.filter(pk=member.pk).update(status=SubscriberStatus.UNSUBSCRIBED)
    path = link_path(subscriber_preferences_url(member))
    client.put(path, {"series": ["moving-well"]}, content_type="application/json")
    member.refresh_from_db()
    assert member.status == SubscriberStatus.UNSUBSCRIBED


def test_one_click_needs_no_cookie_or_csrf_token(member):
    strict = Client(enforce_csrf_checks=True)
    response = strict.post(_unsubscribe_path(member), "List-Unsubscribe=One-Click",
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    member.refresh_from_db()
    assert member.status == SubscriberStatus.UNSUBSCRIBED
