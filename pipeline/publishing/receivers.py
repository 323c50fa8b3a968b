"""What publishing does when content or its own records change: record a part's announcement
intent as it is published, and re-plan a series' releases when its cadence, skipped dates or
queue change."""

import logging

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from wagtail.models import Revision
from wagtail.signals import page_published

from cms.models import PartPage
from pipeline.publishing.models import ReleaseCadence, ReleaseQueueEntry, SkippedReleaseDate
from pipeline.publishing.services.announcements import announcement_record_intent
from pipeline.publishing.services.arming import revision_arm
from pipeline.publishing.services.cadence import part_unschedule, series_replan

logger = logging.getLogger(__name__)


@receiver(page_published, sender=PartPage, dispatch_uid="partwork-announcement-intent")
def _record_announcement_intent(sender, instance, revision, **kwargs):
    """Fires inside Wagtail's publish (sweep or admin alike), so the record shares its
    transaction."""
    announcement_record_intent(part=instance, revision_id=revision.pk if revision else None)


@receiver(post_save, sender=Revision, dispatch_uid="partwork-arm-on-time-publishing")
def _arm_on_time(instance, **kwargs):
    """Wagtail stores a schedule (or a reschedule) as the revision's approved_go_live_at: one
    that is close gets its task now rather than at the next sweep. An unscheduled revision needs
    nothing: its task finds it gone."""
    if instance.approved_go_live_at is not None:
        revision_arm(revision_id=instance.pk, go_live_at=instance.approved_go_live_at)


def _replan_after_commit(series_id: int | None) -> None:
    if not series_id:
        return

    def replan():
        try:
            series_replan(series_id=series_id)
        except Exception:  # the editor's save stands; the plan view shows the old plan
            logger.exception("re-planning the releases of series %s failed", series_id)

    transaction.on_commit(replan)


@receiver(post_save, sender=ReleaseCadence, dispatch_uid="partwork-cadence-saved")
def _cadence_saved(instance, **kwargs):
    _replan_after_commit(instance.series_id)


@receiver(post_save, sender=SkippedReleaseDate, dispatch_uid="partwork-skip-saved")
@receiver(post_delete, sender=SkippedReleaseDate, dispatch_uid="partwork-skip-deleted")
def _skipped_date_changed(instance, **kwargs):
    series_id = (
        ReleaseCadence.objects.filter(pk=instance.cadence_id)
        .values_list("series_id", flat=True)
        .first()
    )
    _replan_after_commit(series_id)


@receiver(post_save, sender=ReleaseQueueEntry, dispatch_uid="partwork-queue-saved")
@receiver(post_delete, sender=ReleaseQueueEntry, dispatch_uid="partwork-queue-deleted")
def _queue_changed(instance, created=False, update_fields=None, **kwargs):
    if update_fields and set(update_fields) <= {"planned_for", "plan_note"}:
        return  # the planner's own bookkeeping
    if kwargs.get("signal") is post_delete:
        part = PartPage.objects.filter(pk=instance.part_id).first()
        if part is not None and not part.live:
            part_unschedule(part=part)
    _replan_after_commit(instance.series_id)
