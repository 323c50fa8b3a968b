"""Health split the way orchestrators expect (issue 13): liveness (the process answers),
readiness (database and Redis reachable: what load balancers and every compose health check
use) and the business checks for alerting, on their own endpoint and in `manage.py health`."""

from datetime import timedelta

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.utils import timezone

from config.management.commands.health import check_worker
from pipeline.audience.models import AudienceSyncRun, SyncRunState
from pipeline.publishing.services.sweep import publishing_sweep
from tests.support.compose import load_compose
from tests.support.factories import make_part, make_series

pytestmark = pytest.mark.django_db


def test_liveness_answers_without_touching_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/health/live/")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_an_overdue_part_keeps_web_ready_and_the_alerting_endpoint_reports_it(client):
    series = make_series()
    publishing_sweep()
    part = make_part(series, go_live_at=timezone.now() + timedelta(minutes=1))
    with time_machine.travel(timezone.now() + timedelta(minutes=5), tick=False):
        ready = client.get("/health/ready/")
        alerts = client.get("/health/alerts/")
        legacy = client.get("/health/")
    assert ready.status_code == 200, ready.json()
    assert set(ready.json()["checks"]) == {"database", "redis"}
    assert alerts.status_code == 503
    body = alerts.json()
    assert "overdue_parts" in body["failing"] and body["checks"]["overdue_parts"]["count"] == 1
    assert legacy.status_code == 503 and legacy.json()["failing"] == body["failing"]
    assert part.pk  # the part is what is late


def test_readiness_fails_when_redis_is_unreachable(client, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:1/0"}}
    response = client.get("/health/ready/")
    assert response.status_code == 503
    assert response.json()["failing"] == ["redis"]


def test_probes_and_metrics_answer_whatever_the_host_header(client, settings):
    """Orchestrators and Prometheus call web by its container address, which ALLOWED_HOSTS
    (partwork.example.org in .env.example) rightly does not list."""
    settings.ALLOWED_HOSTS = ["partwork.example.org"]
    publishing_sweep()
    for path in ("/health/live/", "/health/ready/", "/health/alerts/", "/metrics"):
        assert client.get(path, HTTP_HOST="127.0.0.1:8000").status_code == 200, path
    assert client.get("/api/series", HTTP_HOST="127.0.0.1:8000").status_code == 400


def test_a_stalled_audience_sync_raises_an_alert(client, settings):
    settings.MAILCHIMP = {**settings.MAILCHIMP, "API_KEY": "key-us1", "LIST_ID": "list1"}
    publishing_sweep()
    now = timezone.now()
    run = AudienceSyncRun.objects.create(started_at=now, heartbeat_at=now, list_id="list1",
                                         state=SyncRunState.INTERRUPTED,
                                         last_error="Mailchimp answered 503")
    assert client.get("/health/alerts/").status_code == 200
    with time_machine.travel(now + timedelta(minutes=20), tick=False):
        publishing_sweep()
        body = client.get("/health/alerts/").json()
        assert body["failing"] == ["audience_sync"]
        assert "Mailchimp answered 503" in body["checks"]["audience_sync"]["detail"]
        assert client.get("/health/ready/").status_code == 200
    run.state = SyncRunState.FINISHED
    run.save()
    with time_machine.travel(now + timedelta(minutes=20), tick=False):
        publishing_sweep()
        assert client.get("/health/alerts/").status_code == 200


def test_manage_health_ready_ignores_business_alarms_and_the_default_reports_them(capsys):
    call_command("health", "--ready")  # the sweep never ran: an alarm, not unreadiness
    assert "database: ok" in capsys.readouterr().out
    with pytest.raises(CommandError, match="sweep"):
        call_command("health")


def test_every_compose_health_check_is_readiness_never_a_business_alarm():
    services = load_compose()["services"]
    checks = {name: " ".join(service["healthcheck"]["test"][1:])
              for name, service in services.items() if name != "migrate"}
    assert set(checks) == set(services) - {"migrate"}, "every long-running service has one"
    assert "/health/ready/" in checks["web"]
    for name in ("worker", "mailworker", "beat"):
        assert "manage.py health --ready" in checks[name], name
    assert "--worker publishing@" in checks["worker"]
    assert "--worker mail@" in checks["mailworker"]
    assert "5555/healthcheck" in checks["flower"]
    for name, test in checks.items():
        assert "--only" not in test and "/health/alerts" not in test, name


def test_a_worker_that_does_not_answer_its_ping_is_not_ready():
    check = check_worker("nobody@nowhere", timeout=0.5)
    assert not check.ok and "did not answer" in check.detail
