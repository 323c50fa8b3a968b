"""Subscribers for tests: rows made in bulk, and the subscriber API called as a signup form does."""

import contextlib
import re
import uuid

from django.conf import settings
from django.core import mail

from pipeline.subscribers.models import Subscriber, SubscriberStatus
from pipeline.subscribers.services import ConfirmationDeferred
from pipeline.subscribers.signals import confirmation_requested
from workers.tasks.subscribers import send_confirmation

CONSENT = "Yes, email me new parts and offers. I can unsubscribe at any time."


def make_member(email: str = "ann@example.com", *series) -> Subscriber:
    """One confirmed subscriber following ``series``."""
    member = Subscriber.objects.create(email=email, status=SubscriberStatus.SUBSCRIBED)
    member.series.add(*series)
    return member


def make_subscribers(count: int, *, status=SubscriberStatus.SUBSCRIBED, series=(),
                     prefix="reader", **fields) -> list[Subscriber]:
    """``count`` subscribers ``{prefix}{n}@example.com`` (n from 0), in pk order, each on the
    list of every page in ``series``."""
    Subscriber.objects.bulk_create(
        Subscriber(email=f"{prefix}{n}@example.com", status=status, **fields)
        for n in range(count))
    rows = list(Subscriber.objects.filter(email__startswith=prefix).order_by("pk"))
    through = Subscriber.series.through
    through.objects.bulk_create(through(subscriber_id=s.pk, seriespage_id=page.pk)
                                for s in rows for page in series)
    return rows


@contextlib.contextmanager
def confirmations_requested():
    """The consent ids whose confirmation email was queued (on commit) inside the block."""
    requested: list[int] = []
    uid = f"test-confirmations-{uuid.uuid4().hex}"
    confirmation_requested.connect(lambda consent_id, **kwargs: requested.append(consent_id),
                                   weak=False, dispatch_uid=uid)
    try:
        yield requested
    finally:
        confirmation_requested.disconnect(dispatch_uid=uid)


def deliver_confirmations(consent_ids) -> None:
    """What the mail worker does with the queued tasks: run them (here, in this process). A
    deferred one (a mail outage) stays due, for the retry or the sweep."""
    for consent_id in consent_ids:
        with contextlib.suppress(ConfirmationDeferred):
            send_confirmation(consent_id)


def subscribe(client, email, *, series=("moving-well",), ip="203.0.113.7", headers=None,
              deliver=True, **extra):
    """POST /api/subscribers with consent, as the site's footer form does; then, unless
    ``deliver`` is false, run the confirmation task it queued, as the mail worker would."""
    body = {
        "email": email,
        "series": list(series),
        "consent": True,
        "consent_text": CONSENT,
        "form_id": "footer-form",
        **extra,
    }
    with confirmations_requested() as requested:
        response = client.post(
            "/api/subscribers", body, content_type="application/json", REMOTE_ADDR=ip,
            headers=headers or {},
        )
    if deliver:
        deliver_confirmations(requested)
    return response


def link_path(url: str) -> str:
    """The path of a link we emailed, for the test client."""
    assert url.startswith(settings.BASE_URL)
    return url[len(settings.BASE_URL):]


def confirm_path_from_outbox(index: int = -1) -> str:
    """The confirmation link's path from a confirmation email in Django's test outbox."""
    message = mail.outbox[index]
    match = re.search(r"(http\S+/api/subscribers/confirm/\S+)", message.body)
    assert match, message.body
    return link_path(match.group(1))
