from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from pipeline.services.publishing import publishing_sweep
from tests.factories import make_part, make_series

pytestmark = pytest.mark.django_db


def test_health_fails_until_the_sweep_has_run_and_says_why(client):
    response = client.get("/health/")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["sweep"]
    assert "never run" in body["checks"]["sweep"]["detail"]
    assert body["checks"]["database"]["ok"] and body["checks"]["redis"]["ok"]

    publishing_sweep()
    response = client.get("/health/")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "ok"


def test_a_stale_sweep_and_an_overdue_part_fail_health(client):
    series = make_series()
    publishing_sweep()
    make_part(series, go_live_at=timezone.now() + timedelta(minutes=1))
    with time_machine.travel(timezone.now() + timedelta(minutes=5), tick=False):
        body = client.get("/health/").json()
    assert set(body["failing"]) == {"sweep", "overdue_parts"}
    assert body["checks"]["overdue_parts"]["count"] == 1
    assert body["checks"]["sweep"]["age_seconds"] >= 300


def test_metrics_expose_http_counts_and_database_gauges(client):
    client.get("/api/series")
    text = client.get("/metrics").content.decode()
    assert 'partwork_http_requests_total{method="GET",route="api/series",status="200"}' in text
    assert "partwork_overdue_parts 0.0" in text
    assert "partwork_sweep_age_seconds" in text


def test_request_id_is_returned_and_reused(client):
    response = client.get("/api/series", HTTP_X_REQUEST_ID="abc-123")
    assert response["X-Request-ID"] == "abc-123"
    assert len(client.get("/api/series")["X-Request-ID"]) == 32
