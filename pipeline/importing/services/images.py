"""The files behind an article's image blocks: found under ``--media-dir`` (never outside it)
or fetched from the source with ``--fetch-images`` (fetching.py). Either way the bytes become a
Wagtail image, reused when the library already holds the same content (Wagtail's file hash).

Fetched images are saved before the article's own transaction, so no download runs while the
series row is locked; an image whose article then fails stays in the library, where the next
run finds it by its hash. A failed fetch leaves the placeholder (caption and alt text) and a
note with the reason."""

import hashlib
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlparse

from django.core.files.base import ContentFile
from wagtail.images import get_image_model

from pipeline.importing.services.drafts import ArticleDraft
from pipeline.importing.services.fetching import FetchRefused, ImageFetcher

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif", ".heic"}


def draft_images_fetch(*, draft: ArticleDraft, fetcher: ImageFetcher | None,
                       media_dir: Path | None, dry_run: bool) -> None:
    """Fetch the images of one article that --media-dir does not hold; each fetched block
    gets the Wagtail image's id (``image_id``)."""
    hosts = frozenset(draft.media_hosts)
    for block in draft.body:
        if block.type != "image":
            continue
        value = block.value
        url = value.get("original_url") or value.get("src")
        if not url or (media_dir is not None and file_in_media_dir(media_dir, value)):
            continue
        if dry_run or fetcher is None:
            draft.notes.append(f"would fetch {url} (dry run)")
            continue
        try:
            fetched = fetcher.fetch(url, hosts=hosts)
        except FetchRefused as refused:
            value["fetch_error"] = str(refused)
            continue
        image, created = image_from_bytes(
            fetched.data, name=fetched.name,
            title=value.get("alt_text") or value.get("caption") or fetched.name,
        )
        value["image_id"] = image.pk
        draft.kept.append(f"image {'fetched' if created else 'fetched, already in the library'}"
                          f": {url}")


def image_for_block(value: dict, *, media_dir: Path | None, create_files: bool,
                    draft: ArticleDraft):
    """The Wagtail image for an image block, or None for a placeholder (with a note)."""
    src = value.get("src") or ""
    if value.get("image_id"):
        return get_image_model().objects.filter(pk=value["image_id"]).first()
    if value.get("fetch_error"):
        draft.notes.append(f"image placeholder (not fetched: {value['fetch_error']}): {src}")
        return None
    if media_dir is None or not (src or value.get("relative_path")):
        if src:
            draft.notes.append(f"image placeholder (file not available): {src}")
        return None
    path = file_in_media_dir(media_dir, value)
    if path is None:
        draft.notes.append(f"image placeholder (not in {media_dir}): {src}")
        return None
    if not create_files:
        draft.notes.append(f"would attach image file {path.name} (dry run)")
        return None
    image, created = image_from_bytes(
        path.read_bytes(), name=path.name,
        title=value.get("alt_text") or value.get("caption") or path.stem,
    )
    if created:
        draft.kept.append(f"image file attached: {path.name}")
    return image


def image_from_bytes(data: bytes, *, name: str, title: str):
    """A Wagtail image for these bytes: the library's own when it holds the same content."""
    Image = get_image_model()
    existing = Image.objects.filter(file_hash=hashlib.sha1(data).hexdigest()).first()
    if existing is not None:
        return existing, False
    image = Image(title=title[:255], file=ContentFile(data, name=name))
    image._set_image_file_metadata()  # size and hash, as Wagtail's upload form sets them
    image.save()
    return image, True


def file_in_media_dir(media_dir: Path, value: dict) -> Path | None:
    root = media_dir.resolve()
    names = []
    if value.get("relative_path"):
        names.append(value["relative_path"])
    src_path = unquote(urlparse(value.get("src") or "").path)
    if src_path:
        names.append(PurePosixPath(src_path).name)
    for name in names:
        candidate = (root / name).resolve()
        # Never follow a name out of the media folder ("../../etc/passwd").
        if candidate.is_relative_to(root) and candidate.is_file() \
                and candidate.suffix.lower() in IMAGE_SUFFIXES:
            return candidate
    return None
