"""Every log line written while working on a part or a campaign carries its part_id and
campaign_id, in the text and the JSON format of config/settings (issue 13): the lines are read
back from what the configured formatters wrote."""

import io
import json
import logging
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.utils import module_loading, timezone

from pipeline.campaigns.models import Campaign
from pipeline.observability.context import ContextFilter, current
from pipeline.publishing.services.sweep import publishing_sweep
from tests.support.factories import make_part, make_series
from tests.support.subscribers import make_subscribers
from workers.observability import _task_finished, _task_started
from workers.tasks.campaigns import hand_over_announcement, send_campaign

pytestmark = pytest.mark.django_db


def _formatter(name: str) -> logging.Formatter:
    """The formatter the settings declare under ``name`` (what a deployment writes)."""
    spec = dict(settings.LOGGING["formatters"][name])
    factory = module_loading.import_string(spec.pop("()")) if "()" in spec else logging.Formatter
    if "format" in spec:
        spec["fmt"] = spec.pop("format")
    return factory(**spec)


@pytest.fixture
def log_lines():
    """Capture what the root logger writes, in both formats, from loggers that do the work."""
    streams = {"text": io.StringIO(), "json": io.StringIO()}
    handlers = []
    for name, stream in streams.items():
        handler = logging.StreamHandler(stream)
        handler.setFormatter(_formatter(name))
        handler.addFilter(ContextFilter())
        handler.addFilter(lambda record: record.name.startswith(("pipeline.", "wagtail")))
        handlers.append(handler)
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.INFO)
    for handler in handlers:
        root.addHandler(handler)

    def read() -> dict[str, list]:
        return {
            "text": streams["text"].getvalue().splitlines(),
            "json": [json.loads(line) for line in streams["json"].getvalue().splitlines()],
        }

    yield read
    for handler in handlers:
        root.removeHandler(handler)
    root.setLevel(level)


def test_publishing_and_announcing_a_part_log_its_ids_in_text_and_json(
    log_lines, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_PROVIDER = "local"
    series = make_series()
    make_subscribers(2, series=[series])
    part = make_part(series, title="Scheduled", go_live_at=timezone.now() + timedelta(minutes=5))
    setup = {name: len(lines) for name, lines in log_lines().items()}  # editing, not sweeping
    with time_machine.travel(timezone.now() + timedelta(minutes=6), tick=False):
        publishing_sweep()
    publishing = {name: lines[setup[name]:] for name, lines in log_lines().items()}
    about_part = [line for line in publishing["text"]
                  if "Scheduled" in line or "announcement intent" in line]
    assert len(about_part) >= 2, publishing["text"]  # Wagtail's "Published", our intent
    assert all(f"part={part.pk} " in line for line in about_part), about_part
    assert [row["part_id"] for row in publishing["json"] if "announcement intent" in
            row["message"]] == [part.pk]

    with django_capture_on_commit_callbacks(execute=False):
        hand_over_announcement(part.announcement.pk)
    campaign = Campaign.objects.get(part=part)
    send_campaign(campaign.pk)
    lines = log_lines()
    sent_line = f"campaign {campaign.pk}: send_requested → sent"
    work = lines["text"][setup["text"] + len(publishing["text"]):]
    assert any(sent_line in line for line in work), work
    assert work and all(f"part={part.pk} " in line for line in work), work
    assert all(f"part={part.pk} campaign={campaign.pk}]" in line
               for line in work if f"campaign {campaign.pk}:" in line)
    sent = [row for row in lines["json"] if sent_line in row["message"]]
    assert sent and all(row["campaign_id"] == campaign.pk and row["part_id"] == part.pk
                        for row in sent)


def test_a_task_called_with_positional_ids_binds_them_for_its_lines():
    _task_started(task_id="t-1", task=send_campaign, args=(42,), kwargs={})
    try:
        assert current()["campaign_id"] == 42 and current()["task_id"] == "t-1"
    finally:
        _task_finished(task_id="t-1", task=send_campaign, state="SUCCESS")
    assert current()["campaign_id"] is None
