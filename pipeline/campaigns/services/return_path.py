"""The envelope sender of each local delivery (VERP): ``bounces+<delivery id>.<signature>@domain``.

A bounce goes back to the envelope sender (RFC 5321 4.4: it becomes the Return-Path), so a
return path made for one Delivery row names that row in whatever format the bouncing server
uses: no guessing from the bounce's text which reader it was about. The id is in base 36 and
the signature is Django's salted HMAC-SHA256 (with ``SECRET_KEY_FALLBACKS`` accepted, like
every other signed value), cut to 13 base-32 characters (65 bits): a local part stays well
under RFC 5321's 64 characters, and both parts are lower case, so a server that folds the case
of the address does not break it. A bounce to a return path whose signature does not match is
not ours (or was forged) and names no delivery.

``BOUNCE_DOMAIN`` unset: no VERP, the envelope sender stays DEFAULT_FROM_EMAIL's address (a relay
that accepts only verified senders must be told about the bounce domain first; see the README).
"""

import base64
import re

from django.conf import settings
from django.core import signing
from django.utils.crypto import salted_hmac

_SALT = "partwork.campaigns.return_path"
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


class _ShortSigner(signing.Signer):
    """Django's Signer (keys, fallbacks, constant-time compare) with a short lower-case signature
    that fits an email address's local part."""

    def signature(self, value, key=None):
        digest = salted_hmac(self.salt + "signer", value, key or self.key,
                             algorithm=self.algorithm).digest()
        return base64.b32encode(digest[:9]).decode("ascii").lower()[:13]


def _signer() -> _ShortSigner:
    return _ShortSigner(sep=".", salt=_SALT, algorithm="sha256")


def _base36(number: int) -> str:
    digits = ""
    while True:
        number, rest = divmod(number, 36)
        digits = _BASE36[rest] + digits
        if not number:
            return digits


def verp_enabled() -> bool:
    return bool(settings.BOUNCE_DOMAIN)


def return_path(delivery_id: int) -> str:
    """The envelope sender for this delivery (VERP must be enabled: ``BOUNCE_DOMAIN``)."""
    token = _signer().sign(_base36(delivery_id))
    return f"{settings.BOUNCE_MAILBOX}+{token}@{settings.BOUNCE_DOMAIN}"


_VERP = re.compile(r"^(?P<mailbox>[^+@\s<>]+)\+(?P<token>[0-9a-z]+\.[a-z2-7]{13})"
                   r"@(?P<domain>[^@\s<>]+)$")


def delivery_id_from_return_path(address: str) -> int | None:
    """The delivery a return path was made for, or None when it is not one of ours (another
    mailbox or domain, or a signature that does not match)."""
    match = _VERP.match((address or "").strip().strip("<>").lower())
    if not match or not settings.BOUNCE_DOMAIN:
        return None
    if (match["mailbox"] != settings.BOUNCE_MAILBOX.lower()
            or match["domain"] != settings.BOUNCE_DOMAIN.lower()):
        return None
    try:
        value = _signer().unsign(match["token"])
    except signing.BadSignature:
        return None
    return int(value, 36)


def find_return_paths(text: str) -> list[str]:
    """Every return path of ours appearing in ``text`` (bounce bodies quote the address the
    bounce went to in many ways), in order, without repeats."""
    if not settings.BOUNCE_DOMAIN:
        return []
    pattern = re.compile(
        re.escape(settings.BOUNCE_MAILBOX.lower()) + r"\+[0-9a-z]+\.[a-z2-7]{13}@"
        + re.escape(settings.BOUNCE_DOMAIN.lower()), re.IGNORECASE)
    return list(dict.fromkeys(found.lower() for found in pattern.findall(text or "")))
