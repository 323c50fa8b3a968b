import pytest

from pipeline.audience.services.sync import audience_sync
from tests.support.mailchimp import fast_client


@pytest.fixture
def sync(mailchimp_settings):
    """audience_sync against the emulator, with no outage waits."""
    def run(**options):
        options.setdefault("client_factory", fast_client)
        options.setdefault("outage_sleep", lambda seconds: None)
        return audience_sync(**options)
    return run
