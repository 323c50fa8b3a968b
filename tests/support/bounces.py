"""Helpers for the bounce and complaint tests: a delivery row of a sent campaign, and a committed
sample filled in as the bounce of that delivery."""

import uuid

from django.core.mail.message import make_msgid
from django.utils import timezone

from pipeline.campaigns.models import Delivery, DeliveryState
from pipeline.campaigns.services.return_path import return_path
from tests.support.imap_server import sample

BOUNCE_DOMAIN = "partwork.example"


def delivered(campaign, subscriber) -> Delivery:
    return Delivery.objects.create(
        campaign=campaign, subscriber=subscriber, email=subscriber.email,
        state=DeliveryState.SENT, message_id=make_msgid(domain=BOUNCE_DOMAIN),
        updated_at=timezone.now())


def bounce_for(name: str, delivery: Delivery, **overrides) -> bytes:
    """The committed sample ``name`` as a bounce of this delivery."""
    fields = dict(recipient=delivery.email, return_path=return_path(delivery.pk),
                  message_id=delivery.message_id, unique=uuid.uuid4().hex)
    fields.update(overrides)
    return sample(name, **fields)
