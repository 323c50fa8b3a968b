"""Issue 17: /metrics shows the catch-up (readers catching up, those due, emails left uncertain)
and the audience sync's lag, read over HTTP from a running server as Prometheus scrapes it."""

import re
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from pipeline.audience.models import AudienceSyncRun, SyncRunState
from pipeline.catchup.models import CatchupDelivery, CatchupProgress, DeliveryState
from pipeline.catchup.services.progress import catchup_start
from tests.support.catchup import series_with_parts
from tests.support.subscribers import make_subscribers

pytestmark = pytest.mark.django_db(transaction=True)


def _gauges(live_server) -> dict[str, float]:
    answer = requests.get(f"{live_server.url}/metrics", timeout=30)
    assert answer.status_code == 200
    return {name: float(value) for name, value in
            re.findall(r"^(partwork_\w+) (\S+)$", answer.text, flags=re.MULTILINE)}


def test_metrics_show_the_catch_up_and_the_audience_sync_lag(live_server, settings):
    settings.METRICS_DATABASE_CACHE_SECONDS = 0  # each scrape reads the database
    settings.MAILCHIMP = {**settings.MAILCHIMP, "API_KEY": "", "LIST_ID": ""}
    gauges = _gauges(live_server)
    assert gauges["partwork_catchup_readers"] == 0
    assert gauges["partwork_catchup_uncertain_deliveries_24h"] == 0
    assert gauges["partwork_audience_sync_lag_seconds"] == -1  # no Mailchimp: no lag

    series, _parts = series_with_parts()
    readers = make_subscribers(3, series=[series])
    for reader in readers:
        catchup_start(subscriber_id=reader.pk, series_id=series.pk)
    now = timezone.now()
    CatchupProgress.objects.update(next_due_at=now + timedelta(days=1))
    CatchupProgress.objects.filter(subscriber=readers[0]).update(
        next_due_at=now - timedelta(minutes=5))
    crashed = CatchupDelivery.objects.filter(subscriber=readers[1]).order_by("position").first()
    CatchupDelivery.objects.filter(pk=crashed.pk).update(state=DeliveryState.UNCERTAIN,
                                                         updated_at=now)
    settings.MAILCHIMP = {**settings.MAILCHIMP, "API_KEY": "key-us1", "LIST_ID": "list1"}
    AudienceSyncRun.objects.create(started_at=now - timedelta(minutes=10),
                                   heartbeat_at=now - timedelta(minutes=9),
                                   finished_at=now - timedelta(minutes=9),
                                   state=SyncRunState.FINISHED, list_id="list1")

    gauges = _gauges(live_server)
    assert gauges["partwork_catchup_readers"] == 3
    assert gauges["partwork_catchup_readers_due"] == 1
    assert gauges["partwork_catchup_uncertain_deliveries_24h"] == 1
    assert 600 <= gauges["partwork_audience_sync_lag_seconds"] < 900
