"""import_series: import scraped pages and WordPress exports into a series."""

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from pipeline.importing.services import (
    ImportFileError,
    ImportOptions,
    file_plan,
    series_for_import,
    series_import_plans,
)
from pipeline.importing.services.fetching import DEFAULT_MAX_BYTES, FetchPolicy
from pipeline.importing.services.report import ImportReport, parts_label

ROLL_UP = 4  # a kind of note with this many different details is shown on one line


class Command(BaseCommand):
    help = (
        "Import plain text or HTML pages and WordPress WXR exports into a series. Parts are "
        "saved as drafts (WordPress posts keep their published state); re-running updates what "
        "was imported before."
    )

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", type=Path)
        parser.add_argument("--series", required=True, help="Slug of the target series")
        parser.add_argument("--create-series", metavar="TITLE",
                            help="Create the series with this title if the slug is new")
        parser.add_argument("--dry-run", action="store_true",
                            help="Do everything, report it, then roll it all back")
        parser.add_argument("--publish", action="store_true",
                            help="Publish imported text/HTML pages (default: drafts)")
        parser.add_argument("--drafts-only", action="store_true",
                            help="Publish nothing, not even posts published in WordPress")
        parser.add_argument("--media-dir", type=Path,
                            help="Folder holding image files (WordPress uploads) to attach")
        parser.add_argument("--max-mb", type=float, default=20.0,
                            help="Refuse files larger than this (default 20 MB)")
        parser.add_argument("--fetch-images", action="store_true",
                            help="Download the images the articles use from the site (only "
                                 "its own hosts, never a private address; see the README)")
        parser.add_argument("--allow-host", action="append", default=[], metavar="HOST",
                            help="Also fetch images from this host (*.example.com for its "
                                 "subdomains); repeatable")
        parser.add_argument("--image-max-mb", type=float,
                            default=DEFAULT_MAX_BYTES / 1024 / 1024,
                            help="Refuse fetched images larger than this (default 10 MB)")
        parser.add_argument("--verbose-report", action="store_true",
                            help="List every kept block, not just the summary")
        parser.add_argument("--json", action="store_true",
                            help="Write the whole report as JSON on standard output, instead of "
                                 "the tables (the progress bar goes to standard error)")

    def handle(self, *args, **options):
        console = Console(file=sys.stderr if options["json"] else self.stdout,
                          force_terminal=False, width=120)
        try:
            series = series_for_import(slug=options["series"],
                                       create_title=options["create_series"], say=console.print)
        except ImportFileError as error:
            raise CommandError(str(error)) from None
        import_options = ImportOptions(
            dry_run=options["dry_run"], publish_pages=options["publish"],
            drafts_only=options["drafts_only"], media_dir=options["media_dir"],
            max_bytes=int(options["max_mb"] * 1024 * 1024),
            image_fetch=FetchPolicy(
                allowed_hosts=frozenset(options["allow_host"]),
                max_bytes=int(options["image_max_mb"] * 1024 * 1024),
            ) if options["fetch_images"] else None,
        )
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      console=console, transient=True) as progress:
            reading = progress.add_task("Reading files", total=len(options["files"]))
            plans = []
            for path in options["files"]:
                plans.append(file_plan(path=path, max_bytes=import_options.max_bytes))
                progress.advance(reading)
            saving = progress.add_task("Importing articles",
                                       total=sum(len(plan.drafts) for plan in plans))
            report = series_import_plans(
                series=series, plans=plans, options=import_options,
                on_article=lambda article: progress.advance(saving),
            )
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False, indent=2,
                                         default=str))
        else:
            print_report(console, report, verbose=options["verbose_report"])
        if report.failed_files:
            raise CommandError(
                f"{len(report.failed_files)} file(s) had errors (see above); everything else "
                "was imported"
            )


def print_report(console: Console, report: ImportReport, *, verbose: bool) -> None:
    """The files and articles tables, the dropped site chrome and the notes, identical ones
    once with how often and for which parts (and a kind of note with many different details,
    such as placeholders for 40 different images, on one line unless verbose), then a
    one-line summary."""
    heading = "DRY RUN (nothing saved): " if report.dry_run else ""
    console.print(f"{heading}import into “{report.series_title}”")
    files = Table("file", "kind", "result", "detail", title="Files")
    for file in report.files:
        if file.error:
            files.add_row(file.path, file.kind or "?", "ERROR", file.error)
        else:
            failed = [a for a in file.articles if a.status == "error"]
            detail = f"{len(file.articles)} article(s)" + (f", {len(failed)} failed" if failed
                                                           else "")
            if file.encoding and file.encoding != "utf-8":
                detail += f"; decoded as {file.encoding}"
            files.add_row(file.path, file.kind, "ok" if not failed else "PARTIAL", detail)
    console.print(files)

    articles = Table("part", "status", "state", "title", "blocks", title="Articles")
    for article in report.articles:
        blocks = ", ".join(f"{n} {kind}" for kind, n in sorted(article.block_counts.items()))
        state = "live" if article.live else "draft"
        if article.post_type:
            state += f" ({article.post_type}, {article.wp_status})"
        articles.add_row(str(article.part_number or "-"), article.status.upper()
                         if article.status == "error" else article.status, state,
                         article.title[:60], article.error or blocks)
    console.print(articles)

    dropped = Table("dropped text", "why", "parts", title="Dropped as site chrome")
    for group in report.dropped_groups():
        dropped.add_row(group.text[:80], group.reason, group.parts_label)
    if dropped.row_count:
        console.print(dropped)
    for file in report.files:
        for note in file.notes:
            console.print(f"note ({Path(file.path).name}): {note}")
    for kind in report.note_kinds():
        if len(kind.groups) >= ROLL_UP and not verbose:
            example = kind.groups[0].text.partition(": ")[2]
            console.print(f"note ({_where(kind.count, kind.parts)}): {kind.kind}: "
                          f"{len(kind.groups)} different, e.g. {example} (--verbose-report or "
                          "--json lists them all)", soft_wrap=True)
            continue
        for group in kind.groups:
            console.print(f"note ({_where(group.count, group.parts)}): {group.text}",
                          soft_wrap=True)
    if verbose:
        for article in report.articles:
            for line in article.kept:
                console.print(f"kept (part {article.label}): {line}")
    console.print(report.summary(), soft_wrap=True)


def _where(count: int, parts: list[str]) -> str:
    where = ("part " if len(parts) == 1 else "parts ") + parts_label(parts)
    return f"{count}×, {where}" if count > 1 else where
