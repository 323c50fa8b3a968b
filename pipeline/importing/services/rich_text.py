"""Rich text for the body's blocks, cleaned by Wagtail's own whitelister to the features the
receiving block allows: paragraphs (bold, italic, links, lists), quotes (the same) and table
cells (bold, italic, links). Whatever the whitelist does not know (scripts, styles, event
handlers, iframes, javascript: links) never reaches a block."""

import html
from functools import cache

import lxml.html
from wagtail.admin.rich_text.converters.editor_html import EditorHTMLConverter

from cms.text_blocks import CELL_FEATURES, QUOTE_FEATURES

PARAGRAPH_FEATURES = ("bold", "italic", "link", "ol", "ul", "blockquote")
QUOTE = tuple(QUOTE_FEATURES)
CELL = tuple(CELL_FEATURES)


@cache
def _converter(features: tuple[str, ...]) -> EditorHTMLConverter:
    return EditorHTMLConverter(features=list(features))


def clean_rich_text(fragment: str, features: tuple[str, ...] = PARAGRAPH_FEATURES) -> str:
    return _converter(features).to_database_format(fragment).strip()


def paragraph_html(fragment: str, features: tuple[str, ...] = PARAGRAPH_FEATURES) -> str:
    """A paragraph's inline HTML, whitelisted and wrapped in <p>."""
    cleaned = clean_rich_text(f"<p>{fragment}</p>", features)
    return cleaned if cleaned.startswith("<p>") else f"<p>{cleaned}</p>"


def text_paragraph(text: str) -> str:
    return "<p>" + html.escape(text, quote=False).replace("\n", "<br/>") + "</p>"


def plain_text(fragment: str) -> str:
    """The words of an HTML fragment, white space collapsed."""
    if not fragment.strip():
        return ""
    element = lxml.html.fragment_fromstring(fragment, create_parent="div")
    return " ".join(element.text_content().split())
