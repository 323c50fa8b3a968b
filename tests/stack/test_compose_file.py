"""docker-compose.yml checked without a Docker engine: by Debian's docker-compose, and for the
operating rules this project relies on."""

import os
import re
import shutil
import subprocess

import pytest
from django.conf import settings

from tests.support.compose import COMPOSE_FILE, ENV_EXAMPLE, ROOT, load_compose

SERVICES = {"postgres", "redis", "migrate", "web", "worker", "mailworker", "beat", "flower"}


def test_docker_compose_accepts_the_file(tmp_path):
    binary = shutil.which("docker-compose")
    if binary is None:
        message = "docker-compose is not installed (apt-get install docker-compose)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    (tmp_path / "docker-compose.yml").write_text(COMPOSE_FILE.read_text())
    (tmp_path / ".env").write_text(ENV_EXAMPLE.read_text())
    (tmp_path / "Dockerfile").write_text((ROOT / "Dockerfile").read_text())
    result = subprocess.run([binary, "--profile", "monitoring", "config"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert set(re.findall(r"^  (\w+):$", result.stdout, re.M)) >= SERVICES


def _seconds(value: str) -> int:
    match = re.fullmatch(r"(\d+)s", str(value))
    assert match, value
    return int(match.group(1))


def test_every_service_has_a_health_check_restart_policy_and_waits_for_what_it_needs():
    services = load_compose()["services"]
    assert set(services) == SERVICES
    for name, service in services.items():
        if name in {"migrate", "flower"}:
            continue
        assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"
        assert service.get("restart") == "unless-stopped", name
    for name in ("web", "worker", "mailworker", "beat"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["redis"]["condition"] == "service_healthy"


def test_workers_outlive_their_longest_task_on_stop_and_beat_is_single():
    services = load_compose()["services"]
    for name in ("worker", "mailworker"):
        assert _seconds(services[name]["stop_grace_period"]) > settings.CELERY_TASK_TIME_LIMIT
    assert services["beat"]["deploy"]["replicas"] == 1
    mail_concurrency = int(services["mailworker"]["command"][
        services["mailworker"]["command"].index("--concurrency") + 1])
    assert mail_concurrency < 10, "Mailchimp serves about 10 connections per account"


def test_redis_keeps_what_it_queued():
    command = load_compose()["services"]["redis"]["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert command[command.index("--maxmemory-policy") + 1] == "noeviction"
