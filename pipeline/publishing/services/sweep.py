"""The publishing sweep: Wagtail's scheduled publishing, safe to run twice at once.

It does what ``wagtail publish_scheduled`` does (unpublish what expired, publish each revision
whose approved_go_live_at has come) with three differences:

- Each revision and each expiry is handled in its own transaction, re-read inside it. On
  PostgreSQL the row is locked with ``SELECT ... FOR UPDATE SKIP LOCKED`` and must still carry
  approved_go_live_at (Revision.publish clears it), so two sweeps (two beats, a worker and a
  manual ``publish_scheduled``) never publish the same revision twice. On SQLite the settings open
  every transaction with BEGIN IMMEDIATE: the database write lock serializes the sweeps, and the
  re-read inside the transaction sees the other sweep's commit.
- Due work goes oldest first and, within a series, in part order. A part whose lower-numbered
  sibling is being published by another sweep waits for the next sweep rather than overtake it.
- Each run writes a heartbeat (SweepHeartbeat) and logs catch-up after downtime.
- Each run arms on-time publishing (a task at the go-live moment) for revisions coming due
  within the horizon (``arming``), so the tick's interval is a safety net, not the latency.
"""

import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from wagtail.models import DraftStateMixin, Page, Revision

from cms.models import PartPage
from pipeline.observability.context import bound
from pipeline.publishing.models import SweepHeartbeat
from pipeline.publishing.services.announcements import announcements_stale_pending
from pipeline.publishing.services.arming import revisions_arm_due_soon

logger = logging.getLogger(__name__)

SWEEP_NAME = "publishing"
# Due work later than this counts as catch-up (the sweep was not running) and is logged.
OVERDUE_AFTER = timedelta(seconds=30)


@dataclass
class SweepResult:
    started_at: datetime
    published_revision_ids: list[int] = field(default_factory=list)
    unpublished: list[str] = field(default_factory=list)
    left_for_next_sweep: int = 0
    overdue: int = 0
    max_lateness_seconds: float = 0.0
    stale_announcement_ids: list[int] = field(default_factory=list)
    armed: int = 0

    def summary(self) -> dict:
        return {
            "published": len(self.published_revision_ids),
            "unpublished": len(self.unpublished),
            "overdue": self.overdue,
            "armed": self.armed,
        }


@dataclass(frozen=True)
class DueRevision:
    revision_id: int
    go_live_at: datetime
    series_id: int | None
    part_number: int | None
    part_id: int | None = None


def _locking(queryset):
    """Lock the selected rows, skipping rows another sweep holds (PostgreSQL). SQLite has no row
    locks; its BEGIN IMMEDIATE write lock serializes the transactions instead."""
    if connection.features.has_select_for_update_skip_locked:
        return queryset.select_for_update(skip_locked=True, of=("self",))
    return queryset


def due_revisions(now: datetime) -> list[DueRevision]:
    """Every revision due by ``now``, oldest first, and within a series in part order."""
    rows = list(
        Revision.objects.filter(approved_go_live_at__isnull=False, approved_go_live_at__lte=now)
        .order_by("approved_go_live_at", "pk")
        .values_list("pk", "approved_go_live_at", "content_type_id", "object_id")
    )
    part_type = ContentType.objects.get_for_model(PartPage).pk
    part_ids = [int(object_id) for _, _, type_id, object_id in rows if type_id == part_type]
    parts = {
        pk: (series_id, number)
        for pk, series_id, number in PartPage.objects.filter(pk__in=part_ids).values_list(
            "pk", "series_id", "part_number"
        )
    }
    due = []
    for pk, go_live_at, type_id, object_id in rows:
        is_part = type_id == part_type and int(object_id) in parts
        series_id, number = parts[int(object_id)] if is_part else (None, None)
        part_id = int(object_id) if is_part else None
        due.append(DueRevision(pk, go_live_at, series_id, number, part_id))
    return _in_part_order(due)


def _in_part_order(due: list[DueRevision]) -> list[DueRevision]:
    """Keep the oldest-first order across series, but within a series hand the slots to its parts
    in part order (after downtime several parts of one series are due at once)."""
    positions: dict[int, list[int]] = defaultdict(list)
    for index, item in enumerate(due):
        if item.series_id is not None:
            positions[item.series_id].append(index)
    ordered = list(due)
    for indexes in positions.values():
        parts = sorted((due[i] for i in indexes), key=lambda d: (d.part_number, d.revision_id))
        for index, item in zip(indexes, parts, strict=True):
            ordered[index] = item
    return ordered


def revision_publish_if_due(*, revision_id: int, now: datetime) -> str:
    """Publish one due revision in its own transaction.

    Returns 'published', 'gone' (already published or unscheduled by someone else) or 'locked'
    (another sweep holds it right now).
    """
    with transaction.atomic():
        revision = _locking(
            Revision.objects.filter(
                pk=revision_id, approved_go_live_at__isnull=False, approved_go_live_at__lte=now
            )
        ).first()
        if revision is None:
            still_due = Revision.objects.filter(
                pk=revision_id, approved_go_live_at__isnull=False
            ).exists()
            return "locked" if still_due else "gone"
        revision.publish(log_action="wagtail.publish.scheduled", skip_permission_checks=True)
    return "published"


def _expiring_models():
    return [Page] + [
        model
        for model in apps.get_models()
        if issubclass(model, DraftStateMixin) and not issubclass(model, Page)
    ]


def expired_unpublish(*, now: datetime) -> list[str]:
    """Unpublish every live object whose expire_at has passed, each in its own transaction."""
    done = []
    for model in _expiring_models():
        due = model.objects.filter(live=True, expire_at__lt=now).order_by("expire_at", "pk")
        pks = list(due.values_list("pk", flat=True))
        parts = set(PartPage.objects.filter(pk__in=pks).values_list("pk", flat=True)
                    if issubclass(PartPage, model) else ())
        for pk in pks:
            with bound(part_id=pk if pk in parts else None), transaction.atomic():
                obj = _locking(model.objects.filter(pk=pk, live=True, expire_at__lt=now)).first()
                if obj is None:
                    continue
                obj.unpublish(set_expired=True, log_action="wagtail.unpublish.scheduled")
            done.append(f"{model._meta.label}:{pk}")
    return done


def publishing_sweep(*, now: datetime | None = None) -> SweepResult:
    """Unpublish what expired and publish what is due; write the heartbeat."""
    now = now or timezone.now()
    clock = time.monotonic()
    result = SweepResult(started_at=now)
    result.unpublished = expired_unpublish(now=now)

    due = due_revisions(now)
    late = [(now - item.go_live_at).total_seconds() for item in due]
    result.overdue = sum(1 for seconds in late if seconds > OVERDUE_AFTER.total_seconds())
    result.max_lateness_seconds = max(late, default=0.0)
    if result.overdue:
        logger.warning(
            "publishing catch-up: %d overdue revision(s), the oldest %.0f s late; publishing in "
            "part order",
            result.overdue,
            result.max_lateness_seconds,
        )
    blocked_series: set[int] = set()
    for item in due:
        if item.series_id in blocked_series:
            result.left_for_next_sweep += 1
            continue
        with bound(part_id=item.part_id):
            outcome = revision_publish_if_due(revision_id=item.revision_id, now=now)
        if outcome == "published":
            result.published_revision_ids.append(item.revision_id)
        elif outcome == "locked":
            result.left_for_next_sweep += 1
            if item.series_id is not None:
                # Another sweep is publishing this part: let it keep the series in part order.
                blocked_series.add(item.series_id)

    result.stale_announcement_ids = announcements_stale_pending(now=now)
    result.armed = revisions_arm_due_soon(now=now)
    _write_heartbeat(result, duration_ms=int((time.monotonic() - clock) * 1000))
    if result.published_revision_ids or result.unpublished:
        logger.info(
            "publishing sweep: published %d, unpublished %d, left %d, in %.0f ms",
            len(result.published_revision_ids),
            len(result.unpublished),
            result.left_for_next_sweep,
            (time.monotonic() - clock) * 1000,
        )
    return result


def _write_heartbeat(result: SweepResult, *, duration_ms: int) -> None:
    SweepHeartbeat.objects.get_or_create(name=SWEEP_NAME)
    SweepHeartbeat.objects.filter(name=SWEEP_NAME).update(
        last_started_at=result.started_at,
        last_success_at=timezone.now(),
        last_duration_ms=duration_ms,
        last_published=len(result.published_revision_ids),
        last_unpublished=len(result.unpublished),
        last_overdue=result.overdue,
        last_max_lateness_seconds=result.max_lateness_seconds,
        total_published=F("total_published") + len(result.published_revision_ids),
        total_unpublished=F("total_unpublished") + len(result.unpublished),
        total_sweeps=F("total_sweeps") + 1,
    )


def publishing_heartbeat(*, now: datetime | None = None) -> dict:
    """For the health check: when the sweep last succeeded, how long ago, what it did."""
    now = now or timezone.now()
    beat = SweepHeartbeat.objects.filter(name=SWEEP_NAME).first()
    if beat is None or beat.last_success_at is None:
        return {"last_success_at": None, "age_seconds": None, "total_sweeps": 0}
    return {
        "last_success_at": beat.last_success_at,
        "age_seconds": (now - beat.last_success_at).total_seconds(),
        "last_published": beat.last_published,
        "last_unpublished": beat.last_unpublished,
        "last_overdue": beat.last_overdue,
        "last_max_lateness_seconds": beat.last_max_lateness_seconds,
        "total_published": beat.total_published,
        "total_sweeps": beat.total_sweeps,
    }
