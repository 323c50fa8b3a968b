"""Issue 12, item 11: /admin/login/ had no throttling, so a password could be guessed at the
speed of the server. Failed logins now count per user name and per client (the rate-limit
counters in Redis); past either limit even the right password is refused for the window."""

import pytest
from django.contrib.auth import get_user_model

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


@pytest.fixture
def admin_user():
    return get_user_model().objects.create_superuser("editor", "editor@example.com", PASSWORD)


def login(client, username, password, ip):
    client.post("/admin/login/", {"username": username, "password": password}, REMOTE_ADDR=ip)
    logged_in = "_auth_user_id" in client.session
    client.logout()
    return logged_in


def test_guessing_one_user_s_password_is_stopped(client, admin_user):
    guesses = [login(client, "editor", f"guess-{n}", f"198.51.100.{n}") for n in range(1, 40)]
    assert not any(guesses)
    assert not login(client, "editor", PASSWORD, "203.0.113.200")  # even the right one, now
    assert admin_user.last_login is None


def test_one_client_guessing_many_users_is_stopped_and_others_are_not(client, admin_user):
    for n in range(40):
        login(client, f"user{n}", "guess", "198.51.100.66")
    assert not login(client, "editor", PASSWORD, "198.51.100.66")
    assert login(client, "editor", PASSWORD, "203.0.113.5")  # the owner elsewhere gets in
