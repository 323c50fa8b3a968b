"""Pacing of local (SMTP) sending to the relay's quota, shared by every mail worker through Redis.

Two limits, both off by default (config/settings/env.py):

- ``CAMPAIGN_SMTP_RATE`` messages per second: the ``limits`` library's moving window in Redis
  (a Lua script over a list of timestamps), so no one-second span ever holds more than the rate,
  however many workers send. That is a token bucket whose bucket holds one second of tokens,
  which is what relays such as Amazon SES state as their "maximum send rate".
- a daily cap, ``CAMPAIGN_SMTP_DAILY_CAP``, or on a warm-up day the day's entry of
  ``CAMPAIGN_SMTP_WARMUP`` (counted from ``CAMPAIGN_SMTP_WARMUP_START``): a counter per UTC day
  (``INCRBY``, given back with ``DECRBY`` past the cap, so workers racing for the last tokens
  never exceed it together). ``limits``' fixed windows start at the first hit and carry the
  limit in their key, so a cap that grows during a warm-up would restart the count: the day's
  counter is ours, keyed by the date.

Tokens are taken for a batch of messages at once (the half window the send loop claims per
commit), so pacing costs one Redis call per few messages; with neither limit set it costs
nothing at all. Tokens taken for messages that were never handed over are given back.
"""

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as day_time
from functools import cache

from django.conf import settings
from limits import RateLimitItemPerSecond
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter

KEY_PREFIX = "partwork:pacing"


def daily_cap(day: date) -> int | None:
    """The number of messages the relay may take on ``day`` (None: no cap)."""
    schedule = settings.CAMPAIGN_SMTP_WARMUP
    cap = settings.CAMPAIGN_SMTP_DAILY_CAP
    if schedule:
        start = settings.CAMPAIGN_SMTP_WARMUP_START or day
        index = max((day - start).days, 0)
        if index < len(schedule):
            return schedule[index] if cap is None else min(schedule[index], cap)
    return cap


def next_day_start(now: datetime) -> datetime:
    """When the day after ``now``'s UTC day begins (a paused campaign is due again then)."""
    tomorrow = now.astimezone(UTC).date() + timedelta(days=1)
    return datetime.combine(tomorrow, day_time(), tzinfo=UTC)


@dataclass(frozen=True)
class Grant:
    count: int  # messages that may go out now
    day_full_until: datetime | None = None  # set when the day's cap is reached


@cache
def _storage(url: str) -> RedisStorage:
    # limits wants redis+unix:// for a socket (the embedded Redis), and redis:// otherwise.
    if url.startswith("unix://"):
        url = "redis+unix://" + url[len("unix://"):]
    return RedisStorage(url, key_prefix=f"{KEY_PREFIX}:rate")


class Pacer:
    """What one send run asks before it claims the next messages."""

    def __init__(self) -> None:
        self.rate = settings.CAMPAIGN_SMTP_RATE
        self.capped = settings.CAMPAIGN_SMTP_DAILY_CAP is not None or bool(
            settings.CAMPAIGN_SMTP_WARMUP)
        self.enabled = bool(self.rate) or self.capped
        if self.enabled:
            storage = _storage(settings.REDIS_URL)
            self.redis = storage.get_connection()
            self.limiter = MovingWindowRateLimiter(storage)
            self.item = RateLimitItemPerSecond(self.rate) if self.rate else None
        self.taken_today: tuple[str, int] | None = None

    def take(self, wanted: int) -> Grant:
        """Up to ``wanted`` messages, waiting for the per-second rate if need be."""
        if not self.enabled or wanted <= 0:
            return Grant(wanted)
        if self.rate:
            wanted = min(wanted, self.rate)
        if self.capped:
            now = datetime.now(UTC)
            cap = daily_cap(now.date())
            if cap is not None:
                key = f"{KEY_PREFIX}:day:{now.date().isoformat()}"
                pipe = self.redis.pipeline()
                pipe.incrby(key, wanted)
                pipe.expire(key, 3 * 86400)
                count = pipe.execute()[0]
                over = min(max(count - cap, 0), wanted)
                if over:
                    self.redis.decrby(key, over)
                wanted -= over
                if not wanted:
                    return Grant(0, day_full_until=next_day_start(now))
                self.taken_today = (key, wanted)
        if self.item is not None:
            while not self.limiter.hit(self.item, "smtp", cost=wanted):
                reset, _ = self.limiter.get_window_stats(self.item, "smtp")
                time.sleep(min(max(reset - time.time(), 0.005), 1.0))
        return Grant(wanted)

    def give_back(self, count: int) -> None:
        """Messages granted but never handed over no longer count against the day's cap."""
        if count > 0 and self.enabled and self.taken_today:
            key, _ = self.taken_today
            self.redis.decrby(key, count)
