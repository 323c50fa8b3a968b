"""/metrics: the counters of every process (added up from PROMETHEUS_MULTIPROC_DIR when set) and
the figures the database knows better (overdue parts, stuck campaigns, campaigns and deliveries by
provider and outcome), read at scrape time by ``DatabaseCollector``."""

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import REGISTRY, GaugeMetricFamily

from config.health import database_gauges, sends_by_provider_and_outcome
from pipeline.observability.metrics import MULTIPROCESS_DIR


class DatabaseCollector:
    """Gauges computed from PostgreSQL at scrape time, so every process reports the same truth."""

    def collect(self):
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
    if MULTIPROCESS_DIR:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    registry_with_db = CollectorRegistry()
    body = generate_latest(registry)
    registry_with_db.register(DatabaseCollector())
    return body + generate_latest(registry_with_db), CONTENT_TYPE_LATEST
