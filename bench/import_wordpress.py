"""Import WordPress's theme unit test export two ways, side by side, in one run:

- ours:  the importer (safe WXR parsing, Gutenberg/classic/shortcode mapping, images,
         citations, offers, metadata record, one transaction per article);
- stock: the naive way: lxml parse, each post's HTML flattened to text in one paragraph block,
         plain Wagtail page creation (save_revision, publish when published).

Articles per second (timed run, no tracing), peak Python memory (a second run under
tracemalloc) and word fidelity (the share of each post's words found in its part's body, every
block counted: tables, quotes, code and verse too; the worst post and all posts together),
everything rolled back afterwards. Without DATABASE_URL it runs on a throwaway SQLite database
and embedded Redis in a temporary folder.

    uv run python bench/import_wordpress.py [--export PATH] [--repeat N]
"""

import argparse
import html
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.importing import (  # noqa: E402
    WORDPRESS_EXPORT,
    body_words_source,
    export_items,
    word_fidelity,
)


class Rollback(Exception):
    pass


def setup_django() -> None:
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATA_DIR"] = tempfile.mkdtemp(prefix="partwork-bench-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    import logging

    import django

    django.setup()
    logging.getLogger("wagtail").setLevel(logging.WARNING)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def ours(series, export: Path) -> int:
    from pipeline.importing.services import series_import_files

    report = series_import_files(series=series, paths=[export])
    assert not report.failed_files, [f.error for f in report.failed_files]
    return len(report.articles)


def stock(series, export: Path) -> int:
    import lxml.html
    from lxml import etree

    from cms.models import PartPage

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    root = etree.parse(str(export), parser).getroot()
    wp = "{https://wordpress.org/export/1.2/}"
    count = 0
    for item in root.iter("item"):
        if item.findtext(f"{wp}post_type") not in {"post", "page"}:
            continue
        content = item.findtext("{http://purl.org/rss/1.0/modules/content/}encoded") or ""
        text = lxml.html.fromstring(f"<div>{content}</div>").text_content() if content else ""
        part = PartPage(
            title=(item.findtext("title") or "Untitled")[:255] or "Untitled",
            slug=f"stock-{item.findtext(f'{wp}post_id')}",
            body=[("paragraph", f"<p>{html.escape(' '.join(text.split()))}</p>")],
            live=False,
        )
        series.add_child(instance=part)
        revision = part.save_revision()
        if item.findtext(f"{wp}status") == "publish":
            revision.publish()
        count += 1
    return count


def ours_mapping_only(series, export: Path) -> int:
    """Reading, parsing and mapping to blocks, without saving: the importer's own cost."""
    from pipeline.importing.services import file_plan

    return len(file_plan(path=export).drafts)


def fidelity_of(approach, series, export: Path):
    """Word fidelity of what ``approach`` saved (None for the mapping-only run)."""
    from cms.models import PartPage
    from pipeline.importing.models import ImportedArticle

    if approach is ours:
        parts = {int(r.source_key.rsplit("#", 1)[1]): r.part for r in
                 ImportedArticle.objects.filter(series=series).select_related("part")}
    elif approach is stock:
        parts = {int(p.slug.removeprefix("stock-")): p
                 for p in PartPage.objects.child_of(series)}
    else:
        return None
    return word_fidelity(export_items(export), lambda post_id: body_words_source(
        parts[post_id].get_latest_revision_as_object().body))


def measure(approach, export: Path, *, traced: bool, fidelity: bool = False):
    from django.db import transaction

    from tests.support.factories import make_series

    result = {}
    try:
        with transaction.atomic():
            series = make_series(title=f"Bench {approach.__name__}",
                                 slug=f"bench-{approach.__name__}")
            if traced:
                tracemalloc.start()
            started = time.perf_counter()
            result["articles"] = approach(series, export)
            result["seconds"] = time.perf_counter() - started
            if traced:
                result["peak"] = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
            if fidelity:
                result["fidelity"] = fidelity_of(approach, series, export)
            raise Rollback
    except Rollback:
        pass
    return result["articles"], result["seconds"], result.get("peak", 0), result.get("fidelity")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--export", type=Path, default=WORDPRESS_EXPORT)
    parser.add_argument("--repeat", type=int, default=2, help="timed runs per approach")
    args = parser.parse_args()
    setup_django()
    rows = []
    for approach in (stock, ours, ours_mapping_only):
        measure(approach, args.export, traced=False)  # warm-up: imports, caches
        timings = [measure(approach, args.export, traced=False) for _ in range(args.repeat)]
        articles = timings[0][0]
        best = min(seconds for _, seconds, _, _ in timings)
        _, _, peak, fidelity = measure(approach, args.export, traced=True, fidelity=True)
        rows.append((approach.__name__, articles, best, articles / best, peak / 1_048_576,
                     fidelity))
    from django.db import connection

    print(f"\nWordPress export: {args.export.name} "
          f"({args.export.stat().st_size / 1024:.0f} KiB), database: {connection.vendor}, "
          f"best of {args.repeat}")
    print(f"{'approach':<18} {'articles':>9} {'seconds':>9} {'articles/s':>11} {'peak MiB':>9} "
          f"{'words: worst post':>18} {'all posts':>10}")
    for name, articles, seconds, rate, peak, fidelity in rows:
        words = (f"{fidelity.worst[0]:>17.2%} {fidelity.overall:>10.2%}" if fidelity
                 else f"{'-':>17} {'-':>10}")
        print(f"{name:<18} {articles:>9} {seconds:>9.2f} {rate:>11.1f} {peak:>9.1f} {words}")
    ratio = rows[1][3] / rows[0][3]
    print(f"\nours runs at {ratio:.2f}x the stock rate; ours_mapping_only is the importer's own "
          "work (read, parse, map), the rest is Wagtail saving pages and revisions.\nPeak memory "
          "is tracemalloc's (Python allocations only: lxml's C-level tree is not counted).\n"
          "Word fidelity counts every block (tables, quotes, code, verse); stock keeps the words "
          "but flattens each post into one paragraph.")


if __name__ == "__main__":
    main()
