"""Rich text for paragraph blocks, cleaned by Wagtail's own whitelister to the features the
paragraph block allows (bold, italic, link, lists). Blockquotes are wrapped here because the
whitelister only knows inline formatting and lists."""

import html
from functools import cache

from wagtail.admin.rich_text.converters.editor_html import EditorHTMLConverter

PARAGRAPH_FEATURES = ["bold", "italic", "link", "ol", "ul", "blockquote"]


@cache
def _converter() -> EditorHTMLConverter:
    return EditorHTMLConverter(features=PARAGRAPH_FEATURES)


def clean_rich_text(fragment: str) -> str:
    return _converter().to_database_format(fragment).strip()


def paragraph_html(fragment: str) -> str:
    """A paragraph's inline HTML, whitelisted and wrapped in <p>."""
    cleaned = clean_rich_text(f"<p>{fragment}</p>")
    return cleaned if cleaned.startswith("<p>") else f"<p>{cleaned}</p>"


def text_paragraph(text: str) -> str:
    return "<p>" + html.escape(text, quote=False).replace("\n", "<br/>") + "</p>"


def blockquote_html(inner_fragments: list[str]) -> str:
    parts = [clean_rich_text(f"<p>{fragment}</p>") for fragment in inner_fragments]
    inner = "<br/>".join(_strip_p(part) for part in parts if part)
    return f"<blockquote>{inner}</blockquote>"


def _strip_p(cleaned: str) -> str:
    if cleaned.startswith("<p>") and cleaned.endswith("</p>"):
        return cleaned[3:-4]
    return cleaned
