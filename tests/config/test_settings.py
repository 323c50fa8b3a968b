import os
import subprocess
import sys

import pytest

from config.settings.env import VARIABLES


def _import_production(env: dict) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    return subprocess.run(
        [sys.executable, "-c", "import config.settings.production"],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "env, missing",
    [
        ({}, "SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL, REDIS_URL"),
        ({"SECRET_KEY": "s", "ALLOWED_HOSTS": "example.org"}, "DATABASE_URL, REDIS_URL"),
        (
            {"ALLOWED_HOSTS": "example.org", "DATABASE_URL": "postgres://x/y",
             "REDIS_URL": "redis://localhost"},
            "SECRET_KEY",
        ),
    ],
)
def test_production_refuses_to_start_naming_what_is_missing(env, missing):
    result = _import_production(env)
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.endswith(
        f"Partwork refuses to start: set {missing} in the environment (see .env.example)."
    )


def test_production_starts_when_everything_is_set():
    result = _import_production(
        {
            "SECRET_KEY": "k3y-with-fifty-or-more-random-characters-0123456789abcdef",
            "ALLOWED_HOSTS": "example.org",
            "DATABASE_URL": "postgres://u@127.0.0.1/db",
            "REDIS_URL": "redis://127.0.0.1:6379/0",
        }
    )
    assert result.returncode == 0, result.stderr
