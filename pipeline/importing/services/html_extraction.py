"""HTML pages (a saved blog post with the site around it): trafilatura finds the main content,
then the shared HTML mapping turns it into blocks. What the extract loses (media, captions,
table headers, quote attributions, code languages) is recovered from the page itself
(html_recovery.py); page lines that did not make it into the extract are reported as
dropped."""

import copy
import html
from urllib.parse import urlparse

import lxml.html
import trafilatura
from lxml import etree

from pipeline.importing.services.chrome import chrome_reason
from pipeline.importing.services.drafts import ArticleDraft, DraftBlock
from pipeline.importing.services.errors import ImportFileError
from pipeline.importing.services.html_blocks import html_to_blocks
from pipeline.importing.services.html_recovery import (
    MediaMarkers,
    marker_text,
    media_mark,
    structures_restore,
)
from pipeline.importing.services.rich_text import plain_text
from pipeline.importing.services.wxr import clean_title

MAX_REPORTED_DROPS = 40


def html_extract(*, page: str, fallback_title: str) -> ArticleDraft:
    try:
        document = lxml.html.document_fromstring(page)
    except (etree.ParserError, ValueError):
        raise ImportFileError("the HTML could not be parsed (no document found)") from None
    metadata = trafilatura.extract_metadata(document)
    original = copy.deepcopy(document)  # the page as it is, before markers replace its media
    markers = media_mark(document)
    extracted = trafilatura.extract(
        document, output_format="html", include_images=True, include_links=True,
        include_formatting=True, include_tables=True, include_comments=False, favor_recall=True,
    )
    if not extracted:
        raise ImportFileError("no article text found in the HTML page")
    extract = lxml.html.fromstring(extracted)
    structures_restore(extract, original)
    url = (metadata.url if metadata else "") or ""
    blocks, notes = html_to_blocks(_body_inner(extract), base_url=url)
    blocks = _media_in_place(blocks, markers, notes, base_url=url)
    title = clean_title(metadata.title) if metadata and metadata.title else ""
    # The extract often repeats the title as its first heading.
    if blocks and blocks[0].type == "heading" and (not title or blocks[0].value["text"] == title):
        title = title or blocks[0].value["text"]
        blocks = blocks[1:]
    draft = ArticleDraft(
        source_kind="html", source_key="", title=title or fallback_title,
        original_title=title or fallback_title, source_url=url,
        author=(metadata.author or "") if metadata else "",
        media_hosts=[host] if (host := urlparse(url).hostname) else [],
    )
    _recover_captions(original, blocks, base_url=url)
    kept_blocks = []
    for block in blocks:
        if block.type == "paragraph":
            text = " ".join(lxml.html.fromstring(block.value).text_content().split())
            reason = chrome_reason(text)
            if reason:
                draft.dropped.append((text, reason))
                continue
            draft.kept.append(f"paragraph: {text[:70]}")
        else:
            draft.kept.append(f"{block.type}")
        kept_blocks.append(block)
    draft.body = kept_blocks
    draft.notes.extend(notes)
    extracted_text = " ".join(extract.text_content().split())
    draft.source_text = " ".join(w for w in extracted_text.split() if not marker_text(w))
    for markup in markers.media.values():
        draft.dropped.append((plain_text(markup)[:80] or _media_source(markup),
                              "media outside the main content (trafilatura)"))
    # Recovered captions and attributions are kept text too, not lines left out.
    recovered = " ".join(text for block in draft.body if isinstance(block.value, dict)
                         for text in block.value.values() if isinstance(text, str))
    _report_left_out(original, f"{extracted_text} {recovered}", draft)
    return draft


def _body_inner(extract) -> str:
    body = extract.find(".//body")
    container = body if body is not None else extract
    text = html.escape(container.text or "", quote=False)
    return text + "".join(etree.tostring(child, encoding="unicode", method="html")
                          for child in container)


def _media_in_place(blocks: list[DraftBlock], markers: MediaMarkers, notes: list[str], *,
                    base_url: str) -> list[DraftBlock]:
    """Each surviving media marker becomes the media's own blocks."""
    placed = []
    for block in blocks:
        found = markers.blocks_for(block, base_url=base_url)
        if found is None:
            placed.append(block)
            continue
        media_blocks, media_notes = found
        placed.extend(media_blocks)
        notes.extend(media_notes)
    return placed


def _media_source(markup: str) -> str:
    element = lxml.html.fragment_fromstring(markup, create_parent="div")
    sources = [e.get("src") or e.get("data") for e in element.iter() if e.get("src") or
               e.get("data")]
    return (sources[0] if sources else "a media element")[:80]


def _recover_captions(document, blocks: list[DraftBlock], *, base_url: str) -> None:
    captions = {}
    for figure in document.iter("figure"):
        caption = figure.find(".//figcaption")
        image = figure.find(".//img")
        if caption is not None and image is not None and image.get("src"):
            captions[image.get("src")] = " ".join(caption.text_content().split())
    for block in blocks:
        if block.type == "image" and not block.value["caption"]:
            for src, caption in captions.items():
                if block.value["src"].endswith(src.lstrip("./")):
                    block.value["caption"] = caption[:500]
                    break


def _report_left_out(document, extracted_text: str, draft: ArticleDraft) -> None:
    body = document.find(".//body")
    if body is None:
        return
    for element in body.iter("script", "style", "noscript"):
        element.drop_tree()
    seen = set()
    for line in body.text_content().split("\n"):
        line = " ".join(line.split())
        if not line or line in seen or line in extracted_text or line == draft.title \
                or marker_text(line):
            continue
        seen.add(line)
        reason = chrome_reason(line) or "outside the main content (trafilatura)"
        draft.dropped.append((line, reason))
        if len(seen) >= MAX_REPORTED_DROPS:
            draft.notes.append("more dropped lines not listed")
            break
