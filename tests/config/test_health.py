from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from pipeline.campaigns.models import Campaign, CampaignStatus, Delivery, DeliveryState
from pipeline.publishing.services.sweep import publishing_sweep
from pipeline.subscribers.models import Subscriber
from tests.support.factories import OfferFactory, make_part, make_series

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


def test_a_campaign_past_its_lease_and_uncertain_deliveries_fail_health(client):
    publishing_sweep()
    now = timezone.now()
    offer = OfferFactory()
    stuck = Campaign.objects.create(
        name="Spring offer", offer=offer, status=CampaignStatus.SEND_REQUESTED,
        provider="mailchimp", claimed_until=now - timedelta(minutes=1),
    )
    Campaign.objects.create(name="Held", offer=offer, status=CampaignStatus.CLAIMED,
                            claimed_until=now + timedelta(minutes=1))
    reader = Subscriber.objects.create(email="reader@example.com", status="subscribed")
    Delivery.objects.create(campaign=stuck, subscriber=reader, email=reader.email,
                            state=DeliveryState.UNCERTAIN, updated_at=now)
    body = client.get("/health/").json()
    assert set(body["failing"]) == {"stuck_campaigns", "uncertain_deliveries"}
    assert body["checks"]["stuck_campaigns"]["count"] == 1
    assert body["checks"]["uncertain_deliveries"]["count"] == 1
    text = client.get("/metrics").content.decode()
    assert "partwork_stuck_campaigns 1.0" in text
    assert 'partwork_campaigns{outcome="send_requested",provider="mailchimp"} 1.0' in text
    assert 'partwork_campaigns{outcome="uncertain",provider="local-recipient"} 1.0' in text
    with time_machine.travel(now + timedelta(hours=25), tick=False):
        Campaign.objects.update(status=CampaignStatus.SENT)
        assert client.get("/health/").json()["failing"] == ["sweep"]  # only the stale sweep
