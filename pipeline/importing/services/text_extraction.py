"""Plain text pages (a scrape saved as text, like the seed): a careful line-based pass.

Rules, in order:
1. Blank lines separate blocks; lines within a block are joined into one paragraph, except that
   each line is first tested against the chrome rules (chrome.py) and dropped with its reason.
2. The title is the first kept block that reads like a title: one line, at most 200
   characters, not ending in sentence punctuation, starting with a capital. Anything kept before
   it is dropped as "above the article title (site header)".
3. After the title, a one-line block of at most 6 words and 60 characters that ends without
   punctuation is:
   - an image caption when it starts in lower case ("hip mobility"): scrapes keep an image's
     caption or alt text and lose the image, so it becomes an image placeholder with the caption;
   - a heading when it starts with a capital ("Why It Matters").
4. Everything else is a paragraph.
"""

import re

from pipeline.importing.services.chrome import chrome_reason, strip_bullet
from pipeline.importing.services.drafts import ArticleDraft, DraftBlock
from pipeline.importing.services.rich_text import text_paragraph

SHORT_LINE_WORDS = 6
SHORT_LINE_CHARS = 60
_SENTENCE_END = re.compile(r"[.!?:;,…”\"]$")
_TITLE_END = re.compile(r"[.!?:;,…]$")


def text_extract(*, text: str, fallback_title: str) -> ArticleDraft:
    groups = _groups(text)
    draft = ArticleDraft(source_kind="text", source_key="", title="", original_title="")
    kept_groups: list[list[str]] = []
    for group in groups:
        lines = []
        for line in group:
            reason = chrome_reason(line)
            if reason:
                draft.dropped.append((strip_bullet(line), reason))
            else:
                lines.append(line)
        if lines:
            kept_groups.append(lines)

    title_index = next(
        (i for i, group in enumerate(kept_groups) if _looks_like_title(group)), None
    )
    if title_index is None:
        draft.title = fallback_title
        draft.notes.append(f"no title line found; titled from the file name: {fallback_title}")
        body_groups = kept_groups
    else:
        for group in kept_groups[:title_index]:
            draft.dropped.append((" ".join(group), "above the article title (site header)"))
        draft.title = kept_groups[title_index][0]
        draft.kept.append(f"title: {draft.title}")
        body_groups = kept_groups[title_index + 1:]
    draft.original_title = draft.title

    for group in body_groups:
        line = " ".join(strip_bullet(item) for item in group)
        if len(group) == 1 and _is_short_label(line):
            if line[0].islower():
                draft.body.append(
                    DraftBlock("image", {"src": "", "caption": line, "alt_text": line,
                                         "attachment_id": None})
                )
                draft.kept.append(f"image caption (placeholder, no image file): {line}")
            else:
                draft.body.append(DraftBlock("heading", {"text": line, "level": "h2"}))
                draft.kept.append(f"heading: {line}")
            continue
        draft.body.append(DraftBlock("paragraph", text_paragraph(line)))
        draft.kept.append(f"paragraph: {_clip(line)}")
    draft.source_text = "\n".join(" ".join(group) for group in body_groups)
    return draft


def _groups(text: str) -> list[list[str]]:
    groups, current = [], []
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = " ".join(raw.replace("\u00a0", " ").split())
        if line:
            current.append(line)
        elif current:
            groups.append(current)
            current = []
    if current:
        groups.append(current)
    return groups


def _looks_like_title(group: list[str]) -> bool:
    line = strip_bullet(group[0])
    return (
        len(group) == 1
        and 2 <= len(line) <= 200
        and line[0].isupper()
        and not _TITLE_END.search(line)
        and len(line.split()) >= 2
    )


def _is_short_label(line: str) -> bool:
    return (
        len(line) <= SHORT_LINE_CHARS
        and len(line.split()) <= SHORT_LINE_WORDS
        and not _SENTENCE_END.search(line)
        and line[:1].isalpha()
    )


def _clip(text: str, length: int = 70) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"
