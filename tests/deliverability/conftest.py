import pytest

from pipeline.campaigns.services.campaigns import campaign_create_discount
from tests.support.bounces import BOUNCE_DOMAIN
from tests.support.factories import make_offer
from tests.support.imap_server import dovecot_server


@pytest.fixture(autouse=True)
def _verp(settings):
    settings.BOUNCE_DOMAIN = BOUNCE_DOMAIN
    settings.BOUNCE_MAILBOX = "bounces"
    settings.BOUNCE_SOFT_LIMIT = 3
    settings.EMAIL_PROVIDER = "local"


@pytest.fixture
def imap(settings):
    """A real IMAP server (Dovecot) with the bounce mailbox settings pointed at it."""
    with dovecot_server() as server:
        server.use(settings)
        yield server


@pytest.fixture
def sent_campaign(db):
    """A local campaign to hang delivery rows on (tests.support.bounces.delivered)."""
    return campaign_create_discount(offer=make_offer(code="corrective", percent_off=35),
                                    name="Corrective week", send_at=None)
