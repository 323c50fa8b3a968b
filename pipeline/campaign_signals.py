"""Signals of the campaigns work, and its receivers on content changes.

``campaign_due`` is sent (inside the scheduling transaction) when a campaign is scheduled;
workers/tasks/mail.py queues the send on commit. Services know nothing of Celery.
"""

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import Signal, receiver

from cms.models import Offer

campaign_due = Signal()  # kwargs: campaign_id, send_at


@receiver(post_save, sender=Offer, dispatch_uid="partwork-offer-replan-campaigns")
def _offer_saved(sender, instance, raw=False, **kwargs):
    """Publishing an offer (Wagtail saves the row) re-plans or cancels dependent campaigns."""
    if raw or not instance.pk:
        return
    from pipeline.services.campaigns import campaigns_replan_for_offer

    def replan():
        campaigns_replan_for_offer(offer_id=instance.pk)

    # Same transaction as the save: a rolled-back publish re-plans nothing.
    if transaction.get_connection().in_atomic_block:
        replan()
    else:
        with transaction.atomic():
            replan()
