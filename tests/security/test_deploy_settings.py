"""Issue 12, items 10 and 11: what production runs with.

Before: `check --deploy` warned (no HSTS, no HTTPS redirect, weak key); the `.env.example`
placeholder SECRET_KEY started production, so anyone could mint unsubscribe links for the
sequential subscriber ids; `.env` was neither git- nor docker-ignored, so `cp .env.example .env`
then `docker compose build` baked the keys into the image; Flower was published on every
interface with no authentication."""

import fnmatch
import os
import secrets
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from base64 import b64encode

import pytest
from django.conf import settings

from tests.support.compose import ENV_EXAMPLE, ROOT, env_file_values, load_compose
from tests.support.processes import Process, free_port, wait_until


def production(*argv: str, **env: str) -> subprocess.CompletedProcess:
    """Run manage.py (or, without argv, import the settings) with the production settings."""
    # A clean environment, as a container's: nothing of this test run's (e.g. a browser test's
    # DJANGO_ALLOW_ASYNC_UNSAFE) may reach the check.
    clean = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    env = {"DJANGO_SETTINGS_MODULE": "config.settings.production",
           "ALLOWED_HOSTS": "partwork.example.org", "DATABASE_URL": "postgres://u@127.0.0.1/db",
           "REDIS_URL": "redis://127.0.0.1:6379/0", **env}
    command = ([sys.executable, "manage.py", *argv] if argv
               else [sys.executable, "-c", "import config.settings.production"])
    return subprocess.run(command, cwd=ROOT, env={**clean, **env}, capture_output=True,
                          text=True, timeout=120)


def test_check_deploy_with_the_production_settings_prints_no_warning():
    result = production("check", "--deploy", SECRET_KEY=secrets.token_urlsafe(50))
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert "System check identified no issues" in output, output


@pytest.mark.parametrize("variable", ["SECRET_KEY", "SECRET_KEY_FALLBACKS"])
def test_the_example_secret_key_does_not_start_production(variable):
    placeholder = env_file_values(ENV_EXAMPLE)["SECRET_KEY"]
    keys = {"SECRET_KEY": secrets.token_urlsafe(50), variable: placeholder}
    result = production(**keys)
    assert result.returncode != 0
    refusal = result.stderr.strip().splitlines()[-1]
    assert f"Partwork refuses to start: {variable} must be at least 50 random" in refusal
    assert placeholder not in refusal  # a refused key is not printed to the logs either


def _ignored(ignore_file, path: str) -> bool:
    """gitignore/dockerignore matching, enough for these files: the last matching line wins."""
    ignored = False
    for line in (ROOT / ignore_file).read_text().splitlines():
        pattern = line.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negate = pattern.startswith("!")
        if fnmatch.fnmatch(path, pattern.lstrip("!/").rstrip("/")):
            ignored = not negate
    return ignored


@pytest.mark.parametrize("ignore_file", [".gitignore", ".dockerignore"])
def test_the_env_file_stays_out_of_git_and_the_image(ignore_file):
    assert _ignored(ignore_file, ".env"), f"{ignore_file} lets .env through"
    assert _ignored(ignore_file, ".env.production")
    assert not _ignored(ignore_file, ".env.example")


def test_git_ignores_the_env_file():
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    result = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT)
    assert result.returncode == 0, "git would add .env"


@pytest.mark.slow
def test_flower_listens_on_loopback_only_and_asks_for_a_password(tmp_path):
    flower = load_compose()["services"]["flower"]
    assert all(str(p).startswith("127.0.0.1:") for p in flower["ports"]), flower["ports"]

    port = free_port()
    command = [part.replace("--port=5555", f"--port={port} --address=127.0.0.1")
               .replace("celery ", f"{sys.executable} -m celery ").replace("$$", "$")
               for part in flower["command"]]  # what compose runs ($$ is its escaped $)
    if command[0] == "celery":
        command = [sys.executable, "-m", *command]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test",
           "REDIS_URL": settings.REDIS_URL}
    env.pop("FLOWER_BASIC_AUTH", None)
    unset = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, timeout=60)
    assert unset.returncode != 0, "Flower started without a password"

    process = Process("flower", command, tmp_path, {**env, "FLOWER_BASIC_AUTH": "ops:pa55word"})

    def status(**headers):
        request = urllib.request.Request(f"http://127.0.0.1:{port}/", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                return answer.status
        except urllib.error.HTTPError as error:
            return error.code
        except OSError:
            return None

    try:
        wait_until(lambda: status() is not None, timeout=60, interval=0.5, what="flower")
        assert status() == 401
        assert status(Authorization="Basic " + b64encode(b"ops:guess").decode()) == 401
        assert status(Authorization="Basic " + b64encode(b"ops:pa55word").decode()) == 200
    finally:
        process.kill(signal.SIGTERM)
