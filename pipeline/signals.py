"""Signals the pipeline sends, and its receivers on Wagtail's publishing signals."""

from django.dispatch import Signal, receiver
from wagtail.signals import page_published

from cms.models import PartPage

# Sent inside the publish transaction when a part's announcement intent is first recorded.
# workers/ connects to it to queue the hand-over task on commit (services know nothing of Celery).
announcement_created = Signal()  # kwargs: announcement_id


@receiver(page_published, sender=PartPage, dispatch_uid="partwork-announcement-intent")
def _record_announcement_intent(sender, instance, revision, **kwargs):
    """Fires inside Wagtail's publish (sweep or admin alike), so the record shares its
    transaction."""
    from pipeline.services.announcements import announcement_record_intent

    announcement_record_intent(part=instance, revision_id=revision.pk if revision else None)
