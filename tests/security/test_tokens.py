"""Issue 12, item 11: the links we mail.

Before: a token carried 16 hex digits of an unkeyed SHA-256 of the address, so anyone who saw a
link (a log, a forwarded email, a proxy) could confirm a guessed address offline; rotating
SECRET_KEY broke every unsubscribe link already mailed (SECRET_KEY_FALLBACKS was not read);
the preferences answer (the address, its series) carried no Cache-Control: no-store."""

import base64
import hashlib
import json
import os
import secrets
import subprocess
import sys
import zlib

import pytest

from config.settings.env import VARIABLES
from pipeline.subscribers.models import SubscriberStatus
from pipeline.subscribers.services import subscriber_email_headers, subscriber_preferences_url
from tests.support.compose import ROOT
from tests.support.subscribers import link_path, make_member

pytestmark = pytest.mark.django_db

ADDRESS = "ann@example.com"


@pytest.fixture
def ann(series):
    return make_member(ADDRESS, series)


def _payload(path: str) -> dict:
    token = path.rstrip("/").rsplit("/", 1)[-1]
    data = token.split(":", 1)[0]
    compressed = data.startswith(".")
    raw = base64.urlsafe_b64decode(data.lstrip(".") + "=" * (-len(data.lstrip(".")) % 4))
    return json.loads(zlib.decompress(raw) if compressed else raw)


def _unsubscribe_path(member) -> str:
    return link_path(subscriber_email_headers(member)["List-Unsubscribe"].strip("<>"))


def test_a_link_does_not_confirm_a_guessed_address_offline(ann):
    """What anyone can compute from a guess without our key is in no token."""
    guesses = set()
    for name in ("md5", "sha1", "sha256", "sha512", "blake2b"):
        digest = hashlib.new(name, ADDRESS.encode()).hexdigest()
        guesses |= {digest[:n] for n in range(8, len(digest) + 1)}
    for path in (link_path(subscriber_preferences_url(ann)), _unsubscribe_path(ann)):
        values = {str(v) for v in _payload(path).values()}
        assert not values & guesses, path


def test_rotating_the_secret_key_keeps_mailed_links_working(client, ann, settings):
    old_key, new_key = secrets.token_urlsafe(50), secrets.token_urlsafe(50)
    # Production reads the previous key from the environment...
    clean = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    read = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; import django; "
         "django.setup(); print(settings.SECRET_KEY_FALLBACKS)"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings.production",
             "SECRET_KEY": new_key, "SECRET_KEY_FALLBACKS": old_key,
             "ALLOWED_HOSTS": "example.org", "DATABASE_URL": "postgres://u@127.0.0.1/db",
             "REDIS_URL": "redis://127.0.0.1:6379/0"})
    assert read.returncode == 0, read.stderr
    assert read.stdout.strip() == repr([old_key])
    # ...and the links mailed under the old key keep working under the new one.
    settings.SECRET_KEY = old_key
    preferences, unsubscribe = link_path(subscriber_preferences_url(ann)), _unsubscribe_path(ann)
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = new_key, [old_key]
    answer = client.get(preferences)
    assert answer.status_code == 200 and answer.json()["email"] == ADDRESS
    assert client.post(unsubscribe, "List-Unsubscribe=One-Click",
                       content_type="application/x-www-form-urlencoded").status_code == 200
    ann.refresh_from_db()
    assert ann.status == SubscriberStatus.UNSUBSCRIBED


def test_no_answer_about_a_link_may_be_stored_by_a_cache(client, ann):
    preferences, unsubscribe = link_path(subscriber_preferences_url(ann)), _unsubscribe_path(ann)
    answers = {
        "preferences": client.get(preferences),
        "preferences (bad link)": client.get(preferences[:-4] + "AAAA"),
        "choose series": client.put(preferences, {"series": ["moving-well"]},
                                    content_type="application/json"),
        "unsubscribe page": client.get(unsubscribe),
    }
    for name, answer in answers.items():
        assert answer.status_code in (200, 400), (name, answer.status_code)
        assert "no-store" in answer.get("Cache-Control", ""), name
