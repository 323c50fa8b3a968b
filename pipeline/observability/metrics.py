"""The Prometheus counters and histograms every process observes (web requests, Celery tasks).

They live in the process that observes them. With PROMETHEUS_MULTIPROC_DIR set (compose sets it
for web and the workers, on one volume they share) each process writes its values to files in
that directory, and config/metrics.py adds up every file for /metrics: gunicorn's workers and the
Celery workers' pool processes alike. The files are named after the host and the process id, so
containers sharing the directory never write to each other's files (the client library's
default, the process id alone, repeats from one container to the next).
"""

import os
import socket

from prometheus_client import Counter, Histogram, values

MULTIPROCESS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
if MULTIPROCESS_DIR:
    os.makedirs(MULTIPROCESS_DIR, exist_ok=True)
    _HOST = socket.gethostname().replace("_", "-")  # the library splits file names on "_"
    # Read again on every write: a fork (a gunicorn worker, a Celery pool process) gets its own.
    values.ValueClass = values.MultiProcessValue(lambda: f"{_HOST}-{os.getpid()}")
elif "PROMETHEUS_MULTIPROC_DIR" in os.environ:  # set but empty: the library would write to "."
    values.ValueClass = values.MutexValue

# The method label takes only these; anything else (an invented method) is counted as "other",
# so a client cannot mint new time series.
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def method_label(method: str | None) -> str:
    return method if method in HTTP_METHODS else "other"


HTTP_REQUESTS = Counter(
    "partwork_http_requests_total", "HTTP requests", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "partwork_http_request_seconds", "HTTP request latency", ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
TASKS = Counter("partwork_tasks_total", "Celery tasks finished", ["task", "outcome"])
TASK_LATENCY = Histogram("partwork_task_seconds", "Celery task run time", ["task"])
