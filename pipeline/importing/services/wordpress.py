"""WordPress export items → article drafts.

Posts become parts of the chosen series in date order, then pages after them (by menu order,
then date), flagged as pages in the import record. Attachments are not parts: they provide the
images' files and captions. Menu items and other types are skipped and counted in the report.
Published, public posts stay published; drafts, pending, future (scheduled), private and
password-protected posts are imported unpublished.
"""

from collections import Counter
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import urlparse

from pipeline.importing.services.drafts import ArticleDraft, DraftBlock
from pipeline.importing.services.enrichment import draft_enrich
from pipeline.importing.services.html_blocks import html_to_blocks
from pipeline.importing.services.rich_text import plain_text
from pipeline.importing.services.titles import title_fit, title_from_text
from pipeline.importing.services.wordpress_markup import expand_wordpress_markup
from pipeline.importing.services.wxr import WxrExport, WxrItem

IMPORTED_TYPES = ("post", "page")


@dataclass
class Attachment:
    post_id: int
    url: str
    relative_path: str
    caption: str
    alt_text: str
    title: str


def wxr_to_drafts(*, export: WxrExport, file_name: str) -> tuple[list[ArticleDraft], list[str]]:
    attachments = {
        item.post_id: Attachment(
            post_id=item.post_id, url=item.attachment_url or item.guid,
            relative_path=item.meta.get("_wp_attached_file", ""),
            caption=plain_text(item.excerpt) if item.excerpt else "",
            alt_text=item.meta.get("_wp_attachment_image_alt", ""), title=item.title,
        )
        for item in export.items
        if item.post_type == "attachment"
    }
    skipped = Counter(item.post_type for item in export.items
                      if item.post_type not in IMPORTED_TYPES and item.post_type != "attachment")
    notes = [f"skipped {count} item(s) of type {kind!r} (not articles)"
             for kind, count in sorted(skipped.items())]
    notes.append(f"{len(attachments)} attachment(s) used as image sources, not as parts")
    posts = sorted((i for i in export.items if i.post_type == "post"), key=_date_key)
    pages = sorted((i for i in export.items if i.post_type == "page"),
                   key=lambda i: (i.menu_order, *_date_key(i)))
    drafts = [_draft(item, export=export, attachments=attachments, file_name=file_name)
              for item in posts + pages]
    # --fetch-images fetches from the site's own hosts and those of its attachments.
    hosts = sorted({host for url in [*export.site_urls, *(a.url for a in attachments.values())]
                    if (host := urlparse(url).hostname)})
    for draft in drafts:
        draft.media_hosts = hosts
    return drafts, notes


def _date_key(item: WxrItem):
    return (item.date_gmt is None, item.date_gmt.isoformat() if item.date_gmt else "",
            item.post_id)


def _draft(item: WxrItem, *, export: WxrExport, attachments: dict[int, Attachment],
           file_name: str) -> ArticleDraft:
    content, markup_notes = expand_wordpress_markup(item.content)
    blocks, html_notes = html_to_blocks(content, base_url=export.site_url)
    source_text = plain_text(content) if content.strip() else ""
    for block in blocks:
        if block.type == "image":
            _fill_from_attachment(block, attachments)
    thumbnail = attachments.get(_int(item.meta.get("_thumbnail_id", "")))
    if thumbnail is not None:
        blocks.insert(0, DraftBlock("image", {
            "src": thumbnail.url, "caption": thumbnail.caption[:500],
            "alt_text": (thumbnail.alt_text or thumbnail.title)[:250],
            "attachment_id": thumbnail.post_id,
            "relative_path": thumbnail.relative_path,
            "original_url": thumbnail.url,
        }))
        html_notes.append("featured image placed first")

    notes = markup_notes + html_notes
    original_title = item.title
    if not original_title:
        title = title_from_text(source_text, fallback=f"Untitled {item.post_type} {item.post_id}")
        notes.append(f"no title in WordPress; titled from the text: {title!r}")
    else:
        title = title_fit(original_title)
        if title != original_title:
            notes.append(f"title cut to {len(title)} characters (Wagtail's limit is 255)")
    public = item.status == "publish" and not item.password
    if item.password:
        notes.append("password-protected in WordPress: imported unpublished")
    elif item.status != "publish":
        notes.append(f"WordPress status {item.status!r}: imported unpublished")
    draft = ArticleDraft(
        source_kind="wxr",
        source_key=f"wxr:{export.site_url}#{item.post_id}",
        title=title,
        original_title=original_title or title,
        body=blocks,
        slug=item.slug,
        source_url=item.link if item.link.startswith(("http://", "https://")) else "",
        source_file=file_name,
        standfirst=plain_text(item.excerpt)[:1000] if item.excerpt.strip() else "",
        publish=public,
        published_at=item.date_gmt if public else None,
        author=export.authors.get(item.author) or item.author,
        categories=item.categories,
        tags=item.tags,
        wp_post_type=item.post_type,
        wp_status=item.status,
        wp_password_protected=bool(item.password),
        notes=notes,
        source_text=source_text,
    )
    draft_enrich(draft)
    draft.kept.append(f"{len(draft.body)} block(s) from WordPress {item.post_type} {item.post_id}")
    return draft


def _fill_from_attachment(block: DraftBlock, attachments: dict[int, Attachment]) -> None:
    attachment = attachments.get(block.value.get("attachment_id") or 0)
    if attachment is None:
        name = PurePosixPath(urlparse(block.value["src"]).path).name
        attachment = next((a for a in attachments.values()
                           if a.url and PurePosixPath(urlparse(a.url).path).name == name), None)
    if attachment is None:
        return
    block.value["relative_path"] = attachment.relative_path
    if attachment.url.startswith(("http://", "https://")):
        block.value["original_url"] = attachment.url  # the full-size file, not a thumbnail
    if not block.value["caption"] and attachment.caption:
        block.value["caption"] = attachment.caption[:500]
    if not block.value["alt_text"]:
        block.value["alt_text"] = (attachment.alt_text or attachment.title)[:250]


def _int(value: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
