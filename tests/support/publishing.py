"""Scheduling parts in the past with an injected clock, and reading what the sweep did."""

from datetime import datetime, timedelta

import time_machine
from wagtail.models import PageLogEntry

from cms.models import PartPage
from tests.support.factories import make_part


def schedule_part(series, *, due_at: datetime, **fields) -> PartPage:
    """A part scheduled (by Wagtail, as an editor would) to go live at ``due_at``, which may be
    in the past: the clock is moved back to before ``due_at`` while the editor schedules it."""
    with time_machine.travel(due_at - timedelta(minutes=5), tick=False):
        return make_part(series, live=False, go_live_at=due_at, **fields)


def scheduled_publish_count(part: PartPage) -> int:
    return PageLogEntry.objects.filter(page=part, action="wagtail.publish.scheduled").count()
