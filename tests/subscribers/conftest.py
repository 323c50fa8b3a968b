import uuid

import pytest


@pytest.fixture(autouse=True)
def _own_rate_limit_counters(settings):
    """Each test counts in its own Redis keys (real Redis; keys expire by themselves)."""
    settings.SUBSCRIBER_RATE_LIMIT_PREFIX = f"test-ratelimit-{uuid.uuid4().hex}"
