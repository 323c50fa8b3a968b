"""Issue 12, item 8: Mailchimp list webhooks are not signed, so the secret in their URL is the
whole authentication; whoever learns it posts events. Forged events must not grant anything.

Before: a forged ``subscribe`` made a subscribed member with no double opt-in, ``upemail`` renamed
a member to the forger's address, a ``fired_at`` far in the future made every real event until
then stale, and deeply nested field names gave a 500."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from pipeline.audience.models import MailchimpSeriesInterest, MailchimpWebhookEvent
from pipeline.subscribers.models import Subscriber, SubscriberStatus
from tests.support.mailchimp import WEBHOOK_URL, use_unsigned_webhooks, webhook_body
from tests.support.subscribers import make_member
from tests.support.workers import tasks_run_on_commit

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _unsigned_webhooks(settings):
    use_unsigned_webhooks(settings)  # the secret has leaked: anyone can post


def forge(client, event_type, fired_at="2026-11-20 10:00:00", **data):
    client.raise_request_exception = False
    return client.post(WEBHOOK_URL, webhook_body(event_type, fired_at, **data),
                       content_type="application/x-www-form-urlencoded")


@pytest.fixture
def ann(series):
    return make_member("ann@example.com", series)


def test_a_forged_subscribe_does_not_skip_double_opt_in(client, series):
    with tasks_run_on_commit():
        response = forge(client, "subscribe", email="victim@example.com")
    assert response.status_code == 200
    victim = Subscriber.objects.get(email="victim@example.com")
    assert victim.status == SubscriberStatus.PENDING  # asked, not subscribed
    assert not Subscriber.objects.receiving().exists()
    # What a subscribe from our own form gets: our confirmation email, to the address itself.
    assert [m.to for m in mail.outbox] == [["victim@example.com"]]


def test_a_forged_upemail_does_not_move_a_member_to_another_address(client, ann):
    with tasks_run_on_commit():
        forge(client, "upemail", old_email="ann@example.com", new_email="thief@evil.example")
    ann.refresh_from_db()
    assert (ann.email, ann.status) == ("ann@example.com", SubscriberStatus.SUBSCRIBED)
    assert not Subscriber.objects.receiving().filter(email="thief@evil.example").exists()


def test_a_forged_profile_adds_no_series(client, ann, series, other_series):
    for n, followed in enumerate((series, other_series)):
        MailchimpSeriesInterest.objects.create(series=followed, category_id="c1",
                                               interest_id=f"i{n}", interest_name=followed.title)
    forge(client, "profile", email="ann@example.com",
          **{"merges][INTERESTS": f"{series.title}, {other_series.title}"})
    assert list(ann.series.values_list("slug", flat=True)) == ["moving-well"]


def test_a_fired_at_far_in_the_future_does_not_lock_forged_state_in(client, ann):
    now = timezone.now()
    with time_machine.travel(now, tick=False):
        forge(client, "unsubscribe", fired_at="2099-01-01 00:00:00", email="ann@example.com")
    ann.refresh_from_db()
    assert ann.status_changed_at <= now + timedelta(seconds=1)
    # Mailchimp's real event a minute later (a bounce) still applies.
    real = (now + timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M:%S")
    with time_machine.travel(now + timedelta(minutes=2), tick=False):
        assert forge(client, "cleaned", fired_at=real, email="ann@example.com").json()[
            "outcome"] == "applied"
    ann.refresh_from_db()
    assert ann.status == SubscriberStatus.CLEANED


def test_deeply_nested_field_names_are_refused_not_a_500(client):
    response = forge(client, "profile", email="ann@example.com",
                     **{"merges" + "][x" * 3000: "deep"})
    assert response.status_code == 400
    assert not MailchimpWebhookEvent.objects.exists()
