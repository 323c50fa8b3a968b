"""Failed logins (the Wagtail admin's /admin/login/ and any other Django login) are throttled per
user name and per client, with the subscribers' rate-limit counters in Redis.

Each failed login counts once for the user name (case-insensitive) and once for the client bucket
(the address behind the trusted proxies, an IPv6 /64 as one; pipeline/subscribers/clients.py).
While either count is at its limit (ADMIN_LOGIN_RATE_LIMIT_USER, ADMIN_LOGIN_RATE_LIMIT_IP), the
backend refuses before it checks any password, so guessing stops paying even with the right
password; the form shows its usual "incorrect" message, telling nothing about the account. A
successful login counts nothing; the counters expire with their window. Locking a user name is a
short denial of service to its owner (15 minutes by default): the price of stopping a guesser
who spreads over many clients.
"""

import contextlib

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver

from pipeline.subscribers.clients import client_bucket, client_ip
from pipeline.subscribers.rate_limits import RateLimited, check, hit


def _counters(request, username) -> list[tuple[str, str]]:
    counters = [("admin-login-user", str(username or "").casefold())]
    if request is not None:
        counters.append(("admin-login-ip", client_bucket(client_ip(request))))
    return counters


class ThrottledModelBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        try:
            for rule, identity in _counters(request, username):
                check(rule, identity)
        except RateLimited:
            raise PermissionDenied("Too many failed logins; try again later.") from None
        return super().authenticate(request, username=username, password=password, **kwargs)


@receiver(user_login_failed, dispatch_uid="partwork-count-failed-login")
def _count_failed_login(sender, credentials, request=None, **kwargs):
    for rule, identity in _counters(request, credentials.get("username")):
        with contextlib.suppress(RateLimited):  # already over: the next attempt is refused
            hit(rule, identity)
