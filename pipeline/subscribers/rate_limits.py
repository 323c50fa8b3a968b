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


# Overridable with settings.SUBSCRIBER_RATE_LIMITS = {"rule name": (limit, window_seconds)}.
DEFAULT_RULES = {
    "ip": Rule("ip", 60, 60),  # every subscriber endpoint, per client IP
    "subscribe-ip": Rule("subscribe-ip", 10, 600),  # subscribes per client IP
    "subscribe-address": Rule("subscribe-address", 3, 3600),  # confirmation emails per address
}


class RateLimited(Exception):
    def __init__(self, rule: Rule, retry_after: int):
        super().__init__(f"Too many requests; try again in {retry_after} seconds.")
        self.rule = rule
        self.retry_after = retry_after


def rule(name: str) -> Rule:
    override = getattr(settings, "SUBSCRIBER_RATE_LIMITS", {}).get(name)
    if override:
        return Rule(name, *override)
    return DEFAULT_RULES[name]


def _key(rule: Rule, identity: str, window: int) -> str:
    # Hash the identity: keys stay short and no address or IP sits in Redis in clear.
    digest = hashlib.sha256(identity.encode()).hexdigest()[:32]
    prefix = getattr(settings, "SUBSCRIBER_RATE_LIMIT_PREFIX", "ratelimit")
    return f"{prefix}:{rule.name}:{digest}:{window}"


def hit(name: str, identity: str) -> int:
    """Count one request; raise RateLimited when the window's limit is passed. Returns the count."""
    current = rule(name)
    now = time.time()
    window = int(now // current.window_seconds)
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
        retry_after = math.ceil((window + 1) * current.window_seconds - now)
        raise RateLimited(current, max(retry_after, 1))
    return count
