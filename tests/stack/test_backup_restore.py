"""The README's backup and restore runbook, run for real (issue 13): a PostgreSQL database with
content, subscribers (with their consent history) and campaigns in every state is dumped with
`pg_dump -Fc`, restored with `pg_restore --clean --if-exists --no-owner` into a new database, and
serves the same API answers, subscribers and campaign states."""

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings

from tests.support.processes import ROOT, scratch_database

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db,  # the test database is set up, and with it the migrated template
    pytest.mark.skipif(not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"),
                       reason="the runbook is for PostgreSQL (set DATABASE_URL)"),
]

POPULATE = """
from datetime import timedelta
from django.utils import timezone
from cms.demo import load_demo
from cms.models import Offer, PartPage
from pipeline.campaigns.models import Campaign
from pipeline.campaigns.services.campaigns import (
    campaign_cancel, campaign_create_discount, campaign_schedule)
from pipeline.campaigns.services.sending import campaign_send
from pipeline.publishing.models import Announcement
from pipeline.subscribers import tokens
from pipeline.subscribers.services import (
    subscriber_confirm, subscriber_subscribe, subscriber_unsubscribe)
from pipeline.campaigns.signals import campaign_due
from pipeline.publishing.signals import announcement_created
from workers.tasks.campaigns import hand_over_announcement

# Nothing goes to a broker: the hand-overs and sends are run here, once the readers exist.
announcement_created.disconnect(dispatch_uid="partwork-queue-announcement-hand-over")
campaign_due.disconnect(dispatch_uid="partwork-queue-campaign-send")
load_demo()
readers = []
for n in range(4):
    outcome = subscriber_subscribe(email=f"reader{n}@example.com", series_slugs=["strong-back"],
                                   consent_text="Send me new parts and offers.", form_id="t")
    readers.append(subscriber_confirm(subscriber_id=outcome.subscriber.pk,
                                      address_digest=tokens.address_digest(outcome.subscriber.email),
                                      consent_id=outcome.consent.pk))
subscriber_unsubscribe(subscriber_id=readers[3].pk)
subscriber_subscribe(email="pending@example.com", series_slugs=["strong-back"],
                     consent_text="Send me new parts.", form_id="t")
for announcement in Announcement.objects.order_by("pk"):
    campaign = Campaign.objects.get(pk=hand_over_announcement(announcement.pk))
    campaign_send(campaign_id=campaign.pk)  # sent to the three subscribed readers
offer = Offer.objects.get(code="corrective")
later = campaign_create_discount(offer=offer, name="Later", send_at=None,
                                 reminder_before=timedelta(hours=24))
campaign_schedule(campaign=later, send_at=timezone.now() + timedelta(hours=2), actor="t")
dropped = campaign_create_discount(offer=offer, name="Dropped", send_at=None)
campaign_cancel(campaign=dropped, actor="t")
campaign_create_discount(offer=offer, name="Draft", send_at=None)
print(json.dumps(Campaign.objects.count()))
"""

SNAPSHOT = """
from django.test import Client
from pipeline.campaigns.models import Campaign, Delivery
from pipeline.subscribers.models import Subscriber

client = Client()
api = {}
for path in ("/api/series", "/api/series/strong-back", "/api/series/strong-back/parts/1",
             "/api/series/strong-back/parts/3", "/api/offers/active", "/feeds/strong-back/rss/"):
    answer = client.get(path)
    api[path] = [answer.status_code, answer.content.decode(), answer.get("ETag"),
                 answer.get("Last-Modified")]
print(json.dumps({
    "api": api,
    "campaigns": [[c.kind, c.name, c.status, c.provider, c.sent_subject, c.sent_html,
                   c.recipient_count, c.part_id, c.send_at and c.send_at.isoformat(),
                   [[t.from_status, t.to_status, t.reason] for t in c.transitions.all()]]
                  for c in Campaign.objects.order_by("pk")],
    "deliveries": sorted([d.campaign_id, d.email, d.state, d.message_id]
                         for d in Delivery.objects.all()),
    "subscribers": [[s.email, s.status, [[r.kind, r.consent_text, r.recorded_at.isoformat()]
                                      for r in s.consents.order_by("pk")]]
                    for s in Subscriber.objects.order_by("pk")],
}))
"""


def _connect() -> list[str]:
    db = settings.DATABASES["default"]
    return ["-h", db["HOST"], "-p", str(db["PORT"]), "-U", db["USER"]]


def _django(database_url: str, script: str, tmp_path):
    env = {**os.environ, "DATABASE_URL": database_url, "DATA_DIR": str(tmp_path),
           "DJANGO_SETTINGS_MODULE": "config.settings.test", "LOG_LEVEL": "WARNING"}
    code = "import django, json\ndjango.setup()\n" + script
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_pg_dump_restored_into_a_new_database_serves_the_same(tmp_path, django_db_setup):
    # The source starts migrated (a copy of the migrated template); the restored one empty.
    with (scratch_database("backup_source", migrated=True) as source,
          scratch_database("backup_restored") as restored):
        assert _django(source, POPULATE, tmp_path) >= 7
        before = _django(source, SNAPSHOT, tmp_path)

        # The runbook: pg_dump -Fc ... > partwork-DATE.dump, then pg_restore into the new one.
        dump = tmp_path / "partwork.dump"
        with open(dump, "wb") as out:
            subprocess.run(["pg_dump", *_connect(), "-Fc", source.rsplit("/", 1)[1]],
                           stdout=out, check=True)
        with open(dump, "rb") as dump_file:
            subprocess.run(["pg_restore", *_connect(), "--clean", "--if-exists", "--no-owner",
                            "-d", restored.rsplit("/", 1)[1]], stdin=dump_file, check=True)
        after = _django(restored, SNAPSHOT, tmp_path)

    statuses = {c[2] for c in before["campaigns"]}
    assert {"sent", "scheduled", "cancelled", "draft"} <= statuses, statuses
    assert len(before["deliveries"]) >= 9 and len(before["subscribers"]) == 5
    assert all(answer[0] == 200 for answer in before["api"].values()), before["api"]
    assert after == before
