"""Publishing tasks (the ``publishing`` queue): the beat-driven sweep, and the task at a
scheduled revision's go-live moment."""

from celery import shared_task

from pipeline.publishing.services.on_time import revision_publish_on_time
from pipeline.publishing.services.sweep import publishing_sweep
from workers.tasks.campaigns import hand_over_announcement


@shared_task(queue_name="publishing", soft_time_limit=120, time_limit=150)
def sweep() -> dict:
    """One publishing sweep; hand-overs lost to a broker restart or a crash are queued again."""
    result = publishing_sweep()
    for announcement_id in result.stale_announcement_ids:
        hand_over_announcement.delay(announcement_id)
    return result.summary()


@shared_task(queue_name="publishing", soft_time_limit=60, time_limit=90)
def publish_on_time(revision_id: int) -> dict:
    """Publish one revision at its go-live moment (queued with an ETA by arming)."""
    return {"revision_id": revision_id,
            "outcome": revision_publish_on_time(revision_id=revision_id)}
