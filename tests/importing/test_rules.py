"""The small rules, one by one: chrome, citations, offers, titles, decoding, WordPress markup."""

import pytest

from pipeline.importing.services.chrome import chrome_reason
from pipeline.importing.services.enrichment import _citation
from pipeline.importing.services.errors import ImportFileError
from pipeline.importing.services.offers import offer_suggestion_from_text
from pipeline.importing.services.reading import decode_bytes
from pipeline.importing.services.titles import TITLE_MAX, slug_fit, title_fit
from pipeline.importing.services.wordpress_markup import expand_wordpress_markup


@pytest.mark.parametrize("line, reason", [
    ("account My cart 0", "shop header (account / cart)"),
    ("• This field is for validation purposes and should be left unchanged.",
     "form anti-spam field text (Gravity Forms honeypot)"),
    ("Leave a Reply", "post metadata"),
    ("© 2024 Example Ltd", "site footer"),
    ("Share on Facebook", "share buttons"),
])
def test_chrome_lines_are_dropped_with_a_reason(line, reason):
    assert chrome_reason(line) == reason


@pytest.mark.parametrize("line", [
    "low back pain", "hip mobility", "healthy knees",
    "Why Hip Mobility Is Essential For Better Low Back Pain",
    "My cart was empty when I finally understood how much the programme had changed my back "
    "and my life, and I want to tell you how that happened over the course of a whole year.",
])
def test_content_is_never_taken_for_chrome(line):
    assert chrome_reason(line) is None


def test_quoted_and_reported_citations():
    assert _citation("A 2015 study, for example, found, “Hip work helps.” Then more.") == (
        2015, "Hip work helps.", "Then more.")
    assert _citation("A 2012 study found that core work improved hips, which is odd.") == (
        2012, "Core work improved hips.", "Which is odd.")
    assert _citation("A randomized 2019 trial found nothing") is None
    assert _citation("Studies found that people like stretching.") is None


def test_discount_lines_suggest_an_offer_with_a_window():
    offer = offer_suggestion_from_text("35% off this week with code “corrective” HERE")
    assert (offer.code, offer.percent_off, offer.window_days) == ("corrective", 35, 7)
    today = offer_suggestion_from_text("Save 20 % off today using the promo code: SPRING-20")
    assert (today.code, today.percent_off, today.window_days) == ("SPRING-20", 20, 1)
    assert offer_suggestion_from_text("35% of people have back pain") is None
    assert offer_suggestion_from_text("250% off with code nope") is None


def test_titles_fit_wagtail_and_slugs_stay_unique():
    long_title = "Word " * 80
    fitted = title_fit(long_title)
    assert len(fitted) <= TITLE_MAX and fitted.endswith("…") and " Wor…" not in fitted
    assert len(title_fit("x" * 400)) == TITLE_MAX
    assert slug_fit("hello", title="Hello", taken={"hello", "hello-2"}) == "hello-3"
    assert slug_fit("", title="", taken=set()) == "part"


def test_decoding_bom_utf8_and_windows_1252():
    assert decode_bytes("é".encode("utf-16"))[:2] == ("é", "utf-16")
    assert decode_bytes(b"\xef\xbb\xbfhi")[:2] == ("hi", "utf-8-sig")
    text, encoding, notes = decode_bytes("“Café”".encode("cp1252"))
    assert (text, encoding) == ("“Café”", "cp1252") and notes
    with pytest.raises(ImportFileError, match="binary"):
        decode_bytes(b"abc\x00def")


def test_wordpress_markup_keeps_shortcodes_and_dynamic_blocks_visible():
    content = (
        '<!-- wp:paragraph --><p>Hello</p><!-- /wp:paragraph -->'
        '<!-- wp:latest-posts {"postsToShow":3} /-->'
        '[gallery ids="1,2"]'
        '[caption id="attachment_9" width="300"]<img src="a.jpg" alt="A"> The caption[/caption]'
    )
    expanded, notes = expand_wordpress_markup(content)
    assert "<!--" not in expanded
    assert "[WordPress block: latest posts]" in expanded
    assert '[gallery ids="1,2"]' in expanded
    assert '<figure class="wp-caption"><img src="a.jpg" alt="A"><figcaption>The caption' in expanded
    assert notes == ["dynamic WordPress block kept as a visible marker: latest-posts"]
