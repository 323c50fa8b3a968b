"""Settings for the worker processes that tests/campaigns/test_sigkill.py and
bench/announcement_latency.py start: the test settings, plus real SMTP (to the trial's sink), the
emulator, and a short lease so a killed worker's campaign is taken over within seconds.
Test-only: production settings come from config/settings/env.py."""

import os
from datetime import timedelta

from config.settings.test import *  # noqa: F403

EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = "127.0.0.1"
EMAIL_PORT = int(os.environ.get("TRIAL_SMTP_PORT", "25"))
EMAIL_TIMEOUT = 10
EMAIL_PROVIDER = os.environ.get("TRIAL_PROVIDER", "local")
MAILCHIMP = {
    "API_KEY": os.environ.get("TRIAL_MAILCHIMP_KEY", ""),
    "SERVER": "",
    "API_URL": os.environ.get("TRIAL_MAILCHIMP_URL", ""),
    "LIST_ID": os.environ.get("TRIAL_MAILCHIMP_LIST", ""),
    "WEBHOOK_SECRET": None,
}
MAILCHIMP_TIMEOUT = 5
CAMPAIGN_LEASE = timedelta(seconds=float(os.environ.get("TRIAL_LEASE_SECONDS", "2")))
CAMPAIGN_RETRY_BACKOFF_SECONDS = 0.2
# Subscriber imports: a killed worker's import is resumed by the sweep within seconds.
SUBSCRIBER_IMPORT_LEASE = timedelta(
    seconds=float(os.environ.get("TRIAL_IMPORT_LEASE_SECONDS", "5")))
