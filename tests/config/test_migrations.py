"""Issue 11: an existing database upgrades with ``migrate`` and loses nothing.

The models of the one ``pipeline`` app moved to five area apps that adopt their tables in their
0001 migrations (state only) and move the content types with them. This test puts a database back
at the schema of before the move (``pipeline`` at 0005, the five apps unapplied, everything else
latest), fills every old model through the historical models of that state, runs ``migrate`` the
way an operator does, and reads every row back through today's models.
"""

from datetime import date, time, timedelta

import pytest
from django.apps import apps as current_apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from wagtail.models import ModelLogEntry

from pipeline.campaigns.models import Campaign, Delivery
from pipeline.importing.models import ImportedArticle
from pipeline.publishing.models import ReleaseCadence
from pipeline.subscribers.models import ConsentRecord, Subscriber
from tests.support.factories import OfferFactory, make_part, make_series

# Transactional, as the migrations need; serialized like the other transactional tests, so that
# the flush afterwards leaves the database as they expect.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

BEFORE_THE_MOVE = ("pipeline", "0005_merge_campaigns_audience_sync")

# Where each model of the old app lives now.
MOVED_TO = {
    "subscriber": "subscribers",
    "consentrecord": "subscribers",
    "audiencesyncrun": "audience",
    "mailchimpseriesinterest": "audience",
    "mailchimpwebhookevent": "audience",
    "announcement": "publishing",
    "sweepheartbeat": "publishing",
    "releasecadence": "publishing",
    "skippedreleasedate": "publishing",
    "releasequeueentry": "publishing",
    "campaign": "campaigns",
    "campaigntransition": "campaigns",
    "delivery": "campaigns",
    "seriesannouncementsetting": "campaigns",
    "partannouncementoverride": "campaigns",
    "campaigntestaddress": "campaigns",
    "importedarticle": "importing",
}
AREA_APPS = sorted(set(MOVED_TO.values()))


def migrate_to_before_the_move():
    """Unapply the area apps (state only, plus the content types going back) and pipeline 0006;
    return the historical apps of that state."""
    executor = MigrationExecutor(connection)
    executor.migrate([BEFORE_THE_MOVE] + [(label, None) for label in AREA_APPS])
    executor = MigrationExecutor(connection)
    graph = executor.loader.graph
    leaves = [BEFORE_THE_MOVE] + [
        node for node in graph.leaf_nodes() if node[0] not in {"pipeline", *AREA_APPS}
    ]
    old = executor.loader.project_state(leaves).apps
    # A database that never knew the area apps has its content types under "pipeline" only. The
    # area apps' backward RunPython moved them back; make sure of it without relying on that code,
    # so that the test judges the forward migration alone.
    old.get_model("contenttypes", "ContentType").objects.filter(
        app_label__in=AREA_APPS, model__in=MOVED_TO
    ).update(app_label="pipeline")
    return old


def migrate_to_latest():
    # As an operator upgrades. Content type ids do not change, so ContentType's cache stays right
    # (clearing it would make the next serialized test create content types before loading them).
    call_command("migrate", interactive=False, verbosity=0)


@pytest.fixture
def back_to_latest_afterwards():
    """Whatever happens, the database ends at the latest migration, as the other tests expect."""
    try:
        yield
    finally:
        migrate_to_latest()


def fill_every_old_model(old, *, series, other_series, part, other_part, offer, user):
    """One or more rows of every model of the old app, through its historical models, with values
    that differ from the defaults and every relation set."""
    now = timezone.now().replace(microsecond=0)

    def model(name):
        return old.get_model("pipeline", name)

    subscriber = model("Subscriber").objects.create(
        email="reader@example.org", status="subscribed", confirmed_at=now,
        status_changed_at=now, mailchimp_synced_status="subscribed",
        mailchimp_synced_hash="abc123", mailchimp_synced_at=now, mailchimp_sync_error="none",
    )
    subscriber.series.set([series.pk, other_series.pk])
    other = model("Subscriber").objects.create(email="other@example.org", status="pending")
    other.series.set([other_series.pk])
    given = model("ConsentRecord").objects.create(
        subscriber=subscriber, kind="given", source="api", recorded_at=now - timedelta(days=1),
        form_id="footer", consent_text="Yes, email me.", ip_address="192.0.2.7",
        user_agent="Firefox", requested_series=[series.slug], confirmation_sent_at=now,
    )
    model("ConsentRecord").objects.create(
        subscriber=subscriber, kind="confirmed", source="api", recorded_at=now, answers=given,
        note="clicked",
    )
    model("MailchimpSeriesInterest").objects.create(
        series_id=series.pk, category_id="cat1", interest_id="int1", interest_name="Moving Well"
    )
    model("MailchimpWebhookEvent").objects.create(
        body_sha256="f" * 64, event_type="unsubscribe", fired_at=now, email=subscriber.email,
        payload={"type": "unsubscribe", "data": {"email": subscriber.email}}, outcome="stale",
        subscriber=subscriber,
    )
    model("AudienceSyncRun").objects.create(
        started_at=now, heartbeat_at=now, state="interrupted", full=True, list_id="list1",
        upper_pk=9, cursor_pk=4, members_sent=3, errors_by_kind={"Member Exists": 1},
        batches=2, requests=5, resumed=1, last_error="timeout",
    )
    announcement = model("Announcement").objects.create(
        part_id=part.pk, revision_id=part.latest_revision_id, state="ready", ready_at=now
    )
    model("SweepHeartbeat").objects.create(
        name="publishing", last_started_at=now, last_success_at=now, last_duration_ms=12,
        last_published=1, total_published=40, total_sweeps=1000, last_max_lateness_seconds=0.5,
    )
    cadence = model("ReleaseCadence").objects.create(
        series_id=series.pk, kind="weekly", monday=True, thursday=True, release_time=time(9, 30),
        paused=True,
    )
    model("SkippedReleaseDate").objects.create(cadence=cadence, date=date(2030, 12, 25))
    model("ReleaseQueueEntry").objects.create(
        series_id=series.pk, part_id=other_part.pk, pinned_date=date(2030, 1, 7),
        planned_for=now, plan_note="pinned",
    )
    campaign = model("Campaign")
    discount = campaign.objects.create(
        kind="discount", status="scheduled", name="Spring offer", offer_id=offer.pk,
        reminder_before=timedelta(hours=24), audience="series", subject="35% off",
        preheader="this week", message="<p>Hello *|FNAME|*</p>", send_at=now,
        created_by_id=user.pk, provider="mailchimp", provider_campaign_id="mc-1",
    )
    discount.audience_series.set([series.pk, other_series.pk])
    reminder = campaign.objects.create(
        kind="last_chance", status="draft", name="Spring offer: last chance", offer_id=offer.pk,
        parent=discount, audience="series",
    )
    reminder.audience_series.set([series.pk])
    announcing = campaign.objects.create(
        kind="announcement", status="sent", name="New part", part_id=part.pk,
        announcement=announcement, sent_at=now, sent_subject="New part", sent_html="<p>x</p>",
        sent_text="x", recipient_count=1,
    )
    model("CampaignTransition").objects.create(
        campaign=discount, from_status="draft", to_status="scheduled", reason="Scheduled.",
        actor="editor", at=now,
    )
    model("Delivery").objects.create(
        campaign=announcing, subscriber=subscriber, email=subscriber.email, state="uncertain",
        message_id="<1@partwork>", error="crash", updated_at=now,
    )
    model("SeriesAnnouncementSetting").objects.create(
        series_id=other_series.pk, announce_automatically=False
    )
    model("PartAnnouncementOverride").objects.create(part_id=other_part.pk, choice="never")
    model("CampaignTestAddress").objects.create(email="test@example.org", note="the editor")
    model("ImportedArticle").objects.create(
        series_id=series.pk, part_id=part.pk, offer_id=offer.pk, source_kind="wxr",
        source_key="post-12", source_url="https://old.example.org/?p=12",
        source_file="export.xml", content_hash="e" * 64, original_title="A long title",
        author="Ann", categories=["health"], tags=["knees"], wp_post_type="post",
        wp_status="publish", wp_password_protected=True, source_published_at=now,
    )
    return {"subscriber": subscriber.pk, "given": given.pk, "discount": discount.pk,
            "reminder": reminder.pk, "announcing": announcing.pk}


def snapshot(models, *, columns_of=None):
    """Every row of the given models and of their many-to-many tables, as field values: the
    columns of ``columns_of`` (the old models; later migrations may add columns), else all."""
    rows = {}
    for model, old in zip(models, columns_of or models, strict=True):
        name = model._meta.model_name
        columns = [field.attname for field in old._meta.concrete_fields]
        rows[name] = list(model.objects.order_by("pk").values(*columns))
        for field in model._meta.many_to_many:
            through = field.remote_field.through
            rows[f"{name}.{field.name}"] = sorted(
                through.objects.values_list(field.m2m_column_name(), field.m2m_reverse_name())
            )
    return rows


def test_an_old_database_migrates_forward_and_loses_nothing(back_to_latest_afterwards):
    # Content first, with today's models (cms is not part of the move). The parts are not
    # published, so that no announcement is recorded through today's models.
    series = make_series(title="Moving Well", slug="moving-well")
    other_series = make_series(title="Sleeping Well", slug="sleeping-well")
    part = make_part(series, title="Knees", live=False)
    part.save_revision()
    other_part = make_part(series, title="Hips", live=False)
    offer = OfferFactory()
    user = get_user_model().objects.create_user("editor", "editor@example.org", "pw")

    old = migrate_to_before_the_move()
    old_models = list(old.get_app_config("pipeline").get_models())
    assert sorted(m._meta.model_name for m in old_models) == sorted(MOVED_TO)
    ids = fill_every_old_model(
        old, series=series, other_series=other_series, part=part, other_part=other_part,
        offer=offer, user=user,
    )
    before = snapshot(old_models)
    assert all(before.values()), [name for name, rows in before.items() if not rows]

    # A group allowed to send campaigns, and a Wagtail log entry bound to a campaign's content type.
    old_content_type = old.get_model("contenttypes", "ContentType")
    old_type_ids = dict(
        old_content_type.objects.filter(app_label="pipeline").values_list("model", "pk")
    )
    assert sorted(old_type_ids) == sorted(MOVED_TO)
    campaign_type = old_content_type.objects.get(app_label="pipeline", model="campaign")
    senders = old.get_model("auth", "Group").objects.create(name="Senders")
    senders.permissions.add(
        old.get_model("auth", "Permission").objects.get(
            content_type=campaign_type, codename="send_campaign"
        )
    )
    log_entry = old.get_model("wagtailcore", "ModelLogEntry").objects.create(
        content_type=campaign_type, object_id=str(ids["discount"]), label="Spring offer",
        action="wagtail.create", timestamp=timezone.now(),
    )

    migrate_to_latest()

    moved_models = [current_apps.get_model(MOVED_TO[m._meta.model_name], m._meta.model_name)
                    for m in old_models]
    assert snapshot(moved_models, columns_of=old_models) == before

    # Relations, read through today's models.
    subscriber = Subscriber.objects.get(pk=ids["subscriber"])
    assert set(subscriber.series.values_list("slug", flat=True)) == {"moving-well",
                                                                     "sleeping-well"}
    assert ConsentRecord.objects.get(answers_id=ids["given"]).subscriber == subscriber
    assert subscriber.webhook_events.get().outcome == "stale"
    discount = Campaign.objects.get(pk=ids["discount"])
    assert discount.created_by == user and discount.offer == offer
    assert set(discount.audience_series.all()) == {series, other_series}
    assert list(discount.reminders.all()) == [Campaign.objects.get(pk=ids["reminder"])]
    assert discount.transitions.get().to_status == "scheduled"
    announcing = Campaign.objects.get(pk=ids["announcing"])
    assert announcing.announcement.part == part and announcing.announcement.revision is not None
    assert Delivery.objects.get().subscriber == subscriber
    assert ReleaseCadence.objects.get(series=series).skipped_dates.get().date == date(2030, 12, 25)
    assert ImportedArticle.objects.get().part == part

    # Content types moved, so permissions and anything bound to a content type still work.
    assert not ContentType.objects.filter(app_label="pipeline", model__in=MOVED_TO).exists()
    assert {
        name: ContentType.objects.get(app_label=app_label, model=name).pk
        for name, app_label in MOVED_TO.items()
    } == old_type_ids
    assert Group.objects.get(name="Senders").permissions.get() == Permission.objects.get(
        content_type__app_label="campaigns", codename="send_campaign"
    )
    user.groups.add(Group.objects.get(name="Senders"))
    user = get_user_model().objects.get(pk=user.pk)  # no cached permissions
    assert user.has_perm("campaigns.send_campaign")
    entry = ModelLogEntry.objects.get(pk=log_entry.pk)
    assert entry.content_type.model_class() is Campaign
    assert entry.object_id == str(discount.pk)
