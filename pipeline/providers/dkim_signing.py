"""DKIM signatures (RFC 6376, rsa-sha256, relaxed/simple) for local campaign email.

A campaign email's body differs per reader (the unsubscribe link, and tracked links when a
campaign counts clicks), so its body hash and signature are per reader: nothing of DKIM can be
signed once for every reader, since ``b=`` covers ``bh=``. What is common is made once, when the
campaign's email is prepared: the key is loaded, the signed header names chosen, the tag list
laid out. Per reader the work is one SHA-256 of the body, one of the signed headers, and one RSA
signature. dkimpy does the canonicalization and the header hashing (``hash_headers``, the same
code its ``verify`` runs); the RSA signature is OpenSSL's through ``cryptography``, since
dkimpy's own RSA is pure Python and takes ~10 ms a message where OpenSSL takes ~0.4 ms
(bench/local_delivery.py prints the per-message cost with signing on and off).
"""

import base64
import hashlib
import os
import re
import time
from functools import cache

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from dkim import fold, hash_headers
from dkim.canonicalization import CanonicalizationPolicy

# Signed when present. From is listed twice (over-signed): nobody can add a second From later.
SIGNED_HEADERS = (
    b"from", b"from", b"to", b"subject", b"date", b"message-id", b"mime-version",
    b"content-type", b"list-unsubscribe", b"list-unsubscribe-post",
)
_HEADER = re.compile(rb"^([^\s:]+):(.*?)\r\n(?![ \t])", re.MULTILINE | re.DOTALL)
_POLICY = CanonicalizationPolicy.from_c_value(b"relaxed/simple")


class DkimConfigurationError(ValueError):
    """The key cannot sign: not an RSA private key in PEM, or too short."""


@cache
def _load_key(path: str, modified: float) -> rsa.RSAPrivateKey:
    with open(path, "rb") as handle:
        data = handle.read()
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as error:
        raise DkimConfigurationError(f"DKIM_PRIVATE_KEY_FILE {path}: not an unencrypted PEM "
                                     f"private key ({error})") from None
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < 1024:
        raise DkimConfigurationError(f"DKIM_PRIVATE_KEY_FILE {path}: an RSA key of at least "
                                     "1024 bits is needed (2048 recommended)")
    return key


def load_private_key(path: str) -> rsa.RSAPrivateKey:
    """The key in the PEM file at ``path``, parsed once per version of the file."""
    return _load_key(path, os.stat(path).st_mtime)


def public_key_record(key: rsa.RSAPrivateKey) -> bytes:
    """The TXT record to publish at SELECTOR._domainkey.DOMAIN."""
    der = key.public_key().public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    return b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)


class DkimSigner:
    """Signs whole messages (CRLF line ends) with one key, selector and domain."""

    def __init__(self, *, key: rsa.RSAPrivateKey, selector: str, domain: str) -> None:
        self.key = key
        self.selector = selector.encode("ascii")
        self.domain = domain.encode("idna")
        self._padding = padding.PKCS1v15()
        self._prehashed = Prehashed(hashes.SHA256())

    def signature_header(self, raw: bytes) -> bytes:
        """The ``DKIM-Signature`` header line(s) for ``raw``, ending in CRLF."""
        head, separator, body = raw.partition(b"\r\n\r\n")
        headers = [(name, value) for name, value in _HEADER.findall(head + b"\r\n")]
        present = {name.lower() for name, _ in headers}
        include = [name for name in SIGNED_HEADERS if name in present]
        body_hash = base64.b64encode(
            hashlib.sha256(_POLICY.canonicalize_body(body if separator else b"")).digest())
        fields = [
            (b"v", b"1"), (b"a", b"rsa-sha256"), (b"c", b"relaxed/simple"),
            (b"d", self.domain), (b"s", self.selector),
            (b"t", str(int(time.time())).encode("ascii")),
            (b"h", b" : ".join(include)), (b"bh", body_hash), (b"b", b""),
        ]
        unsigned = fold(b"; ".join(b"=".join(field) for field in fields),
                        namelen=len(b"DKIM-Signature"), linesep=b"\r\n")
        hasher = hashlib.sha256()
        hash_headers(hasher, _POLICY, _POLICY.canonicalize_headers(headers), include,
                     (b"DKIM-Signature", b" " + unsigned), dict(fields))
        signature = self.key.sign(hasher.digest(), self._padding, self._prehashed)
        return b"DKIM-Signature: " + unsigned + base64.b64encode(signature) + b"\r\n"

    def sign(self, raw: bytes) -> bytes:
        return self.signature_header(raw) + raw
