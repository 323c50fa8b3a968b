"""The importer's in-between form: what an article will become before anything is saved."""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class DraftBlock:
    """A body block before saving. ``value`` is the StreamField value, except for blocks that
    point at database objects: image (``src``), callout (``part_number``) and offer
    (``suggestion``), which are resolved when the part is saved."""

    type: str
    value: dict | str


@dataclass
class OfferSuggestion:
    code: str
    percent_off: int
    window_days: int
    window_phrase: str
    source_line: str


@dataclass
class ArticleDraft:
    source_kind: str
    source_key: str
    title: str
    original_title: str
    body: list[DraftBlock] = field(default_factory=list)
    slug: str = ""
    source_url: str = ""
    source_file: str = ""
    standfirst: str = ""
    declared_part_number: int | None = None  # the text says "this is part N"
    follows_part_number: int | None = None  # the text points back at part N
    publish: bool = False
    published_at: datetime | None = None
    author: str = ""
    categories: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    wp_post_type: str = ""
    wp_status: str = ""
    wp_password_protected: bool = False
    kept: list[str] = field(default_factory=list)
    dropped: list[tuple[str, str]] = field(default_factory=list)  # (text, reason)
    notes: list[str] = field(default_factory=list)
    source_text: str = ""  # the plain text of the source body, for checks and reports
    media_hosts: list[str] = field(default_factory=list)  # hosts images may be fetched from

    def content_hash(self) -> str:
        payload = {
            "title": self.title,
            "slug": self.slug,
            "publish": self.publish,
            "body": [(block.type, _jsonable(block.value)) for block in self.body],
            "meta": [self.author, self.categories, self.tags, self.wp_status],
        }
        encoded = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(encoded.encode()).hexdigest()


def _jsonable(value):
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, OfferSuggestion):
        return value.__dict__
    return value
