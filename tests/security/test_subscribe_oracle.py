"""Issue 12, item 6: the subscribe endpoint must not tell who is subscribed.

Before: the confirmation email was sent inside the request, so a new address took longer than a
subscribed one, and during a mail outage a new address got 503 while a known one got 202.
Now the request only records the consent and queues one task for every address (the worker
decides whether an email is owed), so answers and work are the same whoever asks."""

import json
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from pipeline.subscribers.models import ConsentRecord, Subscriber, SubscriberStatus
from tests.support.subscribers import CONSENT, make_member
from tests.support.workers import tasks_run_on_commit
from workers.celery_app import app as celery_app

pytestmark = pytest.mark.django_db


def post_subscribe(client, email, ip):
    body = {"email": email, "series": ["moving-well"], "consent": True, "consent_text": CONSENT}
    return client.post("/api/subscribers", json.dumps(body), content_type="application/json",
                       REMOTE_ADDR=ip)


@pytest.fixture
def known(series):
    """A subscriber who already follows everything the form asks for: no email is owed."""
    return make_member("known@example.com", series)


def smtp_down(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2


def test_the_request_sends_nothing_and_queues_the_same_work_for_every_address(
        client, known, django_capture_on_commit_callbacks):
    queued = {}
    for n, email in enumerate(["new@example.com", "known@example.com"]):
        with django_capture_on_commit_callbacks() as callbacks:
            assert post_subscribe(client, email, f"192.0.2.{n + 1}").status_code == 202
        queued[email] = len(callbacks)
        assert not mail.outbox, "no email may be sent while the request runs"
    assert queued == {"new@example.com": 1, "known@example.com": 1}


def test_a_mail_outage_answers_a_known_and_a_new_address_alike(client, known, settings):
    smtp_down(settings)
    with tasks_run_on_commit():
        new = post_subscribe(client, "new@example.com", "192.0.2.1")
    with tasks_run_on_commit():
        old = post_subscribe(client, "known@example.com", "192.0.2.2")
    assert (new.status_code, new.json()) == (old.status_code, old.json())
    assert new.status_code == 202
    known.refresh_from_db()
    assert known.status == SubscriberStatus.SUBSCRIBED
    assert Subscriber.objects.get(email="new@example.com").status == SubscriberStatus.PENDING


def test_a_confirmation_owed_through_an_outage_is_sent_when_mail_returns(client, series,
                                                                       settings):
    smtp_down(settings)
    with tasks_run_on_commit():
        assert post_subscribe(client, "new@example.com", "192.0.2.1").status_code == 202
    consent = ConsentRecord.objects.get()
    assert consent.confirmation_sent_at is None and not mail.outbox

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with time_machine.travel(timezone.now() + timedelta(minutes=10), tick=False), \
            tasks_run_on_commit():
        # What beat sends (by name, as beat does); the send tasks it queues run here too.
        celery_app.tasks["workers.tasks.subscribers.sweep_confirmations"].delay()
    assert [m.to for m in mail.outbox] == [["new@example.com"]]
    consent.refresh_from_db()
    assert consent.confirmation_sent_at is not None
