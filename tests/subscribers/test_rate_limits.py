"""Against the real Redis behind Django's cache (REDIS_URL, or the embedded one)."""

import time

import pytest
import time_machine
from django.core import mail
from django.core.cache import cache

from pipeline.subscribers.models import ConsentRecord, Subscriber
from pipeline.subscribers.rate_limits import RateLimited, hit
from tests.support.subscribers import subscribe

pytestmark = pytest.mark.django_db


def _limit(settings, rule: str, limit: int, window_seconds: int) -> None:
    """Tighten one rule; the others keep their configured values."""
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, rule: (limit, window_seconds)}


def test_a_flood_from_one_ip_gets_429_with_retry_after(client, series, settings):
    _limit(settings, "subscribe-ip", 5, 600)
    answers = [
        subscribe(client, f"reader{n}@example.com", ip="192.0.2.10").status_code
        for n in range(8)
    ]
    assert answers == [202] * 5 + [429] * 3
    refused = subscribe(client, "late@example.com", ip="192.0.2.10")
    assert refused["Content-Type"] == "application/json"
    assert "Too many requests" in refused.json()["detail"]
    assert 1 <= int(refused["Retry-After"]) <= 600
    assert Subscriber.objects.count() == 5
    # Someone else is not punished for the flood.
    assert subscribe(client, "neighbour@example.com", ip="192.0.2.11").status_code == 202


def test_one_address_cannot_be_mail_bombed_from_many_ips(client, series, settings):
    _limit(settings, "confirmations", 2, 86400)
    answers = [
        subscribe(client, "Victim@Example.com", ip=f"192.0.2.{n}").status_code
        for n in range(1, 5)
    ]
    assert answers == [202] * 4  # the cap is on the emails, sent out of the request
    assert len(mail.outbox) == 2
    assert ConsentRecord.objects.count() == 4
    assert ConsentRecord.objects.filter(note__startswith="Too many confirmation").count() == 2


def test_one_client_repeating_one_address_is_refused_but_the_owner_is_not(client, series,
                                                                         settings):
    _limit(settings, "subscribe-address", 2, 3600)
    answers = [subscribe(client, "ann@example.com", ip="192.0.2.1").status_code
               for _ in range(3)]
    assert answers == [202, 202, 429]
    assert subscribe(client, "ann@example.com", ip="198.51.100.7").status_code == 202


def test_the_general_per_ip_limit_covers_link_endpoints(client, settings):
    _limit(settings, "ip", 3, 60)
    codes = [client.get("/api/subscribers/unsubscribe/x", REMOTE_ADDR="192.0.2.50").status_code
             for _ in range(5)]
    assert codes == [400, 400, 400, 429, 429]


def test_the_window_resets(settings):
    _limit(settings, "subscribe-ip", 2, 60)
    with time_machine.travel(time.time(), tick=False) as traveller:
        hit("subscribe-ip", "192.0.2.20")
        hit("subscribe-ip", "192.0.2.20")
        with pytest.raises(RateLimited) as raised:
            hit("subscribe-ip", "192.0.2.20")
        assert 1 <= raised.value.retry_after <= 60
        traveller.shift(61)
        assert hit("subscribe-ip", "192.0.2.20") == 1


def test_counters_live_in_redis_with_an_expiry(settings):
    _limit(settings, "subscribe-ip", 5, 60)
    hit("subscribe-ip", "192.0.2.30")
    client = cache._cache.get_client(write=False)
    keys = client.keys(f"*{settings.SUBSCRIBER_RATE_LIMIT_PREFIX}*")
    assert len(keys) == 1
    assert 0 < client.ttl(keys[0]) <= 65
    assert int(client.get(keys[0])) == 1
