"""Prometheus metrics. Counters and histograms live in the process that observes them; with
PROMETHEUS_MULTIPROC_DIR set (web with several gunicorn workers, Celery workers) they are written
to that directory and /metrics adds them up. Figures that the database knows better (overdue parts,
stuck campaigns, campaigns and deliveries by provider and outcome) are read from it at scrape
time by ``DatabaseCollector``.
"""

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import REGISTRY, GaugeMetricFamily

HTTP_REQUESTS = Counter(
    "partwork_http_requests_total", "HTTP requests", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "partwork_http_request_seconds", "HTTP request latency", ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
TASKS = Counter("partwork_tasks_total", "Celery tasks finished", ["task", "outcome"])
TASK_LATENCY = Histogram("partwork_task_seconds", "Celery task run time", ["task"])


class DatabaseCollector:
    """Gauges computed from PostgreSQL at scrape time, so every process reports the same truth."""

    def collect(self):
        from pipeline.observability.health import database_gauges, sends_by_provider_and_outcome

        for name, (help_text, value) in database_gauges().items():
            gauge = GaugeMetricFamily(f"partwork_{name}", help_text)
            gauge.add_metric([], value)
            yield gauge
        sends = GaugeMetricFamily(
            "partwork_campaigns", "Campaigns (and local recipients) by provider and outcome",
            labels=["provider", "outcome"],
        )
        for (provider, outcome), count in sorted(sends_by_provider_and_outcome().items()):
            sends.add_metric([provider, outcome], count)
        yield sends


def render_metrics() -> tuple[bytes, str]:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    registry_with_db = CollectorRegistry()
    body = generate_latest(registry)
    registry_with_db.register(DatabaseCollector())
    return body + generate_latest(registry_with_db), CONTENT_TYPE_LATEST
