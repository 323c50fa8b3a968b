"""Signed tokens for the links in subscriber emails (django.core.signing, no table needed).

Each token names the subscriber and a digest of the address it was made for (never the address
itself: the payload is signed, not encrypted, and URLs end up in logs), so confirmation and
preference links stop working once the address changes; unsubscribe links keep working.
Confirmation links expire (settings.SUBSCRIBER_CONFIRM_MAX_AGE) and so do preference links
(settings.SUBSCRIBER_PREFERENCES_MAX_AGE); unsubscribe links never do: RFC 8058 and the mailbox
providers expect them to work for as long as the email can be read.

The digest is a keyed HMAC of the address (payload field ``h``), so a token seen in a log or a
Referer cannot confirm a guessed address offline. Tokens are signed with SECRET_KEY, and those
signed with a key in SECRET_KEY_FALLBACKS still verify (signature and digest), so a key rotation
breaks no link already mailed. Tokens made before the HMAC carry an unkeyed digest (field ``a``,
16 hex digits of SHA-256): they are still accepted, since accepting them reveals nothing their
readers do not already have, and they stop mattering once the last one expires (preference links
after SUBSCRIBER_PREFERENCES_MAX_AGE; unsubscribe links never check the address).
"""

import functools
import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils.crypto import salted_hmac

CONFIRM = "confirm"
UNSUBSCRIBE = "unsubscribe"
PREFERENCES = "preferences"
DATA_EXPORT = "data-export"  # one subscriber's own data as JSON


class BadToken(ValueError):
    """The link is malformed, forged, expired or for another purpose."""


@dataclass(frozen=True)
class TokenClaims:
    subscriber_id: int
    address_digest: str
    consent_id: int | None = None


_DIGEST_SALT = "pipeline.subscribers.tokens.address"
_LEGACY = "legacy:"


def address_digest(email: str, *, key: str | None = None) -> str:
    """The keyed digest of an address that new tokens carry (SECRET_KEY unless ``key``)."""
    return _keyed_digest(email, key or settings.SECRET_KEY)


@functools.lru_cache(maxsize=64)
def _keyed_digest(email: str, key: str) -> str:
    # Cached: a list email makes two tokens for each reader in a row (unsubscribe, preferences).
    return salted_hmac(_DIGEST_SALT, email, secret=key, algorithm="sha256").hexdigest()[:32]


def address_matches(email: str, digest: str) -> bool:
    """Whether a token's digest was made for ``email``, under the current or a fallback key (or,
    for a token of before the HMAC, by the unkeyed digest it carries)."""
    if digest.startswith(_LEGACY):
        expected = hashlib.sha256(email.encode()).hexdigest()[:16]
        return hmac.compare_digest(expected, digest[len(_LEGACY):])
    return any(hmac.compare_digest(address_digest(email, key=key), digest)
               for key in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS])


def _salt(purpose: str) -> str:
    return f"pipeline.subscribers.{purpose}"


def _max_age(purpose: str) -> timedelta | None:
    """Read at each call (tests override the settings); None: the link never expires."""
    if purpose == CONFIRM:
        return settings.SUBSCRIBER_CONFIRM_MAX_AGE
    if purpose == PREFERENCES:
        return settings.SUBSCRIBER_PREFERENCES_MAX_AGE
    if purpose == DATA_EXPORT:
        return settings.SUBSCRIBER_DATA_EXPORT_MAX_AGE
    if purpose == UNSUBSCRIBE:
        return None
    raise KeyError(purpose)


def make_token(purpose: str, *, subscriber_id: int, email: str, consent_id: int | None = None
               ) -> str:
    payload = {"s": subscriber_id, "h": address_digest(email)}
    if consent_id is not None:
        payload["c"] = consent_id
    return _signer(_salt(purpose), settings.SECRET_KEY).sign_object(payload, compress=True)


@functools.lru_cache(maxsize=16)
def _signer(salt: str, key: str) -> signing.TimestampSigner:
    """What ``signing.dumps`` signs with (same tokens), made once per purpose and key rather
    than once per link: a campaign makes a few per reader."""
    return signing.TimestampSigner(key=key, salt=salt)


def read_token(purpose: str, token: str) -> TokenClaims:
    if not isinstance(token, str) or len(token) > 1000:
        raise BadToken("This link is not valid.")
    try:
        payload = signing.loads(token, salt=_salt(purpose), max_age=_max_age(purpose))
    except signing.SignatureExpired:
        raise BadToken("This link has expired.") from None
    except (signing.BadSignature, ValueError):
        raise BadToken("This link is not valid.") from None
    try:
        digest = str(payload["h"]) if "h" in payload else _LEGACY + str(payload["a"])
        return TokenClaims(
            subscriber_id=int(payload["s"]),
            address_digest=digest,
            consent_id=payload.get("c"),
        )
    except (KeyError, TypeError, ValueError):
        raise BadToken("This link is not valid.") from None


def confirm_max_age_days() -> int:
    max_age = _max_age(CONFIRM)
    return max_age.days if isinstance(max_age, timedelta) else int(max_age) // 86400


def absolute_url(route_name: str, token: str) -> str:
    return settings.BASE_URL + reverse(f"api:{route_name}", kwargs={"token": token})


def unsubscribe_url(*, subscriber_id: int, email: str) -> str:
    """The one-click URL for the List-Unsubscribe header and the footer link (RFC 8058)."""
    return absolute_url(
        "subscriber_unsubscribe",
        make_token(UNSUBSCRIBE, subscriber_id=subscriber_id, email=email),
    )


def preferences_url(*, subscriber_id: int, email: str) -> str:
    return absolute_url(
        "subscriber_preferences",
        make_token(PREFERENCES, subscriber_id=subscriber_id, email=email),
    )


def data_export_url(*, subscriber_id: int, email: str) -> str:
    """A short-lived link to the subscriber's own data (JSON), for the preference page."""
    return absolute_url(
        "subscriber_data_export",
        make_token(DATA_EXPORT, subscriber_id=subscriber_id, email=email),
    )


def confirm_url(*, subscriber_id: int, email: str, consent_id: int) -> str:
    return absolute_url(
        "subscriber_confirm",
        make_token(CONFIRM, subscriber_id=subscriber_id, email=email, consent_id=consent_id),
    )


def list_unsubscribe_headers(*, subscriber_id: int, email: str) -> dict[str, str]:
    """Headers every list email carries so mail clients show a working one-click unsubscribe."""
    return {
        "List-Unsubscribe": f"<{unsubscribe_url(subscriber_id=subscriber_id, email=email)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


# The reader's pages (server-rendered, pipeline/catchup/views.py), reached with a preferences
# token: the preference page, "stop emails about this series" and "send me the earlier parts".
PAGE_ROUTES = {
    "preferences": "reader_preferences",
    "stop_series": "reader_stop_series",
    "catchup": "reader_catchup",
}


@functools.cache
def _page_path(route: str) -> str:
    """The page's path around placeholders: reverse() once, not once per message."""
    kwargs = {"token": "TOKEN"} if route == "preferences" else {"token": "TOKEN", "slug": "SLUG"}
    return reverse(PAGE_ROUTES[route], kwargs=kwargs)


def reader_page_url(route: str, *, token: str, slug: str = "") -> str:
    before, after = _page_path(route).split("TOKEN", 1)  # the token is inserted, not searched
    return settings.BASE_URL + before + token + after.replace("SLUG", slug)


@dataclass(frozen=True)
class ReaderLinks:
    preferences: str
    stop_series: str  # empty when the email is about no one series


def reader_links(*, subscriber_id: int, email: str, series_slug: str = "") -> ReaderLinks:
    """The personal links of a list email's footer (one signed token for both)."""
    token = make_token(PREFERENCES, subscriber_id=subscriber_id, email=email)
    return ReaderLinks(
        preferences=reader_page_url("preferences", token=token),
        stop_series=reader_page_url("stop_series", token=token, slug=series_slug)
        if series_slug else "",
    )
