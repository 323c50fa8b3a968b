"""Videos: every http(s) video found in an article (WordPress embed blocks, YouTube, Vimeo and
other oEmbed-style iframes, <video> and its <source>) becomes a video block. A credit line next
to it ("Physical therapist, Jessica Bento demonstrates …", "Coach Cory Cripe shows …") fills the
block's presenter and role; the sentence itself stays as a paragraph.

Which neighbour is a video's credit: when the article puts credits on the same side of every
video (all after, or all before), that side; otherwise the following paragraph, then the one
before. A credit is used for one video only, so "video, credit, video, credit" pairs each video
with its own line, never the previous video's."""

import re
from urllib.parse import urlparse

from pipeline.importing.services.drafts import ArticleDraft, DraftBlock
from pipeline.importing.services.rich_text import plain_text

VIDEO_HOSTS = ("youtube.com", "youtube-nocookie.com", "youtu.be", "vimeo.com", "wordpress.tv",
               "videopress.com", "dailymotion.com", "wistia.com", "wistia.net", "ted.com",
               "loom.com")
_PRESENTER = re.compile(
    r"^(?:(?P<role>[A-Z][\w'-]*(?:\s+[a-z][\w'-]*){0,3}),?\s+)?"
    r"(?P<name>[A-Z][\w'-]+(?:\s+[A-Z][\w'-]+){1,2})\s+(?:demonstrates|shows|walks you|"
    r"takes you|explains|performs|teaches|guides you)\b"
)
_YOUTUBE_ID = re.compile(r"^/(?:embed|v|shorts|live)/([\w-]+)")
_VIMEO_ID = re.compile(r"^/video/(\d+)")


def video_url(url: str) -> str:
    """The address a reader opens: a YouTube or Vimeo player URL becomes the watch page."""
    parts = urlparse(url)
    host = (parts.hostname or "").lower().removeprefix("www.")
    if host in {"youtube.com", "youtube-nocookie.com", "m.youtube.com"}:
        match = _YOUTUBE_ID.match(parts.path)
        if match:
            return f"https://www.youtube.com/watch?v={match.group(1)}"
    if host == "player.vimeo.com":
        match = _VIMEO_ID.match(parts.path)
        if match:
            return f"https://vimeo.com/{match.group(1)}"
    return url


def presenter_credit(text: str) -> tuple[str, str] | None:
    """(name, role) from a credit line, or None."""
    match = _PRESENTER.match(text)
    if not match:
        return None
    return match.group("name"), match.group("role") or ""


def videos_with_credits(blocks: list[DraftBlock], draft: ArticleDraft) -> list[DraftBlock]:
    """Video candidates become video blocks, each with the credit next to it when there is
    one (the credit paragraphs stay)."""
    indexes = [i for i, block in enumerate(blocks) if block.type == "video_candidate"]
    credits = {index: credit for index, block in enumerate(blocks) if block.type == "paragraph"
               and (credit := presenter_credit(plain_text(block.value)))}
    after = sum(1 for i in indexes if i + 1 in credits)
    before = sum(1 for i in indexes if i - 1 in credits)
    sides = (-1, 1) if before > after else (1, -1)
    used: set[int] = set()
    result = list(blocks)
    for index in indexes:
        url, title = blocks[index].value["url"], blocks[index].value.get("title", "")
        side = next((index + s for s in sides if index + s in credits
                     and index + s not in used), None)
        name, role = credits[side] if side is not None else ("", "")
        if side is not None:
            used.add(side)
            draft.kept.append(f"video by {name}: {url}")
        else:
            draft.notes.append("video without a presenter credit (presenter left empty)")
            draft.kept.append(f"video: {url}")
        result[index] = DraftBlock("video", {"url": url, "title": title[:200],
                                             "presenter": name[:120],
                                             "presenter_role": role[:120]})
    return result

