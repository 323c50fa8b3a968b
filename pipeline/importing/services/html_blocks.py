"""Map an HTML fragment (a WordPress post body, or trafilatura's extract of a page) onto body
blocks: headings, paragraphs and lists (whitelisted rich text), images with captions, quotes
and pull quotes, tables, code and verse (html_structures.py), and video candidates from
embeds, iframes and <video>. Loose text follows WordPress's own rule: a blank line starts a new
paragraph and a single newline is a line break. Nothing with text is dropped silently: unknown
elements keep their text in a paragraph."""

import html
import re
from urllib.parse import urljoin, urlparse

import lxml.html
from lxml import etree

from cms.blocks import is_web_url
from pipeline.importing.services.drafts import DraftBlock
from pipeline.importing.services.html_structures import (
    code_block,
    is_verse,
    table_block,
    verse_block,
)
from pipeline.importing.services.rich_text import (
    QUOTE,
    clean_rich_text,
    paragraph_html,
    text_paragraph,
)
from pipeline.importing.services.videos import VIDEO_HOSTS, video_url

HEADING_MAX = 200
INLINE_TAGS = {
    "a", "abbr", "b", "bdi", "bdo", "big", "br", "cite", "code", "data", "del", "dfn", "em",
    "font", "i", "ins", "kbd", "mark", "q", "s", "samp", "small", "span", "strike", "strong",
    "sub", "sup", "time", "tt", "u", "var", "wbr", "label", "acronym",
}
DROPPED_TAGS = {"script", "style", "noscript", "template", "form", "button", "input", "select",
                "textarea", "svg", "canvas", "map", "head", "meta", "link", "title"}
MEDIA_TAGS = {"iframe", "embed", "video", "audio", "object", "source"}
_BLANK_LINE = re.compile(r"\n[ \t\r\f\v]*\n")
_BARE_URL = re.compile(r"^\s*(https?://\S+)\s*$")
_GENERIC_TITLE = re.compile(r"player|^(youtube|vimeo|video|embed(ded)?( content)?)$", re.I)


def html_to_blocks(fragment: str, *, base_url: str = "") -> tuple[list[DraftBlock], list[str]]:
    """Return the blocks and notes (what was dropped and why)."""
    mapper = _Mapper(base_url=base_url)
    if not fragment.strip():
        return [], []
    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (etree.ParserError, ValueError):
        return [], ["the HTML could not be parsed at all"]
    mapper.walk_children(root)
    mapper.flush_run()
    return mapper.blocks, mapper.notes


class _Mapper:
    def __init__(self, *, base_url: str):
        self.base_url = base_url
        self.blocks: list[DraftBlock] = []
        self.notes: list[str] = []
        self.run: list[str] = []  # serialized inline HTML waiting to become paragraphs

    # -- walking -----------------------------------------------------------------------------

    def walk_children(self, element) -> None:
        if element.text:
            self.run.append(html.escape(element.text, quote=False))
        for child in element:
            self.visit(child)
            if child.tail:
                self.run.append(html.escape(child.tail, quote=False))

    def visit(self, element) -> None:
        tag = element.tag if isinstance(element.tag, str) else None
        if tag is None:  # comments and processing instructions
            return
        tag = tag.lower()
        if tag in DROPPED_TAGS:
            text = _text(element)
            if text and tag not in {"style", "script", "head", "meta", "link"}:
                self.notes.append(f"dropped <{tag}> (not article content): {text[:80]}")
            return
        if tag in INLINE_TAGS and not _contains_block(element):
            if tag == "a" and element.get("href"):
                element.set("href", self._absolute(element.get("href")))
            self.run.append(_serialize(element, with_tail=False))
            return
        if tag == "img":
            self.flush_run()
            self.add_image(element, caption="")
            return
        self.flush_run()
        handler = getattr(self, f"visit_{tag}", None)
        if tag in {"h1", "h2", "h3", "h4", "h5", "h6"}:
            self.add_heading(element, level="h2" if tag in {"h1", "h2"} else "h3")
        elif handler:
            handler(element)
        elif tag in MEDIA_TAGS:
            self.add_media(element)
        else:
            # Containers (div, section, Gutenberg wrappers, unknown tags): keep their content.
            self.walk_children(element)
            self.flush_run()

    def flush_run(self) -> None:
        if not self.run:
            return
        joined = "".join(self.run)
        self.run = []
        for piece in _BLANK_LINE.split(joined):
            piece = piece.strip()
            if not piece:
                continue
            bare_url = _BARE_URL.match(lxml.html.fromstring(f"<div>{piece}</div>").text_content())
            if bare_url and "<" not in piece.replace("<a ", "").replace("</a>", ""):
                self.add_url(bare_url.group(1))
                continue
            self.add_paragraph(piece.replace("\n", "<br/>"))

    # -- element handlers --------------------------------------------------------------------

    def visit_p(self, element) -> None:
        images = element.findall(".//img")
        for image in images:
            self.add_image(image, caption="")
            _remove_keep_tail(image)
        self.walk_children(element)
        self.flush_run()

    def visit_ul(self, element) -> None:
        if element.find(".//img") is not None:  # a gallery laid out as a list
            self.walk_children(element)
            self.flush_run()
            return
        self._absolute_links(element)
        if _text(element):
            self.add_raw_paragraph(_serialize(element, with_tail=False))

    visit_ol = visit_ul

    def visit_blockquote(self, element, *, attribution: str = "") -> None:
        """A quote block: its paragraphs (whitelisted), who said it (a <cite> or <footer> at
        its end). Images, tables or media inside the quote follow it as their own blocks."""
        attribution = attribution or _take_attribution(element)
        inner = _Mapper(base_url=self.base_url)
        inner.walk_children(element)
        inner.flush_run()
        self.notes.extend(inner.notes)
        paragraphs, others = [], []
        for block in inner.blocks:
            if block.type == "paragraph":
                paragraphs.append(clean_rich_text(block.value, QUOTE))
            elif block.type == "heading":
                paragraphs.append(text_paragraph(block.value["text"]))
            else:
                others.append(block)
        text = "".join(p if p.startswith(("<p>", "<ul>", "<ol>")) else f"<p>{p}</p>"
                       for p in paragraphs if p)
        if text:
            self.blocks.append(DraftBlock("quote", {"text": text,
                                                    "attribution": attribution[:300]}))
        elif attribution:
            self.add_paragraph(html.escape(attribution, quote=False))
        self.blocks.extend(others)

    def visit_figure(self, element) -> None:
        # Only this figure's own caption: gallery items are figures with their own captions.
        own_captions = [c for c in element if isinstance(c.tag, str) and c.tag == "figcaption"]
        caption = " ".join(_text(c) for c in own_captions)
        for caption_element in own_captions:
            _remove_keep_tail(caption_element)
        images = element.findall(".//img")
        media = [e for e in element.iter() if isinstance(e.tag, str) and e.tag in MEDIA_TAGS]
        tables, quotes = element.findall(".//table"), element.findall(".//blockquote")
        if len(images) == 1 and not media:
            self.add_image(images[0], caption=caption)
            _remove_keep_tail(images[0])
            self.walk_children(element)
            self.flush_run()
            return
        if media and not images:
            self.add_media(media[0], caption=caption)
            return
        embedded = _embedded_url(element) if not images else ""
        if embedded:
            self.add_url(self._absolute(embedded), caption=caption, kind="embed")
            return
        if len(tables) == 1 and not images and _text(tables[0]) == _text(element):
            self.visit_table(tables[0], caption=caption)
            return
        if len(quotes) == 1 and not images and not tables:
            self.visit_blockquote(quotes[0], attribution=caption)
            return
        # Galleries and anything else: map what is inside, then the caption.
        self.walk_children(element)
        self.flush_run()
        if caption:
            self.add_paragraph(html.escape(caption, quote=False))

    def visit_table(self, element, *, caption: str = "") -> None:
        self._absolute_links(element)
        block, notes = table_block(element, caption=caption)
        self.notes.extend(notes)
        if block is not None:
            self.blocks.append(block)

    def visit_pre(self, element) -> None:
        block = verse_block(element) if is_verse(element) else code_block(element)
        if block is not None:
            self.blocks.append(block)

    def visit_dl(self, element) -> None:
        lines = [_text(child) for child in element if isinstance(child.tag, str)]
        lines = [line for line in lines if line]
        if lines:
            self.blocks.append(DraftBlock("paragraph", text_paragraph("\n".join(lines))))

    def visit_hr(self, element) -> None:
        return

    # -- block builders ----------------------------------------------------------------------

    def add_heading(self, element, *, level: str) -> None:
        text = _text(element)
        if not text:
            return
        if len(text) > HEADING_MAX:
            self.notes.append("a heading over 200 characters became a bold paragraph")
            self.add_raw_paragraph(f"<p><b>{html.escape(text, quote=False)}</b></p>")
            return
        self.blocks.append(DraftBlock("heading", {"text": text, "level": level}))

    def add_image(self, element, *, caption: str) -> None:
        src = self._absolute(element.get("src") or element.get("data-src") or "")
        alt = (element.get("alt") or "").strip()
        self.blocks.append(
            DraftBlock(
                "image",
                {"src": src, "caption": caption[:500], "alt_text": alt[:250],
                 "attachment_id": _attachment_id(element)},
            )
        )

    def add_media(self, element, *, caption: str = "") -> None:
        source = element if element.get("src") else element.find(".//source")
        url = ""
        if source is not None:
            url = source.get("src") or ""
        url = url or element.get("data") or ""
        if not url:
            self.notes.append(f"<{element.tag}> without a source URL dropped")
            return
        # WordPress's oEmbed gives an iframe the video's own title; players name themselves.
        title = " ".join((element.get("title") or "").split())
        if not caption and title and not _GENERIC_TITLE.search(title):
            caption = title
        self.add_url(self._absolute(url), caption=caption, kind=element.tag)

    def add_url(self, url: str, *, caption: str = "", kind: str = "") -> None:
        if not is_web_url(url):
            # javascript:, data:, "javascript://youtube.com/%0a…": never a link, never a video.
            source = f"<{kind}> source" if kind else "link"
            self.notes.append(f"dropped {source} {url[:80]!r}: only http:// and https:// "
                              "addresses are imported")
            if caption:
                self.add_paragraph(html.escape(caption, quote=False))
            return
        host = (urlparse(url).hostname or "").lower()
        if kind == "video" or any(host == h or host.endswith("." + h) for h in VIDEO_HOSTS):
            self.blocks.append(DraftBlock("video_candidate",
                                          {"url": video_url(url), "title": caption[:200]}))
            return
        label = {"audio": "Audio", "iframe": "Embed", "embed": "Embed"}.get(kind, "")
        link = f'<a href="{html.escape(url)}">{html.escape(url, quote=False)}</a>'
        text = f"{label}: {link}" if label else link
        if caption:
            text += " — " + html.escape(caption, quote=False)
        self.add_raw_paragraph(f"<p>{text}</p>")

    def add_paragraph(self, inline_html: str) -> None:
        cleaned = paragraph_html(inline_html)
        if _text(lxml.html.fragment_fromstring(cleaned, create_parent="div")):
            self.blocks.append(DraftBlock("paragraph", cleaned))

    def add_raw_paragraph(self, block_html: str) -> None:
        cleaned = clean_rich_text(block_html)
        if cleaned:
            self.blocks.append(DraftBlock("paragraph", cleaned))

    def _absolute(self, url: str) -> str:
        url = (url or "").strip()
        return urljoin(self.base_url, url) if self.base_url and url else url

    def _absolute_links(self, element) -> None:
        for link in element.iter("a"):
            if link.get("href"):
                link.set("href", self._absolute(link.get("href")))


def _text(element) -> str:
    if element is None:
        return ""
    return " ".join(element.text_content().split())


def _contains_block(element) -> bool:
    return any(
        isinstance(child.tag, str) and child.tag.lower() not in INLINE_TAGS
        for child in element.iterdescendants()
    )


def _serialize(element, *, with_tail: bool) -> str:
    return etree.tostring(element, encoding="unicode", method="html", with_tail=with_tail)


def _take_attribution(quote) -> str:
    """Who said it: a <cite> or <footer> that ends the quote (removed from the quote's text)."""
    children = [child for child in quote if isinstance(child.tag, str)]
    if children and children[-1].tag in {"cite", "footer"}:
        text = _text(children[-1]).lstrip("—–- ").strip()
        _remove_keep_tail(children[-1])
        return text
    return ""


def _embedded_url(figure) -> str:
    """The address of a WordPress embed block (``wp-block-embed``): the bare URL it saved."""
    if "wp-block-embed" not in (figure.get("class") or ""):
        return ""
    text = _text(figure)
    match = _BARE_URL.match(text)
    if match:
        return match.group(1)
    link = figure.find(".//a[@href]")
    return link.get("href") if link is not None and _text(link) == text else ""


def _remove_keep_tail(element) -> None:
    parent = element.getparent()
    if parent is None:
        return
    tail = element.tail or ""
    previous = element.getprevious()
    if previous is not None:
        previous.tail = (previous.tail or "") + tail
    else:
        parent.text = (parent.text or "") + tail
    parent.remove(element)


def _attachment_id(element) -> int | None:
    match = re.search(r"wp-image-(\d+)", element.get("class") or "")
    return int(match.group(1)) if match else None
