import pytest

from cms.content_cache import clear_local


@pytest.fixture(autouse=True)
def _fresh_content_cache():
    """Each test starts with an empty per-process API cache (the Redis counter is shared)."""
    clear_local()
    yield
    clear_local()


def pytest_report_header(config):
    from django.conf import settings

    database = settings.DATABASES["default"]
    return [
        f"partwork: database {database['ENGINE'].rsplit('.', 1)[-1]} "
        f"({database.get('HOST') or database['NAME']}), redis {settings.REDIS_URL}",
    ]


# The Mailchimp emulator fixtures, for any test that talks to "Mailchimp".
# Playwright with Debian's chromium: one browser per session, shared by every browser test.
from tests.support.browser import browser, editor, logged_in, page, screenshot  # noqa: E402,F401
from tests.support.mailchimp_emulator.fixtures import (  # noqa: E402, F401
    _mailchimp_emulator_server,
    mailchimp_emulator,
    mailchimp_emulator_process,
    mailchimp_settings,
)
