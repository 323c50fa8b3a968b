"""Turn recognisable sentences in paragraphs into the part's richer blocks.

- Study citations: a paragraph opening "A 2015 study[, for example,] found, “…”" becomes a
  citation block (year, the quoted finding). "A 2012 study found that X, …" (no quotes) becomes
  a citation whose finding is the first clause X (to the first comma, semicolon or sentence end);
  the rest of the paragraph stays as a paragraph right after it, so no text is lost.
- Pointers to another part ("part 1 of our low back pain series (you can read HERE)") are noted
  on the block as ``refers_to_part``; the importer adds a callout to that part when it exists.
- A discount line ("35% off this week with code “corrective”") becomes an offer block pointing
  at a draft Offer suggestion; the line itself is the block's headline.
- Videos become video blocks, with the presenter credit next to them (videos.py).
"""

import re

from pipeline.importing.services.drafts import ArticleDraft, DraftBlock
from pipeline.importing.services.offers import offer_suggestion_from_text
from pipeline.importing.services.rich_text import plain_text, text_paragraph
from pipeline.importing.services.videos import videos_with_credits

_QUOTE_OPEN = "“\"«"
_QUOTE_CLOSE = "”\"»"
_CITATION = re.compile(
    r"^(?:An?|One|The)\s+(?P<year>1[89]\d\d|20\d\d)\s+(?:\w+\s+){0,2}?(?:study|review|"
    r"trial|paper|analysis|meta-analysis)\b(?P<between>[^“\"«]{0,80}?)\b(?:found|showed|"
    r"concluded|reported|demonstrated)\b(?P<rest>.*)$",
    re.S | re.I,
)
_PART_POINTER = re.compile(
    r"\bpart\s+(?P<number>\d{1,3})\s+of\s+(?:our|the|this|my)\s+(?P<series>[^()]{1,80}?)\s+"
    r"series\b(?P<after>[^.]*)",
    re.I,
)
_SELF_PART = re.compile(
    r"(?:^|\b(?:this is|welcome to|in this)\s+)part\s+(?P<number>\d{1,3})\b|\(part\s+"
    r"(?P<number2>\d{1,3})\)|\bpart\s+(?P<number3>\d{1,3})\s*[:\-–—]",
    re.I,
)


def draft_enrich(draft: ArticleDraft) -> None:
    enriched: list[DraftBlock] = []
    for block in videos_with_credits(draft.body, draft):
        if block.type != "paragraph" or "<blockquote>" in block.value:
            enriched.append(block)
            continue
        text = plain_text(block.value)
        offer = offer_suggestion_from_text(text)
        if offer:
            headline = re.sub(r"\s*\bHERE\b\s*[.!]?$", "", text).strip()[:200]
            enriched.append(DraftBlock("offer", {"headline": headline, "suggestion": offer}))
            draft.kept.append(
                f"offer block: draft offer {offer.code!r} {offer.percent_off}% "
                f"({offer.window_phrase or 'no window given'}) for the editor to confirm"
            )
            continue
        citation = _citation(text)
        if citation:
            year, finding, remainder = citation
            enriched.append(DraftBlock("citation", {"year": year, "source": "",
                                                    "finding": finding, "url": ""}))
            draft.kept.append(f"citation {year}: {finding[:60]}…")
            if remainder:
                enriched.append(DraftBlock("paragraph", text_paragraph(remainder)))
            continue
        pointer = _PART_POINTER.search(text)
        enriched.append(block)
        if pointer:
            number = int(pointer.group("number"))
            enriched.append(DraftBlock("callout", {"part_number": number,
                                                   "series_name": pointer.group("series")}))
            draft.follows_part_number = max(draft.follows_part_number or 0, number)
    draft.body = enriched
    if draft.declared_part_number is None:
        match = _SELF_PART.search(draft.title)
        if match:
            draft.declared_part_number = int(next(g for g in match.groups() if g))


def _citation(text: str) -> tuple[int, str, str] | None:
    match = _CITATION.match(text)
    if not match:
        return None
    year = int(match.group("year"))
    rest = match.group("rest").lstrip(" ,:")
    if rest[:1] in _QUOTE_OPEN:
        close = _find_close_quote(rest)
        if close is None:
            return None
        finding = rest[1:close].strip()
        remainder = rest[close + 1:].strip(" ,")
        return year, finding, remainder
    rest = re.sub(r"^that\s+", "", rest, flags=re.I)
    clause = re.match(r"(?P<clause>[^,;.!?]+)[,;.!?]?\s*(?P<remainder>.*)$", rest, re.S)
    if not clause or len(clause.group("clause").split()) < 3:
        return None
    finding = clause.group("clause").strip()
    finding = finding[0].upper() + finding[1:] + "."
    remainder = clause.group("remainder").strip()
    if remainder:
        remainder = remainder[0].upper() + remainder[1:]
    return year, finding, remainder


def _find_close_quote(text: str) -> int | None:
    for index in range(len(text) - 1, 0, -1):
        if text[index] in _QUOTE_CLOSE:
            return index
    return None
