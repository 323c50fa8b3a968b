"""Fixed-window request counters in Redis (through Django's Redis cache).

One key per (rule, identity, window): ``add`` creates it at 0 with a TTL a little longer than the
window (SET NX EX), ``incr`` counts atomically (INCRBY keeps the TTL). Every process shares the
counters, and the keys disappear by themselves. A fixed window lets a burst of up to twice the
limit through at a window edge; for a signup form that is an acceptable price for two round trips.
"""

import hashlib
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache


@dataclass(frozen=True)
class Rule:
    name: str
    limit: int
    window_seconds: int


# The rules, settings.RATE_LIMITS = {"rule name": (limit, window_seconds)}
# (config/settings/env.py has the defaults and what each counts):
# "ip" subscribes and requests with links that are not valid, per client bucket (clients.py);
# "subscribe-ip" subscribes per client bucket; "subscribe-address" subscribes of one address from
# one client bucket; "confirmations" confirmation emails per address, from all clients together;
# "link" requests with one valid link; "admin-login-user" and "admin-login-ip" failed admin
# logins per user name and per client bucket.


class RateLimited(Exception):
    def __init__(self, rule: Rule, retry_after: int):
        super().__init__(f"Too many requests; try again in {retry_after} seconds.")
        self.rule = rule
        self.retry_after = retry_after


def rule(name: str) -> Rule:
    limit, window_seconds = settings.RATE_LIMITS[name]
    return Rule(name, limit, window_seconds)


def _key(rule: Rule, identity: str, window: int) -> str:
    # Hash the identity: keys stay short and no address or IP sits in Redis in clear.
    digest = hashlib.sha256(identity.encode()).hexdigest()[:32]
    return f"{settings.SUBSCRIBER_RATE_LIMIT_PREFIX}:{rule.name}:{digest}:{window}"


def _window(current: Rule) -> tuple[float, int]:
    now = time.time()
    return now, int(now // current.window_seconds)


def _refusal(current: Rule, now: float, window: int) -> RateLimited:
    retry_after = math.ceil((window + 1) * current.window_seconds - now)
    return RateLimited(current, max(retry_after, 1))


def hit(name: str, identity: str) -> int:
    """Count one request; raise RateLimited when the window's limit is passed. Returns the count."""
    current = rule(name)
    now, window = _window(current)
    key = _key(current, identity, window)
    for _ in range(2):  # the key may expire between add and incr; one retry settles it
        cache.add(key, 0, timeout=current.window_seconds + 5)
        try:
            count = cache.incr(key)
            break
        except ValueError:
            continue
    else:
        count = 1
    if count > current.limit:
        raise _refusal(current, now, window)
    return count


def check(name: str, identity: str) -> None:
    """Raise RateLimited when the window's limit is already reached, counting nothing (for
    limits on failures, counted by ``hit`` only once a failure happened)."""
    current = rule(name)
    now, window = _window(current)
    if int(cache.get(_key(current, identity, window)) or 0) >= current.limit:
        raise _refusal(current, now, window)
