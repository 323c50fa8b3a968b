"""The operator's view of the compose stack, run as processes (issue 13): web's compose health
check (readiness) stays healthy while a part is overdue, which the alerting endpoint reports;
one scrape of /metrics adds up the requests of every gunicorn worker and the tasks of the Celery
worker (Prometheus multiprocess mode on the directory compose shares between them)."""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from prometheus_client import multiprocess
from prometheus_client.parser import text_string_to_metric_families

from tests.support.compose import ComposeStack
from tests.support.processes import (
    free_port,
    redis_answers,
    redis_server,
    scratch_database,
    wait_until,
)

# django_db: the test database is set up, and with it the migrated template (scratch_database).
pytestmark = [pytest.mark.slow, pytest.mark.django_db]
HOST = "partwork.example.org"  # ALLOWED_HOSTS as in .env.example
METRICS_TOKEN = "stack-metrics-token"  # what an operator sets for Prometheus and alerting

OVERDUE_PART = """
from datetime import timedelta
from django.utils import timezone
from wagtail.models import Revision
from cms.demo import load_demo
from cms.models import PartPage
series = load_demo()
part = series.add_child(instance=PartPage(title="Late part", live=False,
                                          go_live_at=timezone.now() + timedelta(days=1)))
part.save_revision().publish()  # scheduled...
late = timezone.now() - timedelta(minutes=5)  # ...and five minutes late: nobody runs beat here
Revision.objects.filter(object_id=str(part.pk)).update(approved_go_live_at=late)
print(json.dumps(part.pk))
"""

QUEUE_TASKS = """
from workers.tasks.campaigns import sweep
for _ in range(3):
    sweep.delay()
print(json.dumps(3))
"""



def _samples(text: str, name: str, **labels) -> float:
    return sum(sample.value for family in text_string_to_metric_families(text)
               for sample in family.samples
               if sample.name == name and labels.items() <= sample.labels.items())


@pytest.fixture(scope="module")
def stack(tmp_path_factory, django_db_setup):
    tmp_path = tmp_path_factory.mktemp("ops-stack")
    redis_port = free_port()
    redis = redis_server(tmp_path, redis_port)
    wait_until(lambda: redis_answers(redis_port), timeout=20, what="redis")
    # Migrated already (a copy of the template): the stack's own migrate finds nothing to do.
    with scratch_database("ops_stack", migrated=True) as database_url:
        stack = ComposeStack(
            tmp_path, database_url=database_url or f"sqlite:///{tmp_path}/ops.sqlite3",
            redis_url=f"redis://127.0.0.1:{redis_port}/0",
            # What .env.example has: web is probed by 127.0.0.1, which this does not list.
            extra_env={"ALLOWED_HOSTS": HOST, "METRICS_TOKEN": METRICS_TOKEN},
        )
        try:
            stack.run_once("migrate")
            for name in ("web", "worker"):
                stack.start(name)
            for name in ("web", "worker"):
                wait_until(lambda n=name: stack.healthy(n), timeout=120, interval=1,
                           what=f"{name} compose health check")
            yield stack
        finally:
            stack.stop_all()
            redis.kill()


def test_web_stays_healthy_while_a_part_is_overdue_and_alerts_report_it(stack):
    part_id = stack.django(OVERDUE_PART)
    assert stack.healthy("web"), "the compose health check (readiness) must not fail"
    assert stack.get("/health/alerts/")[0] == 401  # the token is set: nothing without it
    status, body = stack.get("/health/alerts/", **stack.operator_headers())
    assert status == 503 and b'"overdue_parts"' in body, body
    assert stack.get("/health/ready/")[0] == 200
    assert part_id


def test_one_scrape_adds_up_every_web_worker_and_the_celery_worker(stack):
    metrics_dir = Path(stack.environment("web")["PROMETHEUS_MULTIPROC_DIR"])
    assert metrics_dir.is_dir() and metrics_dir.is_relative_to(stack.data_dir)
    sent = 0

    def web_processes_that_served() -> int:
        served = 0
        for path in metrics_dir.glob("counter_*.db"):
            families = multiprocess.MultiProcessCollector.merge([str(path)], accumulate=False)
            served += any(s.labels.get("route") == "api/series" and s.value > 0
                          for family in families for s in family.samples
                          if s.name == "partwork_http_requests_total")
        return served

    with ThreadPoolExecutor(max_workers=8) as pool:
        while web_processes_that_served() < 2:
            assert sent < 400, "the requests never reached a second gunicorn worker"
            statuses = list(pool.map(lambda _: stack.get("/api/series", Host=HOST)[0], range(40)))
            assert statuses == [200] * 40
            sent += 40

    stack.django(QUEUE_TASKS)
    task = {"task": "workers.tasks.campaigns.sweep", "outcome": "success"}
    scrape = wait_until(
        lambda: (text := stack.get("/metrics", **stack.operator_headers())[1].decode())
        and _samples(text, "partwork_tasks_total", **task) >= 3 and text,
        timeout=60, interval=0.5, what="the worker's tasks in web's /metrics",
    )
    requests = {"route": "api/series", "status": "200"}
    assert _samples(scrape, "partwork_http_requests_total", **requests) == sent
    assert _samples(scrape, "partwork_task_seconds_count",
                    task="workers.tasks.campaigns.sweep") >= 3
