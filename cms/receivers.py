"""Keep the API's cache honest: any change to what is published, or to who may see it (a view
restriction added, changed or removed), bumps the content generation."""

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from wagtail.models import Page, PageViewRestriction
from wagtail.signals import page_published, page_unpublished, post_page_move, published, unpublished

from cms.content_cache import bump_generation
from cms.models import Offer


@receiver(post_save, sender=Offer, dispatch_uid="partwork-offer-saved")
@receiver(post_delete, sender=Offer, dispatch_uid="partwork-offer-deleted")
@receiver(post_save, sender=PageViewRestriction, dispatch_uid="partwork-restriction-saved")
@receiver(post_delete, sender=PageViewRestriction, dispatch_uid="partwork-restriction-deleted")
def _bump_after_commit(**kwargs):
    transaction.on_commit(bump_generation, robust=True)


for _signal in (page_published, page_unpublished, post_page_move):
    _signal.connect(_bump_after_commit, dispatch_uid=f"partwork-bump-{id(_signal)}")


@receiver(published, dispatch_uid="partwork-bump-published")
@receiver(unpublished, dispatch_uid="partwork-bump-unpublished")
def _bump_for_non_page(sender, **kwargs):
    """Wagtail sends these for pages too, beside page_published / page_unpublished: one bump per
    publish is enough."""
    if not issubclass(sender, Page):
        transaction.on_commit(bump_generation, robust=True)


@receiver(post_delete, dispatch_uid="partwork-page-deleted")
def _page_deleted(sender, **kwargs):
    if isinstance(kwargs.get("instance"), Page):
        transaction.on_commit(bump_generation, robust=True)
