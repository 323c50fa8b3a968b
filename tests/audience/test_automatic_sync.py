"""Issue 17, item 8: the audience sync runs by itself (incremental on beat: who changed since the
last finished run), a full run on demand, its health on /health/alerts/, and a new series'
interest created by its first announcement rather than by a sync run."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from pipeline.audience.models import AudienceSyncRun, MailchimpErasure, MailchimpSeriesInterest
from pipeline.campaigns.models import CampaignStatus
from pipeline.campaigns.services.announcements import announcement_campaign_create
from pipeline.campaigns.services.audience import audience_mailchimp_segment
from pipeline.campaigns.services.sending import campaign_send
from pipeline.publishing.models import Announcement
from pipeline.publishing.services.sweep import publishing_sweep
from pipeline.subscribers.models import Subscriber, SubscriberStatus
from pipeline.subscribers.personal_data import subscriber_erase
from tests.support.factories import make_part, make_series
from tests.support.mailchimp import add_members, batch_requests, fast_client, real_sends
from tests.support.subscribers import make_subscribers
from workers.celery_app import app

pytestmark = pytest.mark.django_db


def scanned_by(sync, **options) -> tuple[int, object]:
    rows = []
    summary = sync(progress=lambda e: rows.append(e["rows"]) if e["event"] == "scanned"
                   else None, **options)
    return sum(rows), summary


def test_an_incremental_run_reads_only_who_changed_and_a_full_run_everyone(
        sync, mailchimp_settings):
    moving = make_series(title="Moving Well")
    # The list was made two hours ago and first synced an hour ago.
    with time_machine.travel(timezone.now() - timedelta(hours=2)):
        rows = make_subscribers(1500, series=[moving])
    with time_machine.travel(timezone.now() - timedelta(hours=1)):
        scanned, first = scanned_by(sync)
    assert (scanned, first.members_sent) == (1500, 1500)  # the first run reads everyone
    assert AudienceSyncRun.objects.get(pk=first.run_id).changed_since is None

    nothing_scanned, nothing = scanned_by(sync)
    assert (nothing_scanned, nothing.members_sent) == (0, 0)
    run = AudienceSyncRun.objects.get(pk=nothing.run_id)
    assert run.changed_since is not None and not run.full

    rows[10].series.clear()  # a change of series stamps updated_at, however it is made
    Subscriber.objects.filter(pk=rows[20].pk).update(
        status=SubscriberStatus.UNSUBSCRIBED, status_changed_at=timezone.now())
    # Drift no timestamp shows (a row restored from a backup, written around the services):
    # incremental runs do not look at it; a full run on demand sends everyone again.
    Subscriber.objects.filter(pk=rows[30].pk).update(mailchimp_synced_hash="stale")
    changed_scanned, changed = scanned_by(sync)
    assert (changed_scanned, changed.members_sent) == (2, 2)
    members = {m["email_address"]: m for m in fast_client().iter_members()}
    assert members[rows[20].email]["status"] == "unsubscribed"
    assert not any(members[rows[10].email]["interests"].values())

    full_scanned, full = scanned_by(sync, full=True)
    assert full_scanned == 1500 and full.members_sent == 1500


def test_an_erased_subscriber_is_never_pushed_and_is_deleted_instead(sync, mailchimp_settings):
    with time_machine.travel(timezone.now() - timedelta(hours=2)):
        reader, other = make_subscribers(2)
    with time_machine.travel(timezone.now() - timedelta(hours=1)):
        sync()
    subscriber_erase(subscriber_id=reader.pk, actor="test")
    summary = sync(full=True)
    assert summary.members_sent == 1  # the other one; never erased-N@erased.invalid
    emails = {m["email_address"] for m in fast_client().iter_members()}
    assert not any(e.endswith("erased.invalid") for e in emails)
    assert MailchimpErasure.objects.filter(subscriber=reader, done_at__isnull=True).exists()


def test_beat_runs_the_incremental_sync_and_the_erasures():
    schedule = app.conf.beat_schedule
    assert schedule["audience-sync"]["task"] == "workers.tasks.audience.sync_audience"
    assert schedule["audience-sync"]["kwargs"] == {"full": False}
    assert schedule["mailchimp-erasures"]["task"] == (
        "workers.tasks.audience.erase_mailchimp_members")


def test_health_shows_the_last_success_lag_and_errors(client, settings, mailchimp_settings, sync):
    make_subscribers(3)
    publishing_sweep()
    assert client.get("/health/alerts/").status_code == 200  # no run yet: nothing to date
    summary = sync()
    body = client.get("/health/alerts/").json()
    figures = body["checks"]["audience_sync"]
    assert figures["ok"] and figures["last_run_errors"] == 0 and figures["automatic"]
    assert figures["last_success_at"] and figures["lag_seconds"] <= 60
    started = AudienceSyncRun.objects.get(pk=summary.run_id).started_at

    late = started + settings.AUDIENCE_SYNC_MAX_LAG + timedelta(minutes=1)
    with time_machine.travel(late, tick=False):
        publishing_sweep()
        body = client.get("/health/alerts/").json()
    assert body["failing"] == ["audience_sync"]
    assert "has not finished a run for 61 min" in body["checks"]["audience_sync"]["detail"]

    # An erasure Mailchimp keeps refusing is raised after ERASURE_ALERT_AFTER.
    sync()
    MailchimpErasure.objects.create(list_id=mailchimp_settings.list_id, member_hash="0" * 32,
                                    requested_at=timezone.now() - timedelta(hours=7),
                                    due_at=timezone.now(), last_error="Mailchimp answered 503")
    publishing_sweep()
    body = client.get("/health/alerts/").json()
    assert body["failing"] == ["audience_sync"]
    assert "1 Mailchimp erasure(s) pending" in body["checks"]["audience_sync"]["detail"]
    assert "503" in body["checks"]["audience_sync"]["detail"]


def test_a_new_series_first_announcement_creates_its_interest(settings, mailchimp_settings):
    series = make_series(title="Sleeping Well", slug="sleeping-well")
    add_members(mailchimp_settings, ["other@example.com"])
    assert not MailchimpSeriesInterest.objects.exists()  # no sync has run since it began
    part = make_part(series, title="Naps")
    campaign = announcement_campaign_create(
        announcement_id=Announcement.objects.get(part=part).pk)

    # What the send path does first (mailchimp._create, with the provider's client): the
    # series' interest is made at Mailchimp on the spot, in the "Series" category.
    segment = audience_mailchimp_segment(campaign, client=fast_client())
    interest = MailchimpSeriesInterest.objects.get(series=series)
    assert segment["conditions"][0]["value"] == [interest.interest_id]
    category = fast_client().interest_categories()[0]
    assert [i["name"] for i in fast_client().interests(category["id"])] == ["Sleeping Well"]

    # A reader joins the series through Mailchimp's own form; the announcement goes to them.
    fast_client().upsert_member("follower@example.com", status_if_new="subscribed",
                                interests={interest.interest_id: True})
    assert campaign_send(campaign_id=campaign.pk) == CampaignStatus.SENT
    (send,) = real_sends(mailchimp_settings)
    assert send["recipients"] == ["follower@example.com"]
    assert MailchimpSeriesInterest.objects.count() == 1  # made once, not again
    assert batch_requests(mailchimp_settings) == 0  # no sync was needed


def test_the_send_path_creates_a_missing_interest_itself(settings, mailchimp_settings):
    series = make_series(title="Breathing Well", slug="breathing-well")
    part = make_part(series, title="Nose")
    campaign = announcement_campaign_create(
        announcement_id=Announcement.objects.get(part=part).pk)
    campaign_send(campaign_id=campaign.pk)  # nobody follows it at Mailchimp yet: not ready
    interest = MailchimpSeriesInterest.objects.get(series=series)
    campaign.refresh_from_db()
    assert "no Mailchimp interest" not in campaign.last_error
    assert "not ready" in campaign.last_error  # Mailchimp's word: the segment is empty
    category = fast_client().interest_categories()[0]
    assert [i["id"] for i in fast_client().interests(category["id"])] == [interest.interest_id]
