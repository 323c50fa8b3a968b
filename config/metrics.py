"""/metrics: the counters of every process (added up from PROMETHEUS_MULTIPROC_DIR when set) and
the figures the database knows better (overdue parts, stuck campaigns, campaigns and deliveries by
provider and outcome), read by ``DatabaseCollector`` and shared through the cache for
METRICS_DATABASE_CACHE_SECONDS, so scrapes (several Prometheus servers, a reload storm) cost at
most one set of aggregates over the campaign and delivery tables per few seconds."""

import logging

from django.conf import settings
from django.core.cache import cache
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import REGISTRY, GaugeMetricFamily

from config.health import database_gauges, sends_by_provider_and_outcome
from pipeline.observability.metrics import MULTIPROCESS_DIR

logger = logging.getLogger(__name__)
CACHE_KEY = "metrics:database-figures:v1"


def _compute_database_figures() -> dict:
    return {
        "gauges": database_gauges(),
        "sends": sorted(sends_by_provider_and_outcome().items()),
    }


def database_figures() -> dict:
    """The database's figures, from the cache while fresh; computed (and stored) otherwise."""
    ttl = settings.METRICS_DATABASE_CACHE_SECONDS
    if ttl <= 0:
        return _compute_database_figures()
    try:
        figures = cache.get(CACHE_KEY)
    except Exception as error:  # Redis down: answer from the database, readiness reports Redis
        logger.warning("metrics cache unreadable: %s", error.__class__.__name__)
        return _compute_database_figures()
    if figures is None:
        figures = _compute_database_figures()
        try:
            cache.set(CACHE_KEY, figures, timeout=ttl)
        except Exception as error:
            logger.warning("metrics cache unwritable: %s", error.__class__.__name__)
    return figures


class DatabaseCollector:
    """Gauges computed from PostgreSQL (cached a few seconds), so every process reports the same
    truth."""

    def collect(self):
        figures = database_figures()
        for name, (help_text, value) in figures["gauges"].items():
            gauge = GaugeMetricFamily(f"partwork_{name}", help_text)
            gauge.add_metric([], value)
            yield gauge
        sends = GaugeMetricFamily(
            "partwork_campaigns", "Campaigns (and local recipients) by provider and outcome",
            labels=["provider", "outcome"],
        )
        for (provider, outcome), count in figures["sends"]:
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
