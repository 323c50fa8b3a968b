from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from pipeline.publishing.models import Announcement
from pipeline.publishing.services.announcements import (
    announcement_mark_ready,
    announcement_record_intent,
)
from pipeline.publishing.signals import announcement_created
from tests.support.factories import make_part, make_series

pytestmark = pytest.mark.django_db


def test_first_publish_from_the_admin_records_one_announcement():
    part = make_part(make_series())  # published directly, as the admin's Publish button does
    announcement = Announcement.objects.get(part=part)
    assert announcement.state == Announcement.State.PENDING
    assert announcement.revision_id == part.live_revision_id


def test_republishing_an_edit_does_not_announce_again():
    part = make_part(make_series())
    part.title = "Edited title"
    part.save_revision().publish()
    part.unpublish()
    part.refresh_from_db()
    part.save_revision().publish()
    assert Announcement.objects.filter(part=part).count() == 1


def test_scheduling_a_part_announces_nothing_until_it_is_live():
    part = make_part(make_series(), live=False, go_live_at=timezone.now() + timedelta(hours=1))
    assert not part.live
    assert not Announcement.objects.filter(part=part).exists()


def test_the_database_refuses_a_second_announcement_for_a_part():
    part = make_part(make_series())
    with pytest.raises(IntegrityError), transaction.atomic():
        Announcement.objects.create(part=part)


def test_recording_twice_returns_the_same_record_and_signals_once():
    received = []

    def receive(announcement_id, **kwargs):
        received.append(announcement_id)

    announcement_created.connect(receive, weak=False, dispatch_uid="test-recording-twice")
    try:
        part = make_part(make_series())
        again = announcement_record_intent(part=part, revision_id=part.live_revision_id)
    finally:
        announcement_created.disconnect(dispatch_uid="test-recording-twice")
    assert again == Announcement.objects.get(part=part).pk
    assert Announcement.objects.count() == 1
    assert len(received) == 1  # only the insert that made the row hands it over


def test_hand_over_marks_ready_once():
    part = make_part(make_series())
    announcement = Announcement.objects.get(part=part)
    assert announcement_mark_ready(announcement_id=announcement.pk) is True
    assert announcement_mark_ready(announcement_id=announcement.pk) is False
    announcement.refresh_from_db()
    assert announcement.state == Announcement.State.READY and announcement.ready_at
