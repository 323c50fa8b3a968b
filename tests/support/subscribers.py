"""Subscribers for tests: rows made in bulk, and the subscriber API called as a signup form does."""

import re

from django.conf import settings
from django.core import mail

from pipeline.subscribers.models import Subscriber, SubscriberStatus

CONSENT = "Yes, email me new parts and offers. I can unsubscribe at any time."


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


def subscribe(client, email, *, series=("moving-well",), ip="203.0.113.7", headers=None,
              **extra):
    """POST /api/subscribers with consent, as the site's footer form does."""
    body = {
        "email": email,
        "series": list(series),
        "consent": True,
        "consent_text": CONSENT,
        "form_id": "footer-form",
        **extra,
    }
    return client.post(
        "/api/subscribers", body, content_type="application/json", REMOTE_ADDR=ip,
        headers=headers or {},
    )


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
