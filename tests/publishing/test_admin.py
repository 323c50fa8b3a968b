from datetime import UTC, datetime

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.urls import reverse

from pipeline.publishing.models import Announcement, ReleaseCadence, ReleaseQueueEntry
from tests.support.factories import make_part, make_series

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor(client):
    user = get_user_model().objects.create_superuser("editor", "editor@example.com", "pw")
    client.force_login(user)
    return client


def cadence_form(series, **fields):
    data = {
        "series": series.pk,
        "kind": "weekly",
        "release_time": "09:00",
        "skipped_dates-TOTAL_FORMS": "0",
        "skipped_dates-INITIAL_FORMS": "0",
        "skipped_dates-MIN_NUM_FORMS": "0",
        "skipped_dates-MAX_NUM_FORMS": "1000",
    }
    data.update(fields)
    return data


@time_machine.travel(datetime(2026, 3, 1, 12, tzinfo=UTC), tick=False)
def test_cadence_form_shows_clear_messages(editor):
    series = make_series()
    url = reverse("wagtailsnippets_publishing_releasecadence:add")
    response = editor.post(url, cadence_form(series))
    assert response.status_code == 200
    assert "has no valid release slot" in response.content.decode()
    response = editor.post(url, cadence_form(series, sunday="on", release_time="01:30"))
    assert "01:30 does not exist in Europe/London on Sunday 29 March 2026" in (
        response.content.decode()
    )
    assert not ReleaseCadence.objects.exists()
    response = editor.post(url, cadence_form(series, monday="on"))
    assert response.status_code == 302
    assert ReleaseCadence.objects.get().describe() == "weekly on Mon at 09:00"


@time_machine.travel(datetime(2026, 3, 1, 12, tzinfo=UTC), tick=False)
def test_queue_form_refuses_a_past_pin_and_the_plan_shows_the_part(
    editor, django_capture_on_commit_callbacks
):
    series = make_series(title="Moving Well")
    ReleaseCadence.objects.create(series=series, release_time="09:00", monday=True)
    part = make_part(series, live=False, title="Warm up")
    url = reverse("wagtailsnippets_publishing_releasequeueentry:add")
    response = editor.post(url, {"part": part.pk, "pinned_date": "2026-02-02"})
    assert "is in the past; pin the part to a later date" in response.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = editor.post(url, {"part": part.pk})
    assert response.status_code == 302
    entry = ReleaseQueueEntry.objects.get()
    # Saving the entry re-planned the series on commit.
    assert entry.planned_for == datetime(2026, 3, 2, 9, tzinfo=UTC)
    plan = editor.get(reverse("pipeline_release_plan")).content.decode()
    assert "1. Warm up" in plan and "Mon 2 Mar 2026" in plan and "09:00 Europe/London" in plan


def test_announcements_are_listed_read_only(editor):
    part = make_part(make_series(), title="Breathing")
    listing = editor.get(reverse("wagtailsnippets_publishing_announcement:list"))
    assert "Breathing" in listing.content.decode()
    announcement = Announcement.objects.get(part=part)
    edit = editor.get(
        reverse("wagtailsnippets_publishing_announcement:edit", args=[announcement.pk])
    )
    assert edit.status_code in (302, 403)
    add = editor.get(reverse("wagtailsnippets_publishing_announcement:add"))
    assert add.status_code in (302, 403)
