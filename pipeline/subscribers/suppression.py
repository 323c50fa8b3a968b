"""Addresses erased at their owner's request, kept out of the list without keeping the address.

What is stored is a keyed HMAC-SHA256 of the normal form of the address (normalize_email), so
the table names nobody: a bare hash of an address is reversed by hashing a list of addresses,
a keyed one is not without the key. The key is SUBSCRIBER_SUPPRESSION_KEY, or SECRET_KEY when
unset; digests made with a key in SECRET_KEY_FALLBACKS still match, so a key rotation does not
quietly lift a suppression.

One plain question for every way back onto the list: ``is_suppressed(email)`` (and
``suppressed_among`` for a batch). The CSV import refuses a suppressed row; the subscribe API
still records the request and mails the double opt-in link (the owner may come back, but only
by confirming: never silently), and the confirmation lifts the suppression.
"""

from collections.abc import Iterable

from django.conf import settings
from django.utils.crypto import salted_hmac

from pipeline.subscribers.email_address import InvalidEmail, normalize_email
from pipeline.subscribers.models import SuppressedAddress

_SALT = "pipeline.subscribers.suppression"


def _keys() -> list[str]:
    current = settings.SUBSCRIBER_SUPPRESSION_KEY or settings.SECRET_KEY
    return [current, *settings.SECRET_KEY_FALLBACKS]


def suppression_digest(normalized_email: str, *, key: str | None = None) -> str:
    """The stored form of an already normalized address (the current key unless ``key``)."""
    return salted_hmac(_SALT, normalized_email, secret=key or _keys()[0],
                       algorithm="sha256").hexdigest()


def _all_digests(normalized_email: str) -> list[str]:
    return [suppression_digest(normalized_email, key=key) for key in _keys()]


def _normal(email: str) -> str | None:
    try:
        return normalize_email(email)
    except InvalidEmail:
        return None


def is_suppressed(email: str) -> bool:
    """Was this address erased at its owner's request (and not re-confirmed since)?"""
    address = _normal(email)
    if address is None:
        return False
    return SuppressedAddress.objects.filter(digest__in=_all_digests(address)).exists()


def suppressed_among(normalized_emails: Iterable[str]) -> set[str]:
    """The suppressed ones among many normalized addresses, in one query."""
    by_digest: dict[str, str] = {}
    for address in normalized_emails:
        for digest in _all_digests(address):
            by_digest[digest] = address
    if not by_digest:
        return set()
    found = SuppressedAddress.objects.filter(digest__in=list(by_digest)).values_list(
        "digest", flat=True)
    return {by_digest[digest] for digest in found}


def suppress(normalized_email: str, *, reason: str) -> None:
    SuppressedAddress.objects.get_or_create(
        digest=suppression_digest(normalized_email), defaults={"reason": reason[:200]})


def lift(normalized_email: str) -> int:
    """The owner confirmed a new consent: the address may be imported again."""
    deleted, _ = SuppressedAddress.objects.filter(
        digest__in=_all_digests(normalized_email)).delete()
    return deleted
