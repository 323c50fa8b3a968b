"""The audience sync with the real client over HTTP against the emulator."""

from datetime import timedelta

import pytest
from django.utils import timezone

from pipeline.audience.models import AudienceSyncRun, MailchimpSeriesInterest, SyncRunState
from pipeline.audience.services.runs import AudienceSyncBusy
from pipeline.subscribers.models import ConsentKind, Subscriber, SubscriberStatus
from tests.support.factories import make_series
from tests.support.mailchimp import batch_requests, fast_client
from tests.support.subscribers import make_subscribers

pytestmark = pytest.mark.django_db


def audience(emulator) -> dict[str, dict]:
    """Every member Mailchimp holds, read back with the wrapper: email → {status, interests}."""
    client = fast_client()
    return {m["email_address"]: {"status": m["status"],
                                 "interests": {k for k, v in m["interests"].items() if v}}
            for m in client.iter_members()}


def test_first_sync_sends_everyone_in_batches_of_500_with_series_as_interests(
        sync, mailchimp_settings):
    moving, eating = make_series(title="Moving Well"), make_series(title="Eating Well")
    make_subscribers(700, series=[moving], prefix="mover")
    make_subscribers(400, status=SubscriberStatus.PENDING, series=[moving, eating],
                     prefix="both")
    make_subscribers(150, status=SubscriberStatus.UNSUBSCRIBED, prefix="gone")

    summary = sync()

    assert summary.state == SyncRunState.FINISHED
    # The 400 still pending with us are not sent: Mailchimp would mail its own confirmation.
    assert (summary.members_sent, summary.members_created, summary.errors) == (850, 850, 0)
    assert summary.batches == 2 == batch_requests(mailchimp_settings)
    # Every HTTP request is counted: interests set-up, the pull, two batches.
    assert summary.requests == mailchimp_settings.control.stats()["requests_total"]
    interests = {m.series_id: m.interest_id for m in MailchimpSeriesInterest.objects.all()}
    assert set(interests) == {moving.pk, eating.pk}
    members = audience(mailchimp_settings)
    assert len(members) == 850
    assert members["mover3@example.com"] == {"status": "subscribed",
                                                 "interests": {interests[moving.pk]}}
    assert "both399@example.com" not in members
    assert members["gone0@example.com"] == {"status": "unsubscribed", "interests": set()}
    synced = Subscriber.objects.get(email="mover3@example.com")
    assert synced.mailchimp_synced_status == "subscribed" and synced.mailchimp_synced_hash
    assert synced.mailchimp_sync_error == ""


def test_incremental_sync_sends_only_what_changed(sync, mailchimp_settings):
    moving, eating = make_series(title="Moving Well"), make_series(title="Eating Well")
    rows = make_subscribers(1200, series=[moving])
    sync()
    before = batch_requests(mailchimp_settings)

    nothing = sync()
    assert (nothing.members_sent, nothing.batches) == (0, 0)
    assert batch_requests(mailchimp_settings) == before

    follower, leaver = rows[5], rows[900]
    follower.series.add(eating)  # a new series: its interest is created on demand
    Subscriber.objects.filter(pk=leaver.pk).update(status=SubscriberStatus.UNSUBSCRIBED,
                                                   status_changed_at=timezone.now())
    changed = sync()

    assert (changed.members_sent, changed.batches) == (2, 1)
    assert batch_requests(mailchimp_settings) == before + 1
    members = audience(mailchimp_settings)
    eating_interest = MailchimpSeriesInterest.objects.get(series=eating).interest_id
    assert eating_interest in members[follower.email]["interests"]
    assert members[leaver.email]["status"] == "unsubscribed"
    assert members[rows[6].email]["interests"] == {
        MailchimpSeriesInterest.objects.get(series=moving).interest_id}

    follower.series.remove(moving)  # leaving a series sends its interest as false
    sync()
    assert audience(mailchimp_settings)[follower.email]["interests"] == {eating_interest}


def test_statuses_map_both_ways_and_mailchimp_suppression_is_never_undone(
        sync, mailchimp_settings):
    control = mailchimp_settings.control
    long_ago = timezone.now() - timedelta(days=30)
    pending, bounced, left, stays = make_subscribers(
        4, status=SubscriberStatus.SUBSCRIBED, status_changed_at=long_ago)
    Subscriber.objects.filter(pk=pending.pk).update(status=SubscriberStatus.PENDING)
    sync()

    # Mailchimp side: one bounces, one unsubscribes from a Mailchimp email (webhooks lost).
    control.mark_member(bounced.email, status="cleaned")
    control.mark_member(left.email, status="unsubscribed")
    # Our side: the pending one confirms with us.
    Subscriber.objects.filter(pk=pending.pk).update(status=SubscriberStatus.SUBSCRIBED,
                                                    status_changed_at=timezone.now())
    summary = sync()

    ours = {s.pk: s for s in Subscriber.objects.all()}
    assert ours[bounced.pk].status == SubscriberStatus.CLEANED
    assert ours[left.pk].status == SubscriberStatus.UNSUBSCRIBED
    assert ours[left.pk].consents.filter(kind=ConsentKind.WITHDRAWN).count() == 1
    assert ours[stays.pk].status == SubscriberStatus.SUBSCRIBED
    assert summary.statuses_from_mailchimp == 2
    members = audience(mailchimp_settings)
    assert members[pending.email]["status"] == "subscribed"  # pending → subscribed, pushed
    assert members[bounced.email]["status"] == "cleaned"  # never resubscribed
    assert members[left.email]["status"] == "unsubscribed"

    # A full resend of everyone does not resubscribe them either.
    sync(full=True)
    members = audience(mailchimp_settings)
    assert (members[bounced.email]["status"], members[left.email]["status"]) == (
        "cleaned", "unsubscribed")


def test_an_address_unsubscribed_in_mailchimp_is_not_resubscribed_by_a_first_sync(
        sync, mailchimp_settings):
    client = fast_client()
    client.upsert_member("old@example.com", status="unsubscribed")
    client.upsert_member("fresh@example.com", status="unsubscribed")
    old, fresh = make_subscribers(2, prefix="x")
    Subscriber.objects.filter(pk=old.pk).update(email="old@example.com",
                                                status_changed_at=timezone.now() - timedelta(
                                                    days=400))
    # Confirmed with us after Mailchimp's unsubscribe: Mailchimp is asked to re-confirm them.
    Subscriber.objects.filter(pk=fresh.pk).update(email="fresh@example.com",
                                                  status_changed_at=timezone.now()
                                                  + timedelta(minutes=5))
    sync()

    members = audience(mailchimp_settings)
    assert members["old@example.com"]["status"] == "unsubscribed"
    assert Subscriber.objects.get(pk=old.pk).status == SubscriberStatus.UNSUBSCRIBED
    assert members["fresh@example.com"]["status"] == "pending"
    assert Subscriber.objects.get(pk=fresh.pk).status == SubscriberStatus.SUBSCRIBED


def test_unsubscribing_with_us_unsubscribes_in_mailchimp(sync, mailchimp_settings):
    (reader,) = make_subscribers(1)
    sync()
    Subscriber.objects.filter(pk=reader.pk).update(status=SubscriberStatus.UNSUBSCRIBED,
                                                   status_changed_at=timezone.now())
    sync()
    assert audience(mailchimp_settings)[reader.email]["status"] == "unsubscribed"


def test_a_running_run_is_not_run_twice(sync, mailchimp_settings):
    now = timezone.now()
    AudienceSyncRun.objects.create(started_at=now, heartbeat_at=now, list_id="a1b2c3d4e5")

    with pytest.raises(AudienceSyncBusy):
        sync()
