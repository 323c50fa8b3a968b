"""The import: read each file, plan its articles, then save each article in its own
transaction. A file that cannot be read or parsed is reported and skipped; an article that
fails is rolled back whole (its part, its import record and its draft offer) and the others
go on."""

import hashlib
import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from cms.demo import series_index_get_or_create
from cms.models import PartPage, SeriesPage, next_part_number
from pipeline.importing.models import ImportedArticle
from pipeline.importing.services.drafts import ArticleDraft
from pipeline.importing.services.enrichment import draft_enrich
from pipeline.importing.services.errors import ImportFileError
from pipeline.importing.services.fetching import FetchPolicy, ImageFetcher
from pipeline.importing.services.html_extraction import html_extract
from pipeline.importing.services.images import draft_images_fetch
from pipeline.importing.services.reading import DEFAULT_MAX_BYTES, source_file_read
from pipeline.importing.services.report import ArticleResult, FileResult, ImportReport
from pipeline.importing.services.resolving import draft_body_resolve
from pipeline.importing.services.text_extraction import text_extract
from pipeline.importing.services.titles import slug_fit, title_fit
from pipeline.importing.services.wordpress import wxr_to_drafts
from pipeline.importing.services.wxr import wxr_parse

logger = logging.getLogger(__name__)


class _DryRunRollback(Exception):
    pass


@dataclass
class FilePlan:
    result: FileResult
    drafts: list[ArticleDraft] = field(default_factory=list)


@dataclass(frozen=True)
class ImportOptions:
    dry_run: bool = False
    publish_pages: bool = False  # publish scraped pages (text/HTML); WordPress keeps its status
    drafts_only: bool = False  # publish nothing, whatever the source says
    media_dir: Path | None = None
    max_bytes: int = DEFAULT_MAX_BYTES
    image_fetch: FetchPolicy | None = None  # --fetch-images: download images from the source


def file_plan(*, path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> FilePlan:
    """Read and map one file; never raises for bad input, the error is in the result."""
    result = FileResult(path=str(path))
    try:
        source = source_file_read(path=path, max_bytes=max_bytes)
        result.kind, result.encoding = source.kind, source.encoding
        result.notes.extend(source.notes)
        fallback_title = title_fit(path.stem.replace("_", " ").replace("-", " ").strip()
                                   or "Imported article")
        if source.kind == "wxr":
            export = wxr_parse(data=source.data)
            drafts, notes = wxr_to_drafts(export=export, file_name=path.name)
            result.notes.extend(notes)
        else:
            extract = html_extract if source.kind == "html" else None
            draft = (extract(page=source.text, fallback_title=fallback_title) if extract
                     else text_extract(text=source.text, fallback_title=fallback_title))
            draft.source_file = path.name
            draft.title = title_fit(draft.title)
            draft.source_key = (
                draft.source_url or f"title:{slugify(draft.original_title, allow_unicode=True)}"
            )
            draft_enrich(draft)
            if not draft.body:
                raise ImportFileError("no article text left after removing the site chrome")
            drafts = [draft]
    except ImportFileError as error:
        result.error = str(error)
        return FilePlan(result=result)
    except Exception as error:  # a bug or an input we did not foresee: report, go on
        logger.exception("import of %s failed", path)
        result.error = f"unexpected error while reading: {type(error).__name__}: {error}"
        return FilePlan(result=result)
    return FilePlan(result=result, drafts=drafts)


def series_for_import(
    *, slug: str, create_title: str | None, say: Callable[[str], None] = logger.info
) -> SeriesPage:
    """The series to import into; created (with the series index, on an empty database) when
    ``create_title`` is given. ``say`` is told what was created besides."""
    series = SeriesPage.objects.filter(slug=slug).first()
    if series is not None:
        return series
    if not create_title:
        raise ImportFileError(
            f"no series with slug {slug!r}; pass --create-series \"Title\" to create it"
        )
    index, created = series_index_get_or_create()
    if created:
        say(f"Created the series index “{index.title}” as the site's home page: the database "
            "had none.")
    series = index.add_child(instance=SeriesPage(title=create_title, slug=slug, live=False))
    series.save_revision()
    return series


def series_import_files(
    *, series: SeriesPage, paths: Iterable[Path], options: ImportOptions = ImportOptions(),
    on_article: Callable[[ArticleResult], None] | None = None,
) -> ImportReport:
    plans = [file_plan(path=Path(path), max_bytes=options.max_bytes) for path in paths]
    return series_import_plans(series=series, plans=plans, options=options,
                               on_article=on_article)


def series_import_plans(
    *, series: SeriesPage, plans: list[FilePlan], options: ImportOptions,
    on_article: Callable[[ArticleResult], None] | None = None,
) -> ImportReport:
    report = ImportReport(series_title=series.title, dry_run=options.dry_run)
    fetcher = ImageFetcher(options.image_fetch) if options.image_fetch else None
    try:
        # A dry run does everything inside one transaction that is rolled back at the end, so
        # part numbers, slugs and call-outs are planned exactly as a real run would make them.
        with transaction.atomic(durable=False) if options.dry_run else _nullcontext():
            for plan in plans:
                report.files.append(plan.result)
                for draft in plan.drafts:
                    if fetcher is not None:
                        draft_images_fetch(draft=draft, fetcher=fetcher,
                                           media_dir=options.media_dir, dry_run=options.dry_run)
                    article = article_import(series=series, draft=draft, options=options)
                    plan.result.articles.append(article)
                    if on_article:
                        on_article(article)
            if options.dry_run:
                raise _DryRunRollback
    except _DryRunRollback:
        pass
    finally:
        if fetcher is not None:
            fetcher.close()
    return report


def article_import(*, series: SeriesPage, draft: ArticleDraft,
                   options: ImportOptions) -> ArticleResult:
    result = ArticleResult(source=f"{draft.source_file}#{draft.source_key}", title=draft.title,
                           status="error", post_type=draft.wp_post_type,
                           wp_status=draft.wp_status)
    try:
        with transaction.atomic():
            _save(series=series, draft=draft, options=options, result=result)
    except ValidationError as error:
        logger.warning("import of %s refused: %s", result.source, error)
        result.status = "error"
        result.error = "refused by validation: " + "; ".join(
            f"{field}: {' '.join(messages)}" for field, messages in
            getattr(error, "message_dict", {"": error.messages}).items()
        )
        result.part_id = None
    except Exception as error:  # one article's failure must not stop the others
        logger.exception("import of %s failed", result.source)
        result.status = "error"
        result.error = f"{type(error).__name__}: {error}"
        result.part_id = None
    result.kept, result.dropped, result.notes = draft.kept, draft.dropped, draft.notes
    return result


def _save(*, series: SeriesPage, draft: ArticleDraft, options: ImportOptions,
          result: ArticleResult) -> None:
    # Lock the series row: two imports into one series take part numbers one after the other.
    SeriesPage.objects.select_for_update().filter(pk=series.pk).exists()
    record = (ImportedArticle.objects.select_for_update()
              .filter(series=series, source_key=draft.source_key).first())
    publish = _should_publish(draft, options)
    # The publishing decision is part of what was imported: a later run that would publish
    # what an earlier --drafts-only run kept as a draft is an update, not "unchanged".
    content_hash = hashlib.sha256(f"{draft.content_hash()}:{publish}".encode()).hexdigest()
    if record is not None and record.content_hash == content_hash:
        part = record.part
        result.status, result.part_number, result.part_id = "unchanged", part.part_number, part.pk
        result.live, result.offer_id = part.live, record.offer_id
        _count_blocks(result, [(block.block_type, block.value) for block in part.body])
        return

    part = record.part if record else None
    number = part.part_number if part else _part_number(series, draft)
    body, offer = draft_body_resolve(
        draft=draft, series=series, own_part_number=number, media_dir=options.media_dir,
        existing_offer=record.offer if record else None, create_files=not options.dry_run,
    )
    taken = set(series.get_children().exclude(pk=part.pk if part else None)
                .values_list("slug", flat=True))
    slug = slug_fit(draft.slug or draft.title, title=draft.title, taken=taken)
    if part is None:
        part = PartPage(title=draft.title, slug=slug, part_number=number, body=body,
                        standfirst=draft.standfirst, live=False)
        if publish and draft.published_at:
            part.first_published_at = draft.published_at
        series.add_child(instance=part)
        result.status = "created"
    else:
        part.title, part.slug, part.body = draft.title, slug, body
        part.standfirst = draft.standfirst
        if not part.live:
            part.draft_title = draft.title
            part.save()
        result.status = "updated"
    revision = part.save_revision()
    if publish:
        revision.publish()
        part.refresh_from_db()

    _record(series=series, draft=draft, part=part, content_hash=content_hash, offer=offer)
    result.part_number, result.part_id, result.live = part.part_number, part.pk, part.live
    result.offer_id = offer.pk if offer else None
    _count_blocks(result, body)


def _count_blocks(result: ArticleResult, body) -> None:
    result.block_counts = dict(Counter(kind for kind, _ in body))
    images = [value.get("image") for kind, value in body if kind == "image"]
    result.images_attached = sum(1 for image in images if image is not None)
    result.image_placeholders = len(images) - result.images_attached


def _record(*, series, draft: ArticleDraft, part: PartPage, content_hash: str, offer) -> None:
    """The import record is written last, in the article's transaction: if anything before
    failed there is no record, and if this fails the part and its offer are rolled back."""
    ImportedArticle.objects.update_or_create(
        series=series, source_key=draft.source_key,
        defaults={
            "part": part, "source_kind": draft.source_kind, "source_url": draft.source_url[:1000],
            "source_file": draft.source_file[:500], "content_hash": content_hash,
            "original_title": draft.original_title, "author": draft.author[:200],
            "categories": draft.categories, "tags": draft.tags,
            "wp_post_type": draft.wp_post_type, "wp_status": draft.wp_status,
            "wp_password_protected": draft.wp_password_protected,
            "source_published_at": draft.published_at, "offer": offer,
        },
    )


def _should_publish(draft: ArticleDraft, options: ImportOptions) -> bool:
    if options.drafts_only:
        return False
    if draft.source_kind == "wxr":
        return draft.publish
    return options.publish_pages


def _part_number(series: SeriesPage, draft: ArticleDraft) -> int:
    """The number the text states for itself; else the one after the part it points back at;
    else the next free number. A stated number that is taken falls back to the next free one."""
    taken = set(PartPage.objects.filter(series=series).values_list("part_number", flat=True))
    follows = draft.follows_part_number
    for candidate, why in ((draft.declared_part_number, "the text says so"),
                           (follows + 1 if follows else None, f"it follows part {follows}")):
        if candidate and candidate not in taken:
            draft.kept.append(f"part number {candidate} ({why})")
            return candidate
        if candidate:
            draft.notes.append(f"part {candidate} is taken in this series; next free number used")
    return next_part_number(series.pk)


class _nullcontext:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
