"""One campaign email as bytes, built once per send; each recipient costs a few joins.

Building an ``EmailMultiAlternatives`` per recipient spends about 7 ms in the ``email``
package (header encoding, body encoding, flattening) for an email whose bytes differ between
recipients in four places only: the ``To`` header, the ``Message-ID``, the ``List-Unsubscribe``
header and the personal links (unsubscribe, preferences, stop this series) in both bodies.
``CampaignEmail`` lets Django's MIME classes build the message once with markers in those
places, splits the bytes at the markers, and joins them per recipient. The bodies are encoded
the way Django would, 8bit when every line stays within RFC 5322's 998 characters, else
quoted-printable (``binascii``, in C); the fixed pieces around the links are encoded once, and
only the links are encoded per recipient.

When a campaign counts clicks its links carry the reader's token (``READER_TAG``), one more
per-reader place in both bodies; with a DKIM key set, each reader's bytes are signed last
(pipeline/providers/dkim_signing.py), the signer made once per email.

``PreparedEmail`` carries those bytes through any Django email backend (file, console, locmem,
SMTP) and still looks like the ``EmailMultiAlternatives`` it stands for (``to``, ``subject``,
``body``, ``alternatives``, ``extra_headers``), so tests and the file backend see what was sent.
"""

import binascii
import dataclasses
import html
import re
from email.mime.nonmultipart import MIMENonMultipart
from email.utils import formatdate, parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import (
    RFC5322_EMAIL_LINE_LENGTH_LIMIT,
    SafeMIMEMultipart,
    sanitize_address,
)

from pipeline.providers.dkim_signing import DkimSigner, load_private_key
from pipeline.providers.message import READER_TAG, RenderedEmail, personalize

# Markers that survive the email package untouched: ASCII letters only, no folding points.
_TO = "PARTWORKMARKTO"
_MESSAGE_ID = "PARTWORKMARKMESSAGEID"
_LIST_UNSUBSCRIBE = "PARTWORKMARKLISTUNSUBSCRIBE"
_TEXT_BODY = "PARTWORKMARKTEXTBODY"
_HTML_BODY = "PARTWORKMARKHTMLBODY"
_LINK = "PARTWORKMARKUNSUBSCRIBELINK"
_PREFERENCES_LINK = "PARTWORKMARKPREFERENCESLINK"
_STOP_SERIES_LINK = "PARTWORKMARKSTOPSERIESLINK"
_READER = "PARTWORKMARKREADERTOKEN"
# The per-reader places inside the bodies: the personal links (escaped for their body) and the
# reader's token in tracked links (URL-safe already, put in as it is).
_PER_READER = re.compile(f"({_LINK}|{_PREFERENCES_LINK}|{_STOP_SERIES_LINK}|{_READER})")
_MARKERS = re.compile(f"({_TO}|{_MESSAGE_ID}|{_LIST_UNSUBSCRIBE}|{_TEXT_BODY}|{_HTML_BODY})")
# An address we can put in a header and an envelope as it is (what normalize_email stores).
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+")
# Room for the longest personal link and reader token we make, when deciding whether a body
# fits in 8bit.
_LINK_ROOM = 400
_READER_ROOM = 100


def _room(marker: str) -> int:
    """How many octets a per-reader value may add to its line beyond its marker."""
    return (_READER_ROOM if marker == _READER else _LINK_ROOM) - len(marker)
# binascii.b2a_qp leaves a line 1-2 octets over 76 when it ends in encoded white space (=20,
# =09) right before a line break; such a line gets a soft break before that last escape.
_OVERLONG_QP_LINE = re.compile(rb"^(.{74,75})(=20|=09)$", re.MULTILINE)


def envelope_address(address: str) -> str:
    """The bare address, ASCII, as it goes on the SMTP envelope and in the To header
    ("Partwork <news@example.com>" gives "news@example.com")."""
    if _PLAIN_ADDRESS.fullmatch(address):
        return address
    return parseaddr(sanitize_address(address, "utf-8"))[1]


def _quoted_printable(text: str, *, open_end: bool) -> bytes:
    """``text`` as quoted-printable with CRLF line ends; with ``open_end`` its last line is
    left short enough for a soft line break to follow (so encoded pieces can be joined)."""
    data = text.encode()
    if open_end:
        # Encode with one more character and drop it: the last line then has room for "=".
        encoded = binascii.b2a_qp(data + b"x", istext=True)[:-1]
    else:
        encoded = binascii.b2a_qp(data, istext=True)
    encoded = _OVERLONG_QP_LINE.sub(rb"\1=\n\2", encoded)
    return encoded.replace(b"\n", b"\r\n")


def sender_domain() -> str:
    """The domain of DEFAULT_FROM_EMAIL, for our Message-IDs."""
    return envelope_address(settings.DEFAULT_FROM_EMAIL).rsplit("@", 1)[-1]


def configured_signer() -> DkimSigner | None:
    """The DKIM signer of settings (DKIM_PRIVATE_KEY_FILE, DKIM_SELECTOR, DKIM_DOMAIN), or None
    when no key is set."""
    if not settings.DKIM_PRIVATE_KEY_FILE:
        return None
    return DkimSigner(key=load_private_key(settings.DKIM_PRIVATE_KEY_FILE),
                      selector=settings.DKIM_SELECTOR,
                      domain=settings.DKIM_DOMAIN or sender_domain())


def dkim_signed(email: EmailMultiAlternatives) -> EmailMultiAlternatives:
    """A one-off email (a confirmation, a welcome, a test send) DKIM-signed when a key is set,
    else ``email`` itself. Campaign emails are signed per reader in ``for_recipient``."""
    signer = configured_signer()
    if signer is None:
        return email
    return PreparedEmail(
        raw=signer.sign(email.message().as_bytes(linesep="\r\n")), envelope_to=email.to[0],
        subject=email.subject, body=email.body, from_email=email.from_email, to=email.to,
        headers=email.extra_headers, alternatives=email.alternatives, connection=email.connection,
    )


class _Body:
    """One body part: its text split at the per-reader places (the unsubscribe link, and the
    reader's token in tracked links), already encoded for the wire piece by piece, 8bit when
    every line stays within RFC 5322's limit, else quoted-printable."""

    def __init__(self, text: str, escape) -> None:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        parts = _PER_READER.split(text)
        self.pieces = parts[0::2]
        self.slots = parts[1::2]  # which value goes after each piece but the last
        self.escape = escape
        # Room for every per-reader value on a line: a line may hold several.
        longest = max((len(line.encode()) + sum(map(_room, _PER_READER.findall(line)))
                       for line in text.split("\n")), default=0)
        self.eight_bit = longest <= RFC5322_EMAIL_LINE_LENGTH_LIMIT
        self.encoding = "8bit" if self.eight_bit else "quoted-printable"
        last = len(self.pieces) - 1
        self.wire_pieces = [
            piece.replace("\n", "\r\n").encode() if self.eight_bit
            else _quoted_printable(piece, open_end=index < last)
            for index, piece in enumerate(self.pieces)
        ]

    def _values(self, values: dict[str, str]) -> list[str]:
        """Each slot's value: personal links escaped for this body, the token as it is."""
        return [values[slot] if slot == _READER else self.escape(values[slot])
                for slot in self.slots]

    def text(self, values: dict[str, str]) -> str:
        values = self._values(values)
        return "".join(piece + (values[index] if index < len(values) else "")
                       for index, piece in enumerate(self.pieces))

    def wire(self, values: dict[str, str]) -> bytes:
        values = self._values(values)
        if self.eight_bit:
            encoded = [value.encode() for value in values]
        else:
            # Soft line breaks around each encoded value: each piece starts and ends a line.
            encoded = [b"=\r\n" + _quoted_printable(value, open_end=True) + b"=\r\n"
                       for value in values]
        out = [self.wire_pieces[0]]
        for value, piece in zip(encoded, self.wire_pieces[1:], strict=True):
            out += (value, piece)
        return b"".join(out)


class PreparedEmail(EmailMultiAlternatives):
    """A campaign email for one recipient whose bytes are already made."""

    def __init__(self, *, raw: bytes, envelope_to: str, **fields) -> None:
        super().__init__(**fields)
        self.raw = raw
        self.envelope_to = envelope_to

    def message(self):
        return _RawMessage(self.raw)


class _RawMessage:
    """What Django's backends ask of ``EmailMessage.message()``, for bytes already made."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw

    def as_bytes(self, unixfrom=False, linesep="\n") -> bytes:
        return self.raw if linesep == "\r\n" else self.raw.replace(b"\r\n", linesep.encode())

    def as_string(self, unixfrom=False, linesep="\n") -> str:
        return self.as_bytes(linesep=linesep).decode("utf-8", "replace")

    def get_charset(self):
        return None


class CampaignEmail:
    """The campaign's message, made once; ``for_recipient`` fills in one reader."""

    def __init__(self, rendered: RenderedEmail, *, from_email: str | None = None) -> None:
        self.subject = rendered.subject
        self.from_email = from_email or settings.DEFAULT_FROM_EMAIL
        self.envelope_from = envelope_address(self.from_email)
        if READER_TAG in rendered.html or READER_TAG in rendered.text:
            rendered = dataclasses.replace(rendered,
                                           html=rendered.html.replace(READER_TAG, _READER),
                                           text=rendered.text.replace(READER_TAG, _READER))
        html_part, text_part = personalize(rendered, unsubscribe_url=_LINK,
                                           preferences_url=_PREFERENCES_LINK,
                                           stop_series_url=_STOP_SERIES_LINK)
        self.html = _Body(html_part, html.escape)
        self.text = _Body(text_part, str)
        self.headers = {"List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
        # Made once per prepared email (key loaded, tags laid out); each reader is signed.
        self.signer = configured_signer()
        if rendered.preheader:
            self.headers["X-Preheader"] = rendered.preheader[:200]
        # Even places hold the fixed bytes, odd places the name of what goes between them.
        self._segments = [
            piece if index % 2 else piece.encode()
            for index, piece in enumerate(_MARKERS.split(self._skeleton().decode("ascii")))
        ]

    def _skeleton(self) -> bytes:
        # Django's SafeMIMEMultipart refuses newlines in headers and encodes non-ASCII ones.
        root = SafeMIMEMultipart(_subtype="alternative", encoding="utf-8")
        root["Subject"] = self.subject
        root["From"] = self.from_email
        root["To"] = _TO
        root["Date"] = formatdate(localtime=settings.EMAIL_USE_LOCALTIME)
        root["Message-ID"] = _MESSAGE_ID
        root["List-Unsubscribe"] = f"<{_LIST_UNSUBSCRIBE}>"
        for name, value in self.headers.items():
            root[name] = value
        for subtype, marker, body in (("plain", _TEXT_BODY, self.text),
                                      ("html", _HTML_BODY, self.html)):
            part = MIMENonMultipart("text", subtype, charset="utf-8")
            part["Content-Transfer-Encoding"] = body.encoding
            part.set_payload(marker)
            root.attach(part)
        return root.as_bytes(linesep="\r\n")

    def for_recipient(self, *, email: str, message_id: str, unsubscribe_url: str,
                      preferences_url: str = "", stop_series_url: str = "",
                      reader_token: str = "") -> PreparedEmail:
        """This reader's copy; a personal link not given falls back as ``personalize`` does.
        ``reader_token`` fills the reader's places in tracked links (URL-safe already)."""
        to = envelope_address(email)
        preferences_url = preferences_url or unsubscribe_url
        values = {_LINK: unsubscribe_url, _PREFERENCES_LINK: preferences_url,
                  _STOP_SERIES_LINK: stop_series_url or preferences_url, _READER: reader_token}
        text = self.text.text(values)
        html_text = self.html.text(values)
        values = {
            _TO: to.encode(),
            _MESSAGE_ID: message_id.encode(),
            _LIST_UNSUBSCRIBE: unsubscribe_url.encode(),
            _TEXT_BODY: self.text.wire(values),
            _HTML_BODY: self.html.wire(values),
        }
        raw = b"".join(
            values[segment] if isinstance(segment, str) else segment for segment in self._segments
        )
        if self.signer is not None:
            raw = self.signer.sign(raw)
        prepared = PreparedEmail(
            raw=raw, envelope_to=to, subject=self.subject, body=text,
            from_email=self.from_email, to=[email],
            headers={"Message-ID": message_id, "List-Unsubscribe": f"<{unsubscribe_url}>",
                     **self.headers},
        )
        prepared.attach_alternative(html_text, "text/html")
        return prepared
