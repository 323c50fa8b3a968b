import re
import uuid

import pytest
from django.conf import settings
from django.core import mail

from tests.support.factories import make_series


@pytest.fixture(autouse=True)
def _own_rate_limit_counters(settings):
    """Each test counts in its own Redis keys (real Redis; keys expire by themselves)."""
    settings.SUBSCRIBER_RATE_LIMIT_PREFIX = f"test-ratelimit-{uuid.uuid4().hex}"


@pytest.fixture
def series(db):
    return make_series(title="Moving Well", slug="moving-well")


@pytest.fixture
def other_series(db):
    return make_series(title="Eating Well", slug="eating-well")


CONSENT = "Yes, email me new parts and offers. I can unsubscribe at any time."


def subscribe(client, email, *, series=("moving-well",), ip="203.0.113.7", headers=None,
              **extra):
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
    assert url.startswith(settings.BASE_URL)
    return url[len(settings.BASE_URL):]


def confirm_path_from_outbox(index: int = -1) -> str:
    message = mail.outbox[index]
    match = re.search(r"(http\S+/api/subscribers/confirm/\S+)", message.body)
    assert match, message.body
    return link_path(match.group(1))
