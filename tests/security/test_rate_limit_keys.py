"""Issue 12, item 7: rate limits must count per real client, and never lock the owner out.

Before: every limit was keyed on REMOTE_ADDR, which behind the TLS proxy is the proxy (one bucket
for everybody), and on IPv6 every address of a /64 was a fresh bucket; four subscribes of an
address locked its owner out for an hour; a noisy client held one-click unsubscribes at 429."""

import json

import pytest
from django.core import mail

from pipeline.subscribers.models import Subscriber, SubscriberStatus
from pipeline.subscribers.services import subscriber_email_headers
from tests.support.subscribers import CONSENT, link_path
from tests.support.workers import tasks_run_on_commit

pytestmark = pytest.mark.django_db

PROXY = "10.0.0.2"  # the TLS proxy, as the web server sees it


@pytest.fixture(autouse=True)
def _behind_the_proxy(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]


def subscribe(client, email, *, remote=PROXY, forwarded=None):
    body = {"email": email, "series": ["moving-well"], "consent": True, "consent_text": CONSENT}
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    return client.post("/api/subscribers", json.dumps(body), content_type="application/json",
                       REMOTE_ADDR=remote, **extra).status_code


def test_one_client_behind_the_proxy_cannot_use_up_everyone_s_limit(client, series):
    flood = [subscribe(client, f"bot{n}@example.com", forwarded="198.51.100.66")
             for n in range(12)]
    assert flood[-1] == 429
    # Another visitor, through the same proxy, is a different client.
    assert subscribe(client, "ann@example.com", forwarded="203.0.113.5") == 202
    # A client cannot buy a fresh bucket by writing its own X-Forwarded-For: the proxy appends.
    assert subscribe(client, "bot@example.com", forwarded="192.0.2.1, 198.51.100.66") == 429


def test_an_ipv6_client_cannot_rotate_addresses_within_its_64(client, series):
    codes = [subscribe(client, f"bot{n}@example.com", remote=f"2001:db8:1:2::{n + 1:x}")
             for n in range(12)]
    assert codes[-1] == 429
    assert Subscriber.objects.count() < 12


def test_four_subscribes_of_an_address_do_not_lock_its_owner_out(client, series):
    with tasks_run_on_commit():
        attacks = [subscribe(client, "owner@example.com", remote="198.51.100.66")
                   for _ in range(4)]
    assert attacks[-1] == 429  # the repeating client is refused...
    sent = len(mail.outbox)
    with tasks_run_on_commit():
        assert subscribe(client, "owner@example.com", remote="203.0.113.9") == 202
    assert len(mail.outbox) == sent + 1  # ...the owner, elsewhere, gets a confirmation
    assert mail.outbox[-1].to == ["owner@example.com"]


def test_one_click_unsubscribes_are_not_starved_by_a_noisy_client(client, series):
    members = [Subscriber.objects.create(email=f"reader{n}@example.com",
                                         status=SubscriberStatus.SUBSCRIBED) for n in range(70)]
    # A noisy client behind the same address as the mailbox provider's POSTs (no proxy trusted).
    noise = [client.get(f"/api/subscribers/unsubscribe/junk{n}", REMOTE_ADDR=PROXY).status_code
             for n in range(70)]
    assert noise[-1] == 429
    # A campaign peak: 70 one-click unsubscribes from that one address all go through.
    for member in members:
        path = link_path(subscriber_email_headers(member)["List-Unsubscribe"].strip("<>"))
        response = client.post(path, "List-Unsubscribe=One-Click", REMOTE_ADDR=PROXY,
                               content_type="application/x-www-form-urlencoded")
        assert response.status_code == 200, response.content
    assert not Subscriber.objects.receiving().exists()
