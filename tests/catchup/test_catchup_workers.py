"""Catch-up end to end over real processes: a Celery worker (real Redis broker) sending over SMTP
to a sink on loopback, the web side through Django's test client.

The worker is another process, so time-machine cannot move its clock: the test advances time by
giving each catch-up step the moment it runs as (the task's ``at``, what beat's tick would be on
that day), and the catch-up ledger is written with that clock.
"""

import asyncio
import re
from datetime import timedelta

import pytest
from django.test import Client

from cms.models import PartPage
from pipeline.campaigns.services.local import ledger_window, smtp_connections
from pipeline.catchup.models import (
    CatchupDelivery,
    CatchupProgress,
    DeliveryState,
    ProgressState,
    WelcomeEmail,
)
from pipeline.catchup.services.progress import catchup_start
from tests.support.catchup import OrderedHandler, catchup_subject, series_with_parts
from tests.support.processes import celery_worker, purge_queues, wait_until
from tests.support.smtp_sink import SmtpSink
from tests.support.subscribers import CONSENT, make_subscribers
from workers.tasks.catchup import step

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


class SlowHandler(OrderedHandler):
    """A mail server that takes a little while per message, so a kill lands mid-step."""

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(0.02)
        return await super().handle_DATA(server, session, envelope)


def _worker_env(sink) -> dict:
    return {"DJANGO_SETTINGS_MODULE": "tests.support.worker_settings",
            "TRIAL_SMTP_PORT": str(sink.port), "TRIAL_PROVIDER": "local"}


def _link(handler, address: str, subject_part: str, pattern: str) -> str:
    for raw in handler.raw.get(address, []):
        text = raw.decode("utf-8", "replace")
        if subject_part in text:
            match = re.search(pattern, text)
            if match:
                return match.group(1)
    raise AssertionError(f"no {pattern} in a message to {address}")


def _path(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def _step_at(at) -> None:
    """What beat's tick does on that day, through the broker to the worker."""
    step.delay(at.isoformat())


def _sent(**filters) -> int:
    return CatchupDelivery.objects.filter(state=DeliveryState.SENT, **filters).count()


def test_late_joiner_gets_parts_one_to_three_in_order_then_part_five(tmp_path):
    series, parts = series_with_parts()  # parts 1-4 live, 5-6 to come
    # Their announcements went out before anyone joined: drop the hand-overs publishing queued.
    purge_queues()
    WelcomeEmail.objects.create(series=series, subject="Welcome to Moving Well",
                                intro="<p>Glad you are here.</p>")
    client = Client()
    with SmtpSink(OrderedHandler()) as sink:
        worker = celery_worker("mail", tmp_path, concurrency=1, **_worker_env(sink))
        try:
            for address in ("ann@example.com", "bob@example.com"):
                answer = client.post("/api/subscribers", {
                    "email": address, "series": ["moving-well"], "consent": True,
                    "consent_text": CONSENT, "form_id": "footer"},
                    content_type="application/json")
                assert answer.status_code == 202
            handler = sink.handler
            for address in ("ann@example.com", "bob@example.com"):
                wait_until(lambda a=address: handler.subjects(a), timeout=60,
                           what=f"the confirmation email to {address}")
                confirm = _link(handler, address, "confirm", r"(http\S+/confirm/\S+)")
                page = client.post(_path(confirm), HTTP_ACCEPT="text/html")
                assert page.status_code == 200
                html = page.content.decode()
                # The confirmation page offers catch-up: a form that POSTs to the catch-up URL.
                assert "3 earlier parts" in html, html
                offer = re.search(r'<form method="post" action="([^"]+/catchup/moving-well/)"',
                                  html).group(1)
                wait_until(lambda a=address: len(handler.subjects(a)) == 2, timeout=60,
                           what=f"the welcome email to {address}")
                assert client.get(_path(offer)).status_code == 200  # GET changes nothing
                assert not CatchupProgress.objects.filter(subscriber__email=address).exists()
                assert client.post(_path(offer)).status_code == 200
            ann = CatchupProgress.objects.get(subscriber__email="ann@example.com")
            assert ann.state == ProgressState.ACTIVE
            welcome = handler.raw["ann@example.com"][1].decode("utf-8", "replace")
            assert "Welcome to Moving Well" in welcome and "Step 4" in welcome  # latest part
            assert "/catchup/moving-well/" in welcome  # the catch-up offer below it

            due = ann.next_due_at  # Ann's and Bob's: the next 09:00 in London
            for day in range(1, 5):
                if day == 2:  # Bob stops emails about the series from his first catch-up email
                    stop = _link(handler, "bob@example.com", "Catching up",
                                 r"Stop emails about Moving Well: (\S+)")
                    assert client.get(_path(stop)).status_code == 200
                    assert CatchupProgress.objects.get(
                        subscriber__email="bob@example.com").state == ProgressState.ACTIVE
                    assert client.post(_path(stop)).status_code == 200
                moment = due + timedelta(days=day - 1, minutes=1)
                _step_at(moment)
                if day <= 3:
                    wait_until(lambda d=day: _sent(subscriber__email="ann@example.com") == d
                               and len(handler.subjects("ann@example.com")) == 2 + d,
                               timeout=60, what=f"the catch-up email of day {day}")
                else:
                    wait_until(lambda: CatchupProgress.objects.get(pk=ann.pk).state
                               == ProgressState.LEVEL, timeout=60, what="Ann to be level")
            ann.refresh_from_db()
            assert ann.state == ProgressState.LEVEL

            # Part 5 goes live: its announcement, through the worker, reaches Ann as usual.
            part5 = PartPage.objects.get(pk=parts[4].pk)
            part5.save_revision().publish()
            announcement = f"Moving Well, part 5: {part5.title}"
            wait_until(lambda: announcement in handler.subjects("ann@example.com"), timeout=90,
                       what="part 5's announcement")
        finally:
            worker.kill()
        ann_subjects = handler.subjects("ann@example.com")
        bob_subjects = handler.subjects("bob@example.com")
        copies = dict(handler.copies)
    assert ann_subjects[1] == "Welcome to Moving Well"
    assert ann_subjects[2:] == [catchup_subject(p) for p in parts[:3]] + [announcement]
    assert bob_subjects[2:] == [catchup_subject(parts[0])]  # unfollowed midway: stopped
    assert CatchupProgress.objects.get(subscriber__email="bob@example.com").state == \
        ProgressState.STOPPED
    assert max(copies.values()) == 1


def test_sigkill_of_the_mail_worker_mid_step_leaves_no_duplicate(tmp_path):
    series, parts = series_with_parts()
    purge_queues()  # the parts' announcements went out before these readers joined
    readers = make_subscribers(300, series=[series])
    for reader in readers:
        catchup_start(subscriber_id=reader.pk, series_id=series.pk)
    due = CatchupProgress.objects.values_list("next_due_at", flat=True).first()
    with SmtpSink(SlowHandler()) as sink:
        worker = celery_worker("mail0", tmp_path, concurrency=1, **_worker_env(sink))
        try:
            _step_at(due)
            wait_until(lambda: _sent() >= 20, timeout=60, what="the step to be sending")
            worker.kill()
            killed_with = _sent()
            worker = celery_worker("mail1", tmp_path, concurrency=1, **_worker_env(sink))
            _step_at(due)  # a redelivery the same day: nothing twice
            for day in range(1, 5):
                moment = due + timedelta(days=day, minutes=1)
                _step_at(moment)
                wait_until(lambda m=moment: not CatchupProgress.objects.filter(
                    state=ProgressState.ACTIVE, next_due_at__lte=m).exists()
                    and not CatchupDelivery.objects.filter(
                        state=DeliveryState.SENDING, updated_at__gte=m).exists(),
                    timeout=120, what=f"day {day}'s step")
        finally:
            worker.kill()
        copies = dict(sink.handler.copies)
    assert killed_with < 300, "the kill came after the step had finished"
    assert max(copies.values()) == 1
    states = list(CatchupDelivery.objects.values_list("subscriber__email", "part_id", "state"))
    subjects = {p.pk: catchup_subject(p) for p in parts}
    uncertain = 0
    for address, part_id, state in states:
        got = copies.get((subjects[part_id], address), 0)
        if state == DeliveryState.SENT:
            assert got == 1, (address, part_id)
        else:
            assert state == DeliveryState.UNCERTAIN, (address, part_id, state)
            uncertain += 1
    assert uncertain <= ledger_window(smtp_connections())  # at most the window in flight
    assert CatchupProgress.objects.filter(state=ProgressState.LEVEL).count() == 300
