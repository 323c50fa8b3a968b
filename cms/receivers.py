"""Keep the API's cache honest: any change to what is published bumps the content generation."""

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from wagtail.models import Page
from wagtail.signals import page_published, page_unpublished, post_page_move, published, unpublished

from cms.content_cache import bump_generation
from cms.models import Offer


def _bump_after_commit(**kwargs):
    transaction.on_commit(bump_generation, robust=True)


for _signal in (page_published, page_unpublished, post_page_move, published, unpublished):
    _signal.connect(_bump_after_commit, dispatch_uid=f"partwork-bump-{id(_signal)}")


@receiver(post_save, sender=Offer, dispatch_uid="partwork-offer-saved")
@receiver(post_delete, sender=Offer, dispatch_uid="partwork-offer-deleted")
def _offer_changed(**kwargs):
    transaction.on_commit(bump_generation, robust=True)


@receiver(post_delete, dispatch_uid="partwork-page-deleted")
def _page_deleted(sender, **kwargs):
    if isinstance(kwargs.get("instance"), Page):
        transaction.on_commit(bump_generation, robust=True)
