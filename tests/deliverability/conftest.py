import uuid

import pytest
from django.core.mail.message import make_msgid
from django.utils import timezone

from pipeline.campaigns.models import Delivery, DeliveryState
from pipeline.campaigns.services.campaigns import campaign_create_discount
from pipeline.campaigns.services.return_path import return_path
from tests.support.factories import make_offer
from tests.support.imap_server import dovecot_server, sample

BOUNCE_DOMAIN = "partwork.example"


@pytest.fixture(autouse=True)
def _verp(settings):
    settings.BOUNCE_DOMAIN = BOUNCE_DOMAIN
    settings.BOUNCE_MAILBOX = "bounces"
    settings.BOUNCE_SOFT_LIMIT = 3
    settings.EMAIL_PROVIDER = "local"


@pytest.fixture
def imap(settings):
    with dovecot_server() as server:
        server.use(settings)
        yield server


@pytest.fixture
def sent_campaign(db):
    """A sent local campaign; ``deliver_to(subscriber)`` adds its delivery row."""
    offer = make_offer(code="corrective", percent_off=35)
    campaign = campaign_create_discount(offer=offer, name="Corrective week", send_at=None)
    return campaign


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
