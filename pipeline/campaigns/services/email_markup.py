"""Markup helpers shared by the campaign emails: absolute links, and rich text as plain text."""

import html
import re

from django.conf import settings

_RELATIVE_ATTR = re.compile(r'(\s(?:href|src)=")(/(?!/)[^"]*)"')


def absolutize(markup: str) -> str:
    """Turn root-relative href/src values (Wagtail rich text links, images) into absolute URLs."""
    return _RELATIVE_ATTR.sub(lambda m: f'{m.group(1)}{settings.BASE_URL}{m.group(2)}"', markup)


def absolute_url(url: str) -> str:
    if url.startswith("/") and not url.startswith("//"):
        return settings.BASE_URL + url
    return url


def rich_text_to_plain(markup: str) -> str:
    """Readable text for the plain-text part: links as "words (url)", paragraphs on their own."""
    markup = re.sub(
        r'<a\s[^>]*href="([^"]*)"[^>]*>(.*?)</a>',
        lambda m: m.group(2) if m.group(1) in m.group(2) else f"{m.group(2)} ({m.group(1)})",
        markup,
        flags=re.S,
    )
    markup = re.sub(r"<br\s*/?>", "\n", markup)
    markup = re.sub(r"</(p|h\d|li)>", "\n\n", markup)
    text = html.unescape(re.sub(r"<[^>]+>", "", markup))
    return re.sub(r"\n{3,}", "\n\n", text).strip()
