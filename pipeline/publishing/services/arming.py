"""Arming on-time publishing: ask for a task at a scheduled revision's go-live moment.

Only revisions due within PUBLISHING_ON_TIME_HORIZON are armed (DESIGN.md: no long ETAs on Redis,
where a message held past the visibility timeout is delivered again, and an ETA task sits in a
worker's memory until it is due); the sweep arms later ones as they come within it. Arming is
remembered in the cache per revision and go-live time, so a revision is armed once per time it is
scheduled for, and a reschedule arms its new time. The task itself is in ``on_time``.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from redis.exceptions import RedisError
from wagtail.models import Revision

from pipeline.publishing.signals import revision_due_soon

logger = logging.getLogger(__name__)


def _horizon() -> timedelta:
    return timedelta(seconds=settings.PUBLISHING_ON_TIME_HORIZON)


def _arming_key(revision_id: int, go_live_at: datetime) -> str:
    return f"publishing:on-time:{revision_id}:{go_live_at.timestamp():.6f}"


def revision_arm(*, revision_id: int, go_live_at: datetime, now: datetime | None = None) -> bool:
    """Ask for a task at ``go_live_at`` if it is within the horizon and not asked for yet.

    Returns True when a task was asked for. A cache outage arms nothing: the sweep publishes."""
    now = now or timezone.now()
    if go_live_at - now > _horizon():
        return False
    try:
        first = cache.add(_arming_key(revision_id, go_live_at), 1,
                          timeout=int(_horizon().total_seconds()) + 60)
    except RedisError:
        logger.warning("on-time publishing not armed for revision %s: cache unavailable",
                       revision_id)
        return False
    if first:
        revision_due_soon.send(sender=Revision, revision_id=revision_id, go_live_at=go_live_at)
    return first


def revisions_arm_due_soon(*, now: datetime) -> int:
    """Arm every scheduled revision now within the horizon; returns how many were new."""
    rows = Revision.objects.filter(
        approved_go_live_at__gt=now, approved_go_live_at__lte=now + _horizon()
    ).values_list("pk", "approved_go_live_at")
    return sum(revision_arm(revision_id=pk, go_live_at=at, now=now) for pk, at in rows)
