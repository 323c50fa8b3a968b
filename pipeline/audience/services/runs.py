"""The audience sync's run bookkeeping: one run at a time, resumable from its cursor.

A run is claimed under a row lock: an unfinished run is resumed (its cursor and counters kept)
unless its heartbeat is fresh, which means another sync holds it; a run ends finished, or
interrupted with its error for the next sync to resume.
"""

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Max

from pipeline.audience.models import AudienceSyncRun, SyncRunState
from pipeline.subscribers.models import Subscriber

LEASE = timedelta(minutes=2)  # a run whose heartbeat is older is taken to be dead
# An incremental run looks at subscribers updated since the last finished run began, less this
# margin (a transaction that stamped updated_at just before that run began may have committed
# after the run read the table).
INCREMENTAL_MARGIN = timedelta(minutes=5)


class AudienceSyncError(Exception):
    pass


class AudienceSyncBusy(AudienceSyncError):
    """Another sync holds a fresh lease."""


class AudienceSyncInterrupted(AudienceSyncError):
    """Mailchimp kept failing (outage) or refused the call itself; the run is kept and resumes
    from its cursor next time."""


def claim_run(*, full: bool, list_id: str, now: datetime) -> AudienceSyncRun:
    with transaction.atomic():
        run = (AudienceSyncRun.objects.select_for_update()
               .exclude(state=SyncRunState.FINISHED).order_by("-id").first())
        if run is not None:
            if run.state == SyncRunState.RUNNING and run.heartbeat_at > now - LEASE:
                raise AudienceSyncBusy(f"audience sync run {run.pk} is running "
                                       f"(heartbeat {run.heartbeat_at:%H:%M:%S})")
            run.state = SyncRunState.RUNNING
            run.heartbeat_at = now
            run.resumed += 1
            run.save(update_fields=["state", "heartbeat_at", "resumed"])
            return run
        last = AudienceSyncRun.objects.filter(state=SyncRunState.FINISHED,
                                              list_id=list_id).order_by("-started_at").first()
        upper = Subscriber.objects.aggregate(top=Max("pk"))["top"] or 0
        return AudienceSyncRun.objects.create(
            started_at=now, heartbeat_at=now, full=full, list_id=list_id, upper_pk=upper,
            pulled_since=None if full or last is None else last.started_at,
            changed_since=None if full or last is None
            else last.started_at - INCREMENTAL_MARGIN)


def interrupt_run(run: AudienceSyncRun, error: BaseException) -> None:
    """Keep the run (and its cursor) for the next sync, with what stopped it."""
    AudienceSyncRun.objects.filter(pk=run.pk).update(
        state=SyncRunState.INTERRUPTED, last_error=f"{type(error).__name__}: {error}"[:2000])


def finish_run(run: AudienceSyncRun, *, now: datetime) -> None:
    run.state = SyncRunState.FINISHED
    run.finished_at = now
    run.last_error = ""
    run.save()
