"""subscriber_status_change: the one home of a status change and its consent row."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from pipeline.subscribers.models import (
    ConsentKind,
    ConsentRecord,
    ConsentSource,
    Subscriber,
    SubscriberStatus,
)
from pipeline.subscribers.services import subscriber_status_change

pytestmark = pytest.mark.django_db
S = SubscriberStatus
ROOT = Path(__file__).resolve().parents[2]


def _subscriber(status, changed_at):
    return Subscriber.objects.create(email="ann@example.com", status=status,
                                     status_changed_at=changed_at)


def test_a_condition_that_does_not_hold_writes_nothing():
    before = timezone.now() - timedelta(days=1)
    subscriber = _subscriber(S.CLEANED, before)
    change = subscriber_status_change(
        subscriber=subscriber, to_status=S.UNSUBSCRIBED, kind=ConsentKind.WITHDRAWN,
        source=ConsentSource.API, at=timezone.now(), only_from=(S.PENDING, S.SUBSCRIBED))
    assert not change.applied and change.consent is None
    subscriber.refresh_from_db()
    assert (subscriber.status, subscriber.status_changed_at) == (S.CLEANED, before)
    assert not ConsentRecord.objects.exists()


def test_a_dated_event_older_than_the_last_change_is_stale():
    now = timezone.now()
    subscriber = _subscriber(S.SUBSCRIBED, now)
    change = subscriber_status_change(
        subscriber=subscriber, to_status=S.UNSUBSCRIBED, kind=ConsentKind.WITHDRAWN,
        source=ConsentSource.MAILCHIMP, at=now - timedelta(seconds=1), dated_by_source=True)
    assert not change.applied
    assert Subscriber.objects.get().status == S.SUBSCRIBED


def test_a_dated_event_restating_the_status_moves_its_time_but_a_local_one_does_not():
    then = timezone.now() - timedelta(hours=1)
    subscriber = _subscriber(S.SUBSCRIBED, then)
    now = timezone.now()
    subscriber_status_change(subscriber=subscriber, to_status=S.SUBSCRIBED,
                             kind=ConsentKind.CONFIRMED, source=ConsentSource.API, at=now)
    subscriber.refresh_from_db()
    assert (subscriber.status_changed_at, subscriber.confirmed_at) == (then, now)
    change = subscriber_status_change(
        subscriber=subscriber, to_status=S.SUBSCRIBED, kind=ConsentKind.CONFIRMED,
        source=ConsentSource.MAILCHIMP, at=now, dated_by_source=True, note="x" * 600)
    subscriber.refresh_from_db()
    assert subscriber.status_changed_at == now
    assert change.consent.recorded_at == now and len(change.consent.note) == 500
    assert ConsentRecord.objects.count() == 2


def test_no_other_module_writes_a_consent_row_or_stamps_a_status_change():
    """Consent rows and status times are written in the subscribers' services only (subscribe's
    GIVEN row and subscriber_status_change): a new way in cannot skip the audit trail."""
    writers = re.compile(
        r"ConsentRecord\.objects\.(create|bulk_create|update)|status_changed_at\s*=")
    home = {ROOT / "pipeline" / "subscribers" / name for name in ("services.py", "models.py")}
    offenders = [
        str(path.relative_to(ROOT)) for path in (ROOT / "pipeline").rglob("*.py")
        if path not in home and "migrations" not in path.parts
        and writers.search(path.read_text())
    ]
    assert offenders == []
