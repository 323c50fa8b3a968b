"""Cached API responses that still show a publish within a second.

Every change to published content (a page published, unpublished, moved or deleted; a view
restriction added, changed or removed; an offer saved or deleted) bumps one generation counter in
Redis. A response is cached per process under (path, generation) together with the moment it
stops being true (the next start or end of an offer it depends on), so an offer's end is never
served from cache. Each process re-reads the generation at most every GENERATION_TTL seconds: a
publish by any worker is seen everywhere within that time.
"""

import hashlib
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from django.core.cache import cache
from django.utils import timezone

GENERATION_KEY = "content-generation"
GENERATION_TTL = 0.25
MAX_ENTRIES = 2048


@dataclass(frozen=True)
class CachedResponse:
    body: bytes
    etag: str
    last_modified: datetime | None
    valid_until: datetime | None  # None: true until the next generation
    status: int = 200

    def fresh(self, now: datetime) -> bool:
        return self.valid_until is None or now < self.valid_until


class _Generation:
    def __init__(self):
        self._value = None
        self._read_at = 0.0
        self._lock = threading.Lock()

    def current(self) -> int:
        now = time.monotonic()
        if self._value is None or now - self._read_at > GENERATION_TTL:
            with self._lock:
                self._value = cache.get_or_set(GENERATION_KEY, 1, timeout=None)
                self._read_at = now
        return self._value

    def forget(self):
        self._value = None


generation = _Generation()
_entries: dict[tuple[str, int], CachedResponse] = {}


def bump_generation() -> None:
    """Call after any change to published content (signals do)."""
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:
        cache.set(GENERATION_KEY, 2, timeout=None)
    generation.forget()


def make_entry(body: bytes, *, last_modified=None, valid_until=None, status=200):
    etag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
    return CachedResponse(body, etag, last_modified, valid_until, status)


def cached(key: str, build) -> CachedResponse:
    """The cached response for ``key``, building it with ``build()`` when missing or stale."""
    slot = (key, generation.current())
    entry = _entries.get(slot)
    if entry is None or not entry.fresh(timezone.now()):
        entry = build()
        if len(_entries) >= MAX_ENTRIES:
            _entries.clear()
        _entries[slot] = entry
    return entry


def clear_local() -> None:
    _entries.clear()
    generation.forget()
