"""The typed readers of config/settings/env.py: defaults declared once, bad values refused at
start in one line that names the variable and what it expects."""

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.conf import settings

from config.settings.env import (
    VARIABLES,
    ConfigurationError,
    env_duration,
    env_float,
    env_int,
    env_networks,
    env_rate,
    env_time_zone,
)
from pipeline.campaigns.models import CampaignKind


@pytest.mark.parametrize("raw, expected", [
    ("", timedelta(minutes=2)),  # unset: the declared default, "2m"
    ("90", timedelta(seconds=90)),
    ("90s", timedelta(seconds=90)),
    ("1.5m", timedelta(seconds=90)),
    ("12h", timedelta(hours=12)),
    ("7d", timedelta(days=7)),
])
def test_durations_take_seconds_or_a_unit(monkeypatch, raw, expected):
    monkeypatch.setenv("CAMPAIGN_LEASE", raw)
    assert env_duration("CAMPAIGN_LEASE") == expected


@pytest.mark.parametrize("read, name, raw, expected", [
    (env_duration, "CAMPAIGN_LEASE", "soon", "a duration such as 90, 90s, 30m, 12h or 7d"),
    (lambda n: env_int(n, minimum=1), "CAMPAIGN_SMTP_CONNECTIONS", "0",
     "a whole number of at least 1"),
    (lambda n: env_int(n, minimum=1), "CAMPAIGN_MAX_ATTEMPTS", "2.5",
     "a whole number of at least 1"),
    (lambda n: env_float(n, positive=True), "PUBLISHING_SWEEP_INTERVAL", "0",
     "a number above zero (e.g. 5 or 0.5)"),
    (env_float, "CAMPAIGN_RETRY_BACKOFF_SECONDS", "-1", "a number, zero or more (e.g. 5 or 0.5)"),
    (env_rate, "SUBSCRIBER_RATE_LIMIT_IP", "60", "LIMIT/SECONDS with both at least 1"),
    (env_time_zone, "CAMPAIGN_DEFAULT_TIME_ZONE", "Mars/Olympus", "an IANA time zone"),
    (env_networks, "TRUSTED_PROXIES", "10.0.0.0/33", "IP networks such as 10.0.0.0/8"),
])
def test_a_bad_value_is_refused_naming_the_variable_and_what_it_expects(
        monkeypatch, read, name, raw, expected):
    monkeypatch.setenv(name, raw)
    with pytest.raises(ConfigurationError) as refused:
        read(name)
    message = str(refused.value)
    assert message.startswith(f"Partwork refuses to start: {name} must be {expected}")
    assert repr(raw) in message and "\n" not in message


def test_an_unset_optional_number_stays_unset(monkeypatch):
    monkeypatch.delenv("CAMPAIGN_LEDGER_WINDOW", raising=False)
    assert VARIABLES["CAMPAIGN_LEDGER_WINDOW"].default is None
    assert env_int("CAMPAIGN_LEDGER_WINDOW", minimum=1) is None


def test_the_settings_refuse_to_load_with_a_bad_value():
    result = subprocess.run(
        [sys.executable, "-c", "import config.settings.base"],
        env={**os.environ, "CAMPAIGN_OFFER_SAFETY_MARGIN": "five minutes"},
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1].endswith(
        "Partwork refuses to start: CAMPAIGN_OFFER_SAFETY_MARGIN must be a duration such as "
        "90, 90s, 30m, 12h or 7d, not 'five minutes' (see .env.example).")


def test_every_campaign_kind_has_a_max_lateness():
    assert set(settings.CAMPAIGN_MAX_LATENESS) == set(CampaignKind.values)
