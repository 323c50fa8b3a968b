"""Issue 12, item 4 (and item 11's release plan): the release queue publishes parts and their
announcements go to the list, so it must not be a way round Wagtail's publish permission or the
send permission. Each test is the attack over HTTP with real Wagtail users (members of Wagtail's
"Editors" and "Moderators" groups), asserting it is refused and that nothing was scheduled,
published, announced or mailed.

The rules (README, Publishing): queuing a part, changing its entry or taking it out of the queue
needs the publish permission on the part; the planner schedules the revision approved when it was
queued, in the queuer's name, with Wagtail's own permission check; a part released by the cadence
is announced by the series' default only if its queuer may send to the list; announcement settings
need the send permission; the release plan needs a release permission.
"""

from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from wagtail.models import Page

from cms.models import PartPage
from pipeline.campaigns.models import (
    Campaign,
    CampaignStatus,
    PartAnnouncementOverride,
    SeriesAnnouncementSetting,
)
from pipeline.campaigns.services.sending import campaign_send, campaigns_sweep
from pipeline.publishing.models import Announcement, ReleaseCadence, ReleaseQueueEntry
from pipeline.publishing.services.sweep import publishing_sweep
from tests.support.admin_users import admin_user, refused
from tests.support.factories import make_part, make_series
from tests.support.pages import page_form
from tests.support.subscribers import make_subscribers
from workers.tasks.campaigns import hand_over_announcement

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)  # a Friday
MONDAY = datetime(2026, 3, 23, 9, 0, tzinfo=UTC)  # the next weekly slot (09:00 GMT)
QUEUE = ("publishing.add_releasequeueentry", "publishing.change_releasequeueentry",
         "publishing.delete_releasequeueentry", "publishing.view_releasequeueentry")
CADENCE = ("publishing.change_releasecadence", "publishing.view_releasecadence")


@pytest.fixture(autouse=True)
def _at_t0(settings):
    settings.EMAIL_PROVIDER = "local"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with time_machine.travel(T0, tick=False) as clock:
        yield clock


@pytest.fixture
def weekly():
    """A series released on Mondays at 09:00 with two followers, and a draft part in it."""
    series = make_series(title="Moving Well")
    ReleaseCadence.objects.create(series=series, release_time=time(9, 0), monday=True)
    make_subscribers(2, series=[series])
    return series


def queue_url(action="add", *args) -> str:
    return reverse(f"wagtailsnippets_publishing_releasequeueentry:{action}", args=args)


def post(client, url, data, capture):
    """A POST whose on-commit work (the re-plan) runs, as after a real request."""
    with capture(execute=True):
        return client.post(url, data)


def scheduled(part) -> bool:
    return part.revisions.filter(approved_go_live_at__isnull=False).exists()


def release_and_announce(clock, when=MONDAY):
    """The sweep at the slot, then the announcement hand-over and the mail worker."""
    clock.move_to(when + timedelta(seconds=1))
    publishing_sweep()
    for announcement in Announcement.objects.all():
        hand_over_announcement(announcement.pk)
    for campaign_id in campaigns_sweep():
        campaign_send(campaign_id=campaign_id)


def test_the_queue_permission_does_not_publish_a_part_its_holder_may_not_publish(
        client, weekly, _at_t0, django_capture_on_commit_callbacks):
    part = make_part(weekly, live=False, title="Unreviewed draft")
    client.force_login(admin_user("queuer", groups=["Editors"], permissions=QUEUE))

    response = post(client, queue_url(), {"part": part.pk}, django_capture_on_commit_callbacks)
    release_and_announce(_at_t0)

    assert not PartPage.objects.get(pk=part.pk).live
    assert not Announcement.objects.exists() and mail.outbox == []
    assert not ReleaseQueueEntry.objects.exists() and not scheduled(part)
    assert response.status_code == 200 and "may not publish part" in response.content.decode()


def test_editing_a_queue_entry_cannot_swap_in_a_part_its_editor_may_not_publish(
        client, weekly, _at_t0, django_capture_on_commit_callbacks):
    approved = make_part(weekly, live=False, title="Approved part")
    other = make_part(weekly, live=False, title="Someone else's draft")
    client.force_login(admin_user("moderator", groups=["Moderators"], permissions=QUEUE))
    post(client, queue_url(), {"part": approved.pk}, django_capture_on_commit_callbacks)
    entry = ReleaseQueueEntry.objects.get()
    client.force_login(admin_user("queuer", groups=["Editors"], permissions=QUEUE))

    response = post(client, queue_url("edit", entry.pk), {"part": other.pk},
                    django_capture_on_commit_callbacks)
    release_and_announce(_at_t0)

    assert not PartPage.objects.get(pk=other.pk).live
    assert ReleaseQueueEntry.objects.get().part_id == approved.pk and not scheduled(other)
    assert refused(response)


def test_taking_a_part_out_of_the_queue_needs_publish_rights_on_it(
        client, weekly, _at_t0, django_capture_on_commit_callbacks):
    part = make_part(weekly, live=False, title="Approved part")
    client.force_login(admin_user("moderator", groups=["Moderators"], permissions=QUEUE))
    post(client, queue_url(), {"part": part.pk}, django_capture_on_commit_callbacks)
    entry = ReleaseQueueEntry.objects.get()
    client.force_login(admin_user("queuer", groups=["Editors"], permissions=QUEUE))

    response = post(client, queue_url("delete", entry.pk), {},
                    django_capture_on_commit_callbacks)

    assert ReleaseQueueEntry.objects.filter(pk=entry.pk).exists() and scheduled(part)
    assert refused(response)


def test_a_draft_saved_after_queuing_is_not_released_in_the_queuers_name(
        client, weekly, _at_t0, django_capture_on_commit_callbacks):
    """A moderator queues a part while the series is paused (so the page is not scheduled, and
    not locked); an editor who may not publish edits it; the moderator resumes the cadence. What
    goes live is what the moderator approved, not the editor's later draft."""
    ReleaseCadence.objects.update(paused=True)
    part = make_part(weekly, live=False, title="Approved title")
    moderator = admin_user("moderator", groups=["Moderators"], permissions=(*QUEUE, *CADENCE))
    client.force_login(moderator)
    post(client, queue_url(), {"part": part.pk}, django_capture_on_commit_callbacks)

    client.force_login(admin_user("editor", groups=["Editors"]))
    draft = client.post(reverse("wagtailadmin_pages:edit", args=[part.pk]),
                        page_form(part, title="Defaced title"))
    assert draft.status_code == 302
    assert Page.objects.get(pk=part.pk).get_latest_revision().content["title"] == (
        "Defaced title")

    client.force_login(moderator)  # resumes the releases
    cadence = ReleaseCadence.objects.get()
    post(client, reverse("wagtailsnippets_publishing_releasecadence:edit", args=[cadence.pk]),
         cadence_form(weekly, monday="on"), django_capture_on_commit_callbacks)
    release_and_announce(_at_t0)

    live = PartPage.objects.get(pk=part.pk)
    assert live.live and live.title == "Approved title"


def test_a_queuer_who_lost_publish_rights_releases_nothing(
        client, weekly, _at_t0, django_capture_on_commit_callbacks):
    part = make_part(weekly, live=False, title="Queued part")
    moderator = admin_user("moderator", groups=["Moderators"], permissions=(*QUEUE, *CADENCE))
    client.force_login(moderator)
    post(client, queue_url(), {"part": part.pk}, django_capture_on_commit_callbacks)
    assert scheduled(part)
    moderator.groups.clear()  # no longer a moderator; the cadence is saved again (re-planned)
    client.force_login(admin_user("manager", permissions=CADENCE))
    cadence = ReleaseCadence.objects.get()
    post(client, reverse("wagtailsnippets_publishing_releasecadence:edit", args=[cadence.pk]),
         cadence_form(weekly, monday="on"), django_capture_on_commit_callbacks)

    release_and_announce(_at_t0)

    assert not PartPage.objects.get(pk=part.pk).live and not scheduled(part)
    assert "may no longer publish" in ReleaseQueueEntry.objects.get().plan_note


def test_a_part_released_by_the_cadence_is_not_announced_without_the_send_permission(
        client, weekly, _at_t0, django_capture_on_commit_callbacks):
    """A moderator may publish the part (and so queue it), but the series' default of
    announcing automatically needs someone with the send permission behind it."""
    part = make_part(weekly, live=False, title="Warm up")
    client.force_login(admin_user("moderator", groups=["Moderators"], permissions=QUEUE))

    post(client, queue_url(), {"part": part.pk}, django_capture_on_commit_callbacks)
    release_and_announce(_at_t0)

    assert PartPage.objects.get(pk=part.pk).live  # released: they may publish it
    campaign = Campaign.objects.get(part=part)
    assert mail.outbox == [] and campaign.status == CampaignStatus.DRAFT
    assert "may not send to the list" in campaign.transitions.last().reason


def test_a_moderator_publishing_a_part_does_not_mail_the_list_without_the_send_permission(
        client, weekly, _at_t0):
    """The same rule for a part published from the page editor: the series' default of
    announcing automatically needs a publisher with the send permission."""
    part = make_part(weekly, live=False, title="Warm up")
    client.force_login(admin_user("moderator", groups=["Moderators"]))

    response = client.post(reverse("wagtailadmin_pages:edit", args=[part.pk]),
                           page_form(part, **{"action-publish": "action-publish"}))
    release_and_announce(_at_t0, when=T0)

    assert PartPage.objects.get(pk=part.pk).live and response.status_code == 302
    campaign = Campaign.objects.get(part=part)
    assert mail.outbox == [] and campaign.status == CampaignStatus.DRAFT


def test_switching_a_series_to_announce_automatically_needs_the_send_permission(
        client, weekly):
    setting = SeriesAnnouncementSetting.objects.create(series=weekly,
                                                       announce_automatically=False)
    client.force_login(admin_user("ed", groups=["Editors"], permissions=(
        "campaigns.change_seriesannouncementsetting",
        "campaigns.view_seriesannouncementsetting")))

    response = client.post(
        reverse("wagtailsnippets_campaigns_seriesannouncementsetting:edit", args=[setting.pk]),
        {"series": weekly.pk, "announce_automatically": "on"})

    setting.refresh_from_db()
    assert setting.announce_automatically is False
    assert refused(response)


def test_forcing_a_part_to_be_announced_needs_the_send_permission(client, weekly):
    part = make_part(weekly, live=False, title="Warm up")
    client.force_login(admin_user("ed", groups=["Editors"], permissions=(
        "campaigns.add_partannouncementoverride", "campaigns.view_partannouncementoverride")))

    response = client.post(reverse("wagtailsnippets_campaigns_partannouncementoverride:add"),
                           {"part": part.pk, "choice": "always"})

    assert not PartAnnouncementOverride.objects.exists()
    assert refused(response)


def test_the_release_plan_needs_a_release_permission(client, weekly, _at_t0):
    part = make_part(weekly, live=False, title="Unannounced secret part")
    ReleaseQueueEntry.objects.create(part=part)
    client.force_login(admin_user("ed", groups=["Editors"]))

    response = client.get(reverse("pipeline_release_plan"))

    assert b"Unannounced secret part" not in response.content
    assert refused(response)


# -- form data ---------------------------------------------------------------------------------
def cadence_form(series, **days):
    return {"series": series.pk, "kind": "weekly", "release_time": "09:00", **days,
            "skipped_dates-TOTAL_FORMS": "0", "skipped_dates-INITIAL_FORMS": "0",
            "skipped_dates-MIN_NUM_FORMS": "0", "skipped_dates-MAX_NUM_FORMS": "1000"}
