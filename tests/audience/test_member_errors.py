"""Per-member refusals are recorded on the subscriber, counted by kind, shown, never fatal."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from pipeline.audience.models import SyncRunState
from pipeline.audience.services.outcomes import (
    COMPLIANCE,
    FORGOTTEN,
    INVALID_ADDRESS,
    MEMBER_EXISTS,
    member_error_kind,
)
from pipeline.subscribers.models import Subscriber, SubscriberStatus
from tests.support.factories import make_series
from tests.support.mailchimp import fast_client
from tests.support.subscribers import make_subscribers

pytestmark = pytest.mark.django_db


def test_each_refusal_is_recorded_and_the_rest_of_the_batch_goes_through(
        sync, mailchimp_settings, client):
    series = make_series(title="Moving Well")
    rows = make_subscribers(30)
    forgotten, compliant = rows[3], rows[7]
    Subscriber.objects.filter(pk=compliant.pk).update(status=SubscriberStatus.PENDING)
    # Pending with us and (from before pending subscribers were kept back) in Mailchimp too.
    fast_client().upsert_member(compliant.email, status="pending")
    # Written around the service, as an old import might have: the database accepts it.
    Subscriber.objects.create(email="not-an-address", status=SubscriberStatus.SUBSCRIBED)
    first = sync()
    assert first.errors_by_kind == {INVALID_ADDRESS: 1}

    mailchimp = fast_client()
    mailchimp.delete_member_permanently(forgotten.email)  # a GDPR erase in Mailchimp
    mailchimp_settings.control.mark_member(compliant.email, compliance=True)
    forgotten.series.add(series)
    Subscriber.objects.filter(pk=compliant.pk).update(status=SubscriberStatus.SUBSCRIBED,
                                                      status_changed_at=timezone.now())
    rows[20].series.add(series)
    second = sync()

    assert second.state == SyncRunState.FINISHED
    # Counted per run: the invalid address is not sent again until it changes.
    assert second.errors_by_kind == {FORGOTTEN: 1, COMPLIANCE: 1}
    errors = dict(Subscriber.objects.exclude(mailchimp_sync_error="").values_list(
        "email", "mailchimp_sync_error"))
    assert set(errors) == {"not-an-address", forgotten.email, compliant.email}
    assert errors[forgotten.email].startswith(FORGOTTEN)
    assert errors[compliant.email].startswith(COMPLIANCE)
    assert errors["not-an-address"].startswith(INVALID_ADDRESS)
    # The rest of that batch went through.
    assert any(mailchimp.get_member(rows[20].email)["interests"].values())

    # Operators see the error on the subscriber screens.
    admin = get_user_model().objects.create_superuser("ops", "ops@example.com", "pw")
    client.force_login(admin)
    listing = client.get(reverse("wagtailsnippets_subscribers_subscriber:list"),
                         {"q": "Forgotten"})  # operators can search by error
    assert forgotten.email.encode() in listing.content
    assert b"Forgotten Email Not Subscribed" in listing.content
    assert rows[20].email.encode() not in listing.content
    inspect = client.get(reverse("wagtailsnippets_subscribers_subscriber:inspect",
                                 args=[compliant.pk]))
    assert b"Member In Compliance State" in inspect.content
    runs = client.get(reverse("wagtailsnippets_audience_audiencesyncrun:list"))
    assert runs.status_code == 200


def test_a_fixed_member_loses_its_error(sync, mailchimp_settings):
    (reader,) = make_subscribers(1)
    Subscriber.objects.filter(pk=reader.pk).update(email="bad address@example.com")
    sync()
    assert Subscriber.objects.get(pk=reader.pk).mailchimp_sync_error.startswith(INVALID_ADDRESS)
    Subscriber.objects.filter(pk=reader.pk).update(email="good@example.com")
    sync()
    assert Subscriber.objects.get(pk=reader.pk).mailchimp_sync_error == ""


def test_member_exists_is_recognised_in_a_real_batch_answer(mailchimp_settings):
    # Our sync always upserts (update_existing), so Mailchimp never says "Member Exists" to
    # it; the classifier still knows the answer a plain batch add gets.
    mailchimp = fast_client()
    mailchimp.upsert_member("ann@example.com", status="subscribed")
    answer = mailchimp.batch_subscribe([{"email_address": "ann@example.com",
                                         "status": "subscribed"}], update_existing=False)
    assert [member_error_kind(e) for e in answer["errors"]] == [MEMBER_EXISTS]
