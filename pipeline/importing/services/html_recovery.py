"""What trafilatura's extract of a page loses, recovered from the page itself.

- Media: trafilatura drops iframes, <video>, <audio> and WordPress embed figures. Before the
  extraction each is replaced by a marker paragraph; where a marker survives, the media's own
  blocks (a video, or an "Embed:" link) take its place, so a video stays next to the sentence
  that credits its presenter. A marker that did not survive was outside the main content.
- Tables, quotes and <pre>: the extract keeps their text but loses captions, attributions,
  header sections and code languages (and turns verse into a quote). Each is replaced by the
  page's own element (with its figure, for the caption) holding the same text.
- Image captions: matched by image source.
"""

import copy
from dataclasses import dataclass, field

from lxml import etree

from pipeline.importing.services.drafts import DraftBlock
from pipeline.importing.services.html_blocks import html_to_blocks
from pipeline.importing.services.rich_text import plain_text

MARKER = "partwork-media-{}"
MEDIA_TAGS = ("iframe", "video", "audio", "embed", "object")
EMBED_FIGURES = ("wp-block-embed", "wp-block-video", "wp-block-audio")
STRUCTURES = ("table", "blockquote", "pre")
INLINE_PARENTS = {"p", "span", "a", "em", "strong", "b", "i", "center", "font"}


@dataclass
class MediaMarkers:
    """The page's media, each replaced by a marker paragraph: marker → the element's HTML."""

    media: dict[str, str] = field(default_factory=dict)

    def blocks_for(self, block: DraftBlock, *, base_url: str) -> tuple[list[DraftBlock],
                                                                        list[str]] | None:
        if block.type != "paragraph":
            return None
        key = _squash(plain_text(block.value))
        if key not in self.media:
            return None
        markup = self.media.pop(key)
        return html_to_blocks(markup, base_url=base_url)


def media_mark(document) -> MediaMarkers:
    """Replace the page's media by marker paragraphs (in place)."""
    markers = MediaMarkers()
    body = document.find(".//body")
    if body is None:
        return markers
    figures = [figure for figure in body.iter("figure")
               if any(name in (figure.get("class") or "") for name in EMBED_FIGURES)]
    inside = {descendant for figure in figures for descendant in figure.iter()}
    candidates = figures + [element for element in body.iter(*MEDIA_TAGS)
                            if element not in inside]
    for element in candidates:
        if element.getparent() is None:
            continue
        marker = MARKER.format(len(markers.media) + 1)
        markers.media[_squash(marker)] = etree.tostring(
            element, encoding="unicode", method="html", with_tail=False)
        paragraph = document.makeelement("p", {})
        paragraph.text = marker
        _put_in_place(element, paragraph)
    return markers


def structures_restore(extract, document) -> None:
    """Swap the extract's tables, quotes and <pre> for the page's own (same text)."""
    originals: dict[str, object] = {}
    for element in document.iter(*STRUCTURES):
        holder = element.getparent()
        if holder is not None and holder.tag == "figure":
            element = holder
        originals.setdefault(_squash(element.text_content(), strip_caption=element), element)
    for element in list(extract.iter(*STRUCTURES)):
        if element.getparent() is None or _inside(element, STRUCTURES):
            continue
        original = originals.get(_squash(element.text_content()))
        if original is not None:
            replacement = copy.deepcopy(original)
            replacement.tail = element.tail
            element.getparent().replace(element, replacement)


def marker_text(line: str) -> bool:
    return line.startswith("partwork-media-")


def _put_in_place(element, paragraph) -> None:
    """The marker goes where the media stood; after the paragraph holding it, if inline."""
    holder = element
    while holder.getparent() is not None and holder.getparent().tag in INLINE_PARENTS:
        holder = holder.getparent()
    if holder is element:
        paragraph.tail = element.tail
        element.getparent().replace(element, paragraph)
        return
    tail = element.tail
    parent = element.getparent()
    previous = element.getprevious()
    parent.remove(element)
    if tail:
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    holder.addnext(paragraph)


def _inside(element, tags) -> bool:
    return any(ancestor.tag in tags for ancestor in element.iterancestors())


def _squash(text: str, strip_caption=None) -> str:
    if strip_caption is not None and strip_caption.tag == "figure":
        captions = [c.text_content() for c in strip_caption if c.tag == "figcaption"]
        for caption in captions:
            text = text.replace(caption, "")
    return "".join(text.split())

