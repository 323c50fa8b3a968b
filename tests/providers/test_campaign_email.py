"""CampaignEmail's bytes read back the way a mail client reads them (``email`` with
``policy.default``): the headers and the personalised bodies are exactly what was meant, every
line keeps RFC 5322's 998-octet limit (quoted-printable ones RFC 2045's 76), both transfer
encodings are exercised, and Django's own EmailMultiAlternatives, built from the same fields,
decodes to the same message."""

import email
import html
from email import policy
from email.message import EmailMessage

import pytest
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from pipeline.campaigns.services.campaigns import campaign_create_discount
from pipeline.campaigns.services.rendering import campaign_render
from pipeline.providers.campaign_email import CampaignEmail, PreparedEmail
from pipeline.providers.message import (
    ADDRESS_TAG,
    PREFERENCES_TAG,
    STOP_SERIES_TAG,
    UNSUB_TAG,
    RenderedEmail,
)
from tests.support.factories import make_offer, make_series

LINK = "https://partwork.example/api/subscribers/unsubscribe/eJyrVipWsjLUUUpUslIKDXIMDUkt8g8/"
FROM = "Partwork Café <news@partwork.example>"
SUBJECT = "Café week: 35% off — code «corrective»"
HEADERS = ("Subject", "From", "To", "Message-ID", "List-Unsubscribe", "List-Unsubscribe-Post",
           "X-Preheader", "MIME-Version")


def _rendered(*, text: str, html_part: str, subject: str = SUBJECT) -> RenderedEmail:
    return RenderedEmail(subject=subject, preheader="The code works until Sunday.",
                         html=html_part, text=text)


def _prepared(rendered: RenderedEmail, *, link: str = LINK, to: str = "ann@example.com",
              message_id: str = "<1@partwork.example>") -> PreparedEmail:
    return CampaignEmail(rendered, from_email=FROM).for_recipient(
        email=to, message_id=message_id, unsubscribe_url=link)


def _parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=policy.default)


def _header(message: EmailMessage, name: str) -> str:
    """A header's value as a client shows it. Python's parser keeps the space of a fold right
    after the colon (the email package folds long values that way, Django's too)."""
    return str(message[name]).strip()


def _normalized(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _bodies(message: EmailMessage) -> tuple[str, str]:
    """(text, html) as a mail client shows them; line ends as in Python text."""
    text = message.get_body(("plain",)).get_content()
    html_body = message.get_body(("html",)).get_content()
    assert "\r" not in text.replace("\r\n", "") and "\r" not in html_body.replace("\r\n", "")
    return text.replace("\r\n", "\n"), html_body.replace("\r\n", "\n")


def _encodings(message: EmailMessage) -> dict[str, str]:
    return {part.get_content_type(): part["Content-Transfer-Encoding"]
            for part in message.iter_parts()}


def assert_wire_limits(raw: bytes) -> None:
    """CRLF line ends only; every line within 998 octets; quoted-printable ones within 76."""
    assert raw.count(b"\n") == raw.count(b"\r\n") == raw.count(b"\r")
    lines = raw.split(b"\r\n")
    assert max(len(line) for line in lines) <= 998
    for part in _parse(raw).iter_parts():
        if part["Content-Transfer-Encoding"] == "quoted-printable":
            encoded = part.get_payload(decode=False).split("\r\n")
            assert max(len(line) for line in encoded) <= 76, max(encoded, key=len)


def _expected(template: str, link: str, escape) -> str:
    # The personal links not given fall back to the unsubscribe link (personalize's rule).
    filled = template.replace(UNSUB_TAG, escape(link)).replace(
        PREFERENCES_TAG, escape(link)).replace(STOP_SERIES_TAG, escape(link))
    return _normalized(filled.replace(ADDRESS_TAG, escape(settings.POSTAL_ADDRESS)))


def _as_django_would(rendered: RenderedEmail, *, link: str, to: str, message_id: str
                     ) -> EmailMultiAlternatives:
    """The same email made the ordinary way, one EmailMultiAlternatives per reader."""
    made = EmailMultiAlternatives(
        subject=rendered.subject, body=_expected(rendered.text, link, str), from_email=FROM,
        to=[to], headers={"Message-ID": message_id, "List-Unsubscribe": f"<{link}>",
                          "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                          "X-Preheader": rendered.preheader})
    made.attach_alternative(_expected(rendered.html, link, html.escape), "text/html")
    return made


def assert_reads_back(prepared: PreparedEmail, rendered: RenderedEmail, *, link: str,
                      to: str = "ann@example.com", message_id: str = "<1@partwork.example>"
                      ) -> None:
    """The bytes say what the rendered email meant, and what Django would have said."""
    raw = prepared.raw
    assert_wire_limits(raw)
    ours = _parse(raw)
    text, html_body = _bodies(ours)
    assert text == _expected(rendered.text, link, str)
    assert html_body == _expected(rendered.html, link, html.escape)
    django_made = _as_django_would(rendered, link=link, to=to, message_id=message_id)
    # What the object says it is (tests and the file backend look at these) matches too.
    assert (prepared.subject, prepared.from_email, prepared.to, prepared.extra_headers) == (
        django_made.subject, django_made.from_email, django_made.to, django_made.extra_headers)
    assert _normalized(prepared.body) == text
    assert [(_normalized(content), kind) for content, kind in prepared.alternatives] == [
        (html_body, "text/html")]
    # Django's bytes for the same email: same headers, same parts, same decoded bodies.
    django = _parse(django_made.message().as_bytes(linesep="\r\n"))
    assert {name.lower() for name in ours} == {name.lower() for name in django}
    for name in HEADERS:
        assert _header(ours, name) == _header(django, name), name
    assert ours.get_content_type() == django.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in ours.iter_parts()] == [
        part.get_content_type() for part in django.iter_parts()] == ["text/plain", "text/html"]
    assert _bodies(django) == (text, html_body)


def test_headers_read_back_exactly():
    rendered = _rendered(text="Hello.\nUnsubscribe: *|UNSUB|*\n",
                         html_part='<p>Hello.</p>\n<a href="*|UNSUB|*">Unsubscribe</a>\n')
    prepared = _prepared(rendered, to="reader7@example.com", message_id="<m7@partwork.example>")
    message = _parse(prepared.raw)
    assert _header(message, "To") == "reader7@example.com"
    assert _header(message, "Message-ID") == "<m7@partwork.example>"
    assert _header(message, "List-Unsubscribe") == f"<{LINK}>"
    assert _header(message, "List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"
    assert _header(message, "Subject") == SUBJECT
    assert message["From"].addresses[0].display_name == "Partwork Café"
    assert message["From"].addresses[0].addr_spec == "news@partwork.example"
    assert _header(message, "X-Preheader") == "The code works until Sunday."
    assert message["Date"].datetime is not None
    assert_reads_back(prepared, rendered, link=LINK, to="reader7@example.com",
                      message_id="<m7@partwork.example>")


def test_an_international_domain_goes_out_as_punycode():
    rendered = _rendered(text="Hi *|UNSUB|*\n", html_part="<p>Hi</p>\n")
    prepared = _prepared(rendered, to="jo@bücher.example")
    assert prepared.envelope_to == "jo@xn--bcher-kva.example"
    assert _header(_parse(prepared.raw), "To") == "jo@xn--bcher-kva.example"
    assert_reads_back(prepared, rendered, link=LINK, to="jo@bücher.example")


def test_recipients_differ_only_where_they_should():
    rendered = _rendered(text="Hi.\n*|UNSUB|*\n", html_part='<a href="*|UNSUB|*">x</a>\n')
    made = CampaignEmail(rendered, from_email=FROM)
    first = made.for_recipient(email="a@example.com", message_id="<a@x>",
                               unsubscribe_url=LINK + "a")
    second = made.for_recipient(email="b@example.com", message_id="<b@x>",
                                unsubscribe_url=LINK + "b")
    assert first.to == ["a@example.com"] and second.to == ["b@example.com"]
    assert first.envelope_to == "a@example.com"
    assert _bodies(_parse(first.raw))[0] == f"Hi.\n{LINK}a\n"
    assert _bodies(_parse(second.raw))[0] == f"Hi.\n{LINK}b\n"
    # Same boundary and date: the skeleton is made once.
    assert _parse(first.raw)["Date"] == _parse(second.raw)["Date"]
    assert _parse(first.raw).get_boundary() == _parse(second.raw).get_boundary()


def test_short_lines_go_as_8bit():
    rendered = _rendered(text="Ça va?\n.starts with a dot\n=3D stays\nLeave: *|UNSUB|*",
                         html_part='<p>Ça va?</p>\n<a href="*|UNSUB|*">Leave</a> *|LIST:ADDRESS|*')
    prepared = _prepared(rendered)
    assert _encodings(_parse(prepared.raw)) == {"text/plain": "8bit", "text/html": "8bit"}
    assert_reads_back(prepared, rendered, link=LINK)


def test_a_long_line_goes_as_quoted_printable_link_and_all():
    long_line = "<td>" + "é spaces and = signs " * 300 + "</td>"
    rendered = _rendered(text="Short text.\n*|UNSUB|*\n",
                         html_part=f'{long_line}<a href="*|UNSUB|*">Leave</a>{long_line}\n')
    link = LINK + "?a=1&b=2"
    prepared = _prepared(rendered, link=link)
    assert _encodings(_parse(prepared.raw)) == {"text/plain": "8bit",
                                                "text/html": "quoted-printable"}
    assert_reads_back(prepared, rendered, link=link)


def test_quoted_printable_lines_ending_in_white_space_stay_within_76():
    """binascii's encoder lets a line ending in an encoded space or tab run to 77-78 octets."""
    ends = "".join(f"{'w' * width}{blank}\n" for width in (73, 74, 75) for blank in " \t")
    rendered = _rendered(text="*|UNSUB|*\n", html_part=ends + "x" * 1000 + "\n*|UNSUB|*" + ends)
    prepared = _prepared(rendered)
    assert _encodings(_parse(prepared.raw))["text/html"] == "quoted-printable"
    assert_reads_back(prepared, rendered, link=LINK)


def test_a_line_with_the_link_several_times_keeps_within_998_octets():
    """Room is kept for every link on a line, not for one: an editor's paragraph may hold the
    tag more than once, and a line over 998 octets is split or refused by relays."""
    anchors = '<a href="*|UNSUB|*">*|UNSUB|*</a> ' * 2
    paragraph = "<p>" + "Read more, or leave. " * 21 + anchors + "</p>"
    rendered = _rendered(text="Leave: *|UNSUB|*\n", html_part=paragraph + "\n")
    link = "https://partwork.example/api/subscribers/unsubscribe/" + "t" * 100  # as long as ours
    prepared = _prepared(rendered, link=link)
    assert_reads_back(prepared, rendered, link=link)


@pytest.mark.django_db
def test_a_rendered_discount_campaign_reads_back(settings):
    """The real templates: the inlined HTML has a line of several thousand characters."""
    make_series(title="Moving Well", slug="moving-well", time_zone="Europe/London")
    offer = make_offer(code="corrective", percent_off=35)
    campaign = campaign_create_discount(
        offer=offer, name="Corrective week", send_at=None, subject="Corrective week — 35% off",
        message="<p>.A line that starts with a dot.</p><p>.</p><p>Straße, naïve, 東京</p>")
    rendered = campaign_render(campaign=campaign)
    assert max(len(line) for line in rendered.html.splitlines()) > 6000
    prepared = _prepared(rendered)
    message = _parse(prepared.raw)
    assert _encodings(message) == {"text/plain": "8bit", "text/html": "quoted-printable"}
    assert _header(message, "Subject") == "Corrective week — 35% off"
    assert_reads_back(prepared, rendered, link=LINK)
    text, html_body = _bodies(message)
    assert f'href="{LINK}"' in html_body and "*|" not in html_body + text
    assert ".A line that starts with a dot." in text.splitlines()


# -- the property: any body, any link, anywhere ----------------------------------------------------
# Text pieces the encoders treat specially, and any Unicode (no surrogates, no NUL, no "|" so the
# only merge tags are the ones placed here).
_CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00|")
_TRICKY = st.sampled_from([" ", "  ", "\t", "\n", "\r\n", "\r", "=", "==", "=\n", ".", "\n.",
                           "\n..", "\n.\n", " \n", "\t\n", "=20", "=3D", "From ", "é", "€",
                           "\u2028", "\x0c", "--", ">"])
_LONG = st.integers(min_value=100, max_value=1200).map(lambda n: "wörd " * (n // 5) + "x" * (n % 5))
_PIECE = st.one_of(st.text(_CHARS, max_size=40), _TRICKY, _LONG, st.just(UNSUB_TAG),
                   st.just(ADDRESS_TAG), st.just(PREFERENCES_TAG), st.just(STOP_SERIES_TAG))
_BODY = st.lists(_PIECE, max_size=14).map("".join)
# Links as we make them (URL characters), up to the room kept for one (400 octets, escaped).
_URL_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~:/?#[]@!$&'()*+,;=%"
_LINK_STRATEGY = st.text(st.sampled_from(_URL_CHARS), min_size=1, max_size=340).map(
    lambda tail: "https://partwork.example/u/" + tail
).filter(lambda link: len(html.escape(link)) <= 400)


# Subjects as an editor types them (Python's header parser splits at control characters).
_SUBJECT = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1,
                   max_size=120)


# A text part is never empty (Django would leave an empty one out; ours always has a footer).
@given(text=_BODY.filter(bool), html_part=_BODY, link=_LINK_STRATEGY, subject=_SUBJECT)
@example(text="*|UNSUB|*", html_part="*|UNSUB|*", link="https://x/", subject="s")
@example(text=" *|UNSUB|* \n.*|UNSUB|*.\n", html_part="=*|UNSUB|*=", link="https://x/=&",
         subject="s")
@example(text="*|UNSUB|*" * 3, html_part="a" * 590 + "*|UNSUB|*" * 4,
         link="https://x/" + "a" * 390, subject="s")  # several long links on one line
@hsettings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_body_and_link_decode_to_the_personalised_text(text, html_part, link, subject):
    subject = subject.strip() or "s"
    rendered = _rendered(text=text, html_part=html_part, subject=subject)
    prepared = _prepared(rendered, link=link)
    assert _header(_parse(prepared.raw), "Subject") == subject
    assert_reads_back(prepared, rendered, link=link)
