import pytest


@pytest.fixture(autouse=True)
def _campaign_settings(settings):
    settings.EMAIL_PROVIDER = "local"
    settings.CAMPAIGN_RETRY_BACKOFF_SECONDS = 0
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
