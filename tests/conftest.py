import uuid

import pytest
from django.conf import settings

from cms.content_cache import clear_local

# Fixtures shared by several test folders, registered here so every test can ask for them:
# content (series, other_series); the Mailchimp emulator, for any test that talks to "Mailchimp";
# Playwright with Debian's chromium, one browser per session, shared by every browser test.
from tests.support.browser import browser, editor, logged_in, page, screenshot  # noqa: F401
from tests.support.factories import other_series, series  # noqa: F401
from tests.support.mailchimp_emulator.fixtures import (  # noqa: F401
    _mailchimp_emulator_server,
    mailchimp_emulator,
    mailchimp_emulator_process,
    mailchimp_settings,
)
from tests.support.processes import create_migrated_template, drop_migrated_template


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's test database, migrated, and straight after that a copy of it that scratch
    databases are cloned from (scratch_database(migrated=True)) instead of migrating anew."""
    with django_db_blocker.unblock():
        create_migrated_template()
    yield
    with django_db_blocker.unblock():
        drop_migrated_template()


@pytest.fixture(autouse=True)
def _fresh_content_cache():
    """Each test starts with an empty per-process API cache (the Redis counter is shared)."""
    clear_local()
    yield
    clear_local()


@pytest.fixture(autouse=True)
def _own_rate_limit_counters(settings):
    """Each test counts in its own Redis keys (real Redis; keys expire by themselves), so no
    test's requests are refused for another's, or for an earlier run's."""
    settings.SUBSCRIBER_RATE_LIMIT_PREFIX = f"test-ratelimit-{uuid.uuid4().hex}"


def pytest_report_header(config):
    database = settings.DATABASES["default"]
    return [
        f"partwork: database {database['ENGINE'].rsplit('.', 1)[-1]} "
        f"({database.get('HOST') or database['NAME']}), redis {settings.REDIS_URL}",
    ]
