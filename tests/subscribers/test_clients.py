"""Who the client is (pipeline/subscribers/clients.py): X-Forwarded-For believed only as far as
the trusted proxies wrote it; IPv6 counted per /64."""

import pytest
from django.test import RequestFactory

from pipeline.subscribers.clients import UNKNOWN, client_bucket, client_ip


def ip(remote, forwarded=None):
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return client_ip(RequestFactory().get("/", REMOTE_ADDR=remote, **extra))


@pytest.mark.parametrize("remote, forwarded, expected", [
    ("203.0.113.5", "1.2.3.4", "203.0.113.5"),  # not from a trusted proxy: the header is ignored
    ("10.0.0.2", None, "10.0.0.2"),
    ("10.0.0.2", "198.51.100.7", "198.51.100.7"),
    ("10.0.0.2", "1.2.3.4, 198.51.100.7", "198.51.100.7"),  # the client wrote 1.2.3.4 itself
    ("10.0.0.2", "198.51.100.7, 10.0.0.9", "198.51.100.7"),  # two trusted hops
    ("10.0.0.2", "10.0.0.8, 10.0.0.9", "10.0.0.8"),  # all trusted: the leftmost
    ("10.0.0.2", "garbage, 198.51.100.7:4711", "198.51.100.7"),
    ("10.0.0.2", "[2001:db8::1]:443", "2001:db8::1"),
    ("10.0.0.2", "not-an-address", "10.0.0.2"),  # unreadable hop: stop at the proxy
    ("::ffff:10.0.0.2", "::ffff:198.51.100.7", "198.51.100.7"),
    ("", None, None),
])
def test_the_client_is_the_first_address_outside_the_trusted_proxies(settings, remote,
                                                                     forwarded, expected):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert ip(remote, forwarded) == expected


def test_without_trusted_proxies_nothing_a_client_sends_is_believed(settings):
    settings.TRUSTED_PROXIES = []
    assert ip("10.0.0.2", "198.51.100.7") == "10.0.0.2"


@pytest.mark.parametrize("address, bucket", [
    ("198.51.100.7", "198.51.100.7"),
    ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
    ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
    ("::ffff:198.51.100.7", "198.51.100.7"),
    (None, UNKNOWN),
])
def test_ipv6_clients_count_per_64(address, bucket):
    assert client_bucket(address) == bucket
