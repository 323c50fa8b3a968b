import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from pipeline.subscribers.models import Subscriber, SubscriberStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = get_user_model().objects.create_superuser("ops", "ops@example.com", "pw")
    client.force_login(user)
    return client


def test_operators_see_and_inspect_subscribers_but_cannot_edit_them(admin_client):
    subscriber = Subscriber.objects.create(
        email="ann@example.com", status=SubscriberStatus.SUBSCRIBED,
        mailchimp_sync_error="Member In Compliance State",
    )
    listing = admin_client.get(reverse("wagtailsnippets_subscribers_subscriber:list"))
    assert listing.status_code == 200
    assert b"ann@example.com" in listing.content
    assert b"Member In Compliance State" in listing.content
    inspect = admin_client.get(
        reverse("wagtailsnippets_subscribers_subscriber:inspect", args=[subscriber.pk]))
    assert inspect.status_code == 200
    assert admin_client.get(
        reverse("wagtailsnippets_subscribers_subscriber:add")).status_code in (302, 403)
    edit = admin_client.post(
        reverse("wagtailsnippets_subscribers_subscriber:edit", args=[subscriber.pk]),
        {"email": "x@example.com", "status": "subscribed"},
    )
    assert edit.status_code in (302, 403)
    subscriber.refresh_from_db()
    assert subscriber.email == "ann@example.com"
    assert admin_client.get(
        reverse("wagtailsnippets_audience_mailchimpwebhookevent:list")).status_code == 200
