"""What the campaigns app does when content changes: an offer's publish re-plans its campaigns;
a part's deletion (on its own or with its series) cancels and removes its waiting campaigns."""

from django.db import transaction
from django.db.models.signals import post_save, pre_delete
from django.dispatch import receiver

from cms.models import Offer, PartPage
from pipeline.campaigns.models import Delivery, DeliveryState
from pipeline.campaigns.services.campaigns import campaigns_replan_for_offer
from pipeline.campaigns.services.parts import campaigns_part_deleted
from pipeline.subscribers.signals import personal_data_erasing, personal_data_requested


@receiver(post_save, sender=Offer, dispatch_uid="partwork-offer-replan-campaigns")
def _offer_saved(sender, instance, raw=False, **kwargs):
    """Publishing an offer (Wagtail saves the row) re-plans or cancels dependent campaigns."""
    if raw or not instance.pk:
        return
    def replan():
        campaigns_replan_for_offer(offer_id=instance.pk)

    # Same transaction as the save: a rolled-back publish re-plans nothing.
    if transaction.get_connection().in_atomic_block:
        replan()
    else:
        with transaction.atomic():
            replan()


@receiver(pre_delete, sender=PartPage, dispatch_uid="partwork-part-deleted-campaigns")
def _part_deleting(sender, instance, **kwargs):
    """In the deleting transaction: a rolled-back delete cancels nothing."""
    campaigns_part_deleted(part_id=instance.pk, part_title=instance.title, actor="part deletion")


@receiver(personal_data_requested, dispatch_uid="partwork-campaigns-personal-data")
def _deliveries_export(sender, subscriber, **kwargs):
    rows = (Delivery.objects.filter(subscriber=subscriber).select_related("campaign")
            .order_by("pk"))
    return {"deliveries": [
        {"campaign": d.campaign.name, "kind": d.campaign.kind, "email": d.email,
         "state": d.state, "at": d.updated_at.isoformat() if d.updated_at else None}
        for d in rows]}


@receiver(personal_data_erasing, dispatch_uid="partwork-campaigns-erase")
def _deliveries_erase(sender, subscriber, email, **kwargs):
    """Deliveries keep their row and state (the campaign's counts) without the address; one not
    sent yet is never sent."""
    Delivery.objects.filter(subscriber=subscriber, state=DeliveryState.PENDING).update(
        state=DeliveryState.FAILED, error="Not sent: the subscriber's data was erased.")
    Delivery.objects.filter(subscriber=subscriber).update(email="", message_id="")
