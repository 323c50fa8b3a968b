"""Titles and slugs that Wagtail accepts: never empty, at most 255 characters, unique slugs."""

from django.utils.text import slugify

TITLE_MAX = 255
UNTITLED_WORDS = 8


def title_fit(title: str) -> str:
    """Cut a title longer than Wagtail allows at a word boundary and mark the cut."""
    title = " ".join(title.split())
    if len(title) <= TITLE_MAX:
        return title
    cut = title[: TITLE_MAX - 1]
    if " " in cut[TITLE_MAX // 2:]:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:-") + "…"


def title_from_text(text: str, *, fallback: str) -> str:
    words = text.split()
    if not words:
        return fallback
    title = " ".join(words[:UNTITLED_WORDS])
    return title + ("…" if len(words) > UNTITLED_WORDS else "")


def slug_fit(candidate: str, *, title: str, taken: set[str]) -> str:
    base = slugify(candidate, allow_unicode=True) or slugify(title, allow_unicode=True) or "part"
    base = base[:240].strip("-") or "part"
    slug, counter = base, 2
    while slug in taken:
        slug = f"{base}-{counter}"
        counter += 1
    return slug
