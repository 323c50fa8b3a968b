"""Issue 12, item 9: /metrics and the alerting checks are for the operator, not the public.

With METRICS_TOKEN set they need ``Authorization: Bearer <token>``; without it they answer only a
request made straight from a loopback or private address, never one relayed by a proxy. The
probes (/health/live/, /health/ready/) stay open but say only ok or failing. An invented HTTP
method cannot mint a Prometheus series, and back-to-back scrapes do not aggregate the campaign
and delivery tables each time.
"""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from pipeline.publishing.services.sweep import publishing_sweep

pytestmark = pytest.mark.django_db

PRIVATE = ("/metrics", "/health/alerts/", "/health/")
PUBLIC_ADDRESS = "203.0.113.7"
TOKEN = "op-3f9c1e7a5b2d4c6e8a0b"


@pytest.mark.parametrize("path", PRIVATE)
def test_a_public_address_cannot_read_metrics_or_alerts(client, path):
    publishing_sweep()
    response = client.get(path, REMOTE_ADDR=PUBLIC_ADDRESS, HTTP_HOST="127.0.0.1:8000")
    assert response.status_code == 403
    assert b"partwork_" not in response.content and b"checks" not in response.content


@pytest.mark.parametrize("path", PRIVATE)
def test_a_request_relayed_by_a_proxy_is_refused_even_from_loopback(client, path):
    """Behind a reverse proxy on the same host REMOTE_ADDR is the proxy's 127.0.0.1."""
    publishing_sweep()
    response = client.get(path, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=PUBLIC_ADDRESS)
    assert response.status_code == 403
    assert b"partwork_" not in response.content


@pytest.mark.parametrize("path", PRIVATE)
def test_with_a_token_set_only_its_bearer_reads_them(client, settings, path):
    settings.METRICS_TOKEN = TOKEN
    publishing_sweep()
    for headers in ({}, {"HTTP_AUTHORIZATION": "Bearer wrong"},
                    {"HTTP_AUTHORIZATION": f"Basic {TOKEN}"}):
        refused = client.get(path, REMOTE_ADDR="127.0.0.1", **headers)  # even from loopback
        assert refused.status_code == 401, headers
        assert refused["WWW-Authenticate"].startswith("Bearer")
        assert b"partwork_" not in refused.content and b"checks" not in refused.content
    allowed = client.get(path, REMOTE_ADDR=PUBLIC_ADDRESS, HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert allowed.status_code == 200


def test_probes_stay_open_and_say_only_ok_or_failing(client, settings):
    assert client.get("/health/live/", REMOTE_ADDR=PUBLIC_ADDRESS).json() == {"status": "ok"}
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:1/0"}}
    response = client.get("/health/ready/", REMOTE_ADDR=PUBLIC_ADDRESS)
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["redis"]
    assert body["checks"] == {"database": {"ok": True}, "redis": {"ok": False}}
    assert b"unreachable" not in response.content and b"Error" not in response.content


def test_an_invented_http_method_is_no_new_metric_series(client):
    for method in ("PWNED1", "PWNED2", "GET"):
        client.generic(method, "/api/series")
    text = client.get("/metrics").content.decode()
    assert "PWNED" not in text
    assert 'method="other"' in text and 'method="GET"' in text


def test_back_to_back_scrapes_reuse_the_database_figures(client, settings):
    settings.METRICS_DATABASE_CACHE_SECONDS = 5
    cache.delete("metrics:database-figures:v1")
    first = client.get("/metrics")
    with CaptureQueriesContext(connection) as queries:
        second = client.get("/metrics")
    assert first.status_code == second.status_code == 200
    assert "partwork_stuck_campaigns" in second.content.decode()
    assert [q["sql"] for q in queries.captured_queries] == []
