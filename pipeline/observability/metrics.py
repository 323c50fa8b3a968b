"""The Prometheus counters and histograms every process observes (web requests, Celery tasks).

They live in the process that observes them; with PROMETHEUS_MULTIPROC_DIR set they are written
to that directory, and config/metrics.py adds them up for /metrics.
"""

from prometheus_client import Counter, Histogram

HTTP_REQUESTS = Counter(
    "partwork_http_requests_total", "HTTP requests", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "partwork_http_request_seconds", "HTTP request latency", ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
TASKS = Counter("partwork_tasks_total", "Celery tasks finished", ["task", "outcome"])
TASK_LATENCY = Histogram("partwork_task_seconds", "Celery task run time", ["task"])
