"""Importing and exporting a subscriber list as CSV: ours (streaming, batched bulk writes, flat
memory) against the stock way, measured side by side in one run.

    uv run python bench/subscriber_csv.py [--count 100000] [--stock-slice 20000]

- import, ours: ``pipeline.subscribers.csv_io.import_csv`` (what ``manage.py import_subscribers``
  and the admin's worker run): the file read as a stream, 2,000 rows a batch, each planned with
  two queries and written with bulk_create (subscribers, consent rows, series).
- import, stock: a loop over ``csv.DictReader`` with one ``update_or_create`` per row, its consent
  row and its series (the Django tutorial way). It runs on the first ``--stock-slice`` rows and
  is scaled linearly to ``--count`` (the output says so): at a few ms a row, a million rows would
  take hours.
- export, ours: ``csv_io.export_lines`` over the whole list (``iterator(chunk_size=2000)``, a
  server-side cursor, series read per chunk).
- export, stock: ``csv.writer`` over ``list(queryset.prefetch_related("series"))``, on the whole
  list.

Each side runs in its own process; peak memory is that process's maximum resident set
(os.wait4), Django included, shown beside the resident set before the work began. PostgreSQL
when DATABASE_URL names it (a scratch database ``<name>_bench_csv`` created and dropped here),
else SQLite in a temporary directory.
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._roles import django_setup, rss_mb, run_role  # noqa: E402

SERIES = ("moving-well", "eating-well", "sleeping-well")




def role_prepare(_: str) -> dict:
    django_setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from tests.support.factories import make_series

    for slug in SERIES:
        make_series(title=slug.replace("-", " ").title(), slug=slug)
    return {}


def role_import_ours(path: str) -> dict:
    django_setup()
    from pipeline.subscribers.csv_io import auto_mapping, import_csv, read_headers

    before = rss_mb()
    started = time.perf_counter()
    with open(path, "rb") as binary:
        mapping = auto_mapping(read_headers(binary))
        binary.seek(0)
        report = import_csv(binary, mapping=mapping, label="bench.csv")
    return {"seconds": time.perf_counter() - started, "rows": report.rows,
            "created": report.counts["created"], "errors": report.error_count,
            "rss_before_mb": before}


def role_import_stock(path_and_limit: str) -> dict:
    django_setup()
    from django.utils import timezone
    from django.utils.dateparse import parse_date

    from cms.models import SeriesPage
    from pipeline.subscribers.email_address import normalize_email
    from pipeline.subscribers.models import ConsentKind, ConsentRecord, Subscriber

    path, limit = path_and_limit.rsplit(":", 1)
    series = {s.slug: s for s in SeriesPage.objects.all()}
    before = rss_mb()
    started = time.perf_counter()
    rows = 0
    with open(path, encoding="utf-8", newline="") as text:
        for row in csv.DictReader(text):
            if rows >= int(limit):
                break
            rows += 1
            subscriber, _ = Subscriber.objects.update_or_create(
                email=normalize_email(row["email"]),
                defaults={"name": row["name"], "status": "subscribed"})
            ConsentRecord.objects.create(
                subscriber=subscriber, kind=ConsentKind.CONFIRMED, source="import",
                basis=row["consent_basis"], form_id=row["source"],
                recorded_at=timezone.make_aware(
                    timezone.datetime.combine(parse_date(row["consent_date"]),
                                              timezone.datetime.min.time())))
            subscriber.series.add(*(series[s] for s in row["series"].split() if s))
    return {"seconds": time.perf_counter() - started, "rows": rows, "rss_before_mb": before}


def role_reset(_: str) -> dict:
    django_setup()
    from django.db import connection

    from pipeline.subscribers.models import ConsentRecord, Subscriber

    with connection.cursor() as cursor:
        tables = [ConsentRecord._meta.db_table, Subscriber.series.through._meta.db_table,
                  Subscriber._meta.db_table]
        if connection.vendor == "postgresql":
            cursor.execute("TRUNCATE " + ", ".join(tables) + " CASCADE")
        else:
            for table in tables:
                cursor.execute(f"DELETE FROM {table}")
    return {}


def role_export_ours(path: str) -> dict:
    django_setup()
    from pipeline.subscribers.csv_io import export_lines
    from pipeline.subscribers.models import Subscriber

    before = rss_mb()
    started = time.perf_counter()
    lines = 0
    with open(path, "w", encoding="utf-8", newline="") as out:
        for text in export_lines(Subscriber.objects.all()):
            out.write(text)
            lines += text.count("\n")
    return {"seconds": time.perf_counter() - started, "rows": lines - 1,
            "rss_before_mb": before}


def role_export_stock(path: str) -> dict:
    django_setup()
    from pipeline.subscribers.models import Subscriber

    before = rss_mb()
    started = time.perf_counter()
    subscribers = list(Subscriber.objects.order_by("pk").prefetch_related("series"))
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["email", "name", "status", "series", "created_at", "confirmed_at"])
        for s in subscribers:
            writer.writerow([s.email, s.name, s.status, " ".join(p.slug for p in s.series.all()),
                             s.created_at.isoformat(),
                             s.confirmed_at.isoformat() if s.confirmed_at else ""])
    return {"seconds": time.perf_counter() - started, "rows": len(subscribers),
            "rss_before_mb": before}


ROLES = {"prepare": role_prepare, "import_ours": role_import_ours,
         "import_stock": role_import_stock, "reset": role_reset,
         "export_ours": role_export_ours, "export_stock": role_export_stock}



def write_csv(path: Path, count: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["email", "name", "series", "consent_basis", "consent_date", "source"])
        for n in range(count):
            writer.writerow([f"Reader{n:07d}@Example.com", f"Reader {n}",
                             " ".join(SERIES[: 1 + n % 3]), "consent", "2024-05-31",
                             "bench fair"])


def scratch_database() -> tuple[str, list[str], str] | None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        return None
    parsed = urlparse(url)
    name = parsed.path.lstrip("/") + "_bench_csv"
    connect = ["-h", parsed.hostname or "127.0.0.1", "-p", str(parsed.port or 5432),
               "-U", parsed.username or "postgres"]
    return name, connect, url.rsplit("/", 1)[0] + "/" + name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--stock-slice", type=int, default=20_000)
    parser.add_argument("--role", nargs=2, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.role:
        print(json.dumps(ROLES[options.role[0]](options.role[1])))
        return

    scratch = scratch_database()
    with tempfile.TemporaryDirectory(prefix="partwork-bench-csv-") as directory:
        folder = Path(directory)
        if scratch:
            name, connect, url = scratch
            subprocess.run(["dropdb", "--if-exists", "--force", *connect, name], check=True)
            subprocess.run(["createdb", *connect, name], check=True)
        else:
            url = f"sqlite:///{folder}/bench.sqlite3"
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.dev",
               "DATABASE_URL": url, "LOG_LEVEL": "WARNING"}
        try:
            run_role("prepare", "-", env)
            source = folder / "list.csv"
            started = time.perf_counter()
            write_csv(source, options.count)
            size = source.stat().st_size
            print(f"{options.count:,} rows, {size / 1e6:.0f} MB of CSV written in "
                  f"{time.perf_counter() - started:.1f} s; database "
                  f"{'PostgreSQL' if scratch else 'SQLite'}", flush=True)
            stock_slice = min(options.stock_slice, options.count)
            stock_in, stock_in_rss = run_role("import_stock", f"{source}:{stock_slice}", env)
            print(f"stock import: {stock_in['rows']:,} rows in {stock_in['seconds']:.1f} s",
                  flush=True)
            run_role("reset", "-", env)
            ours_in, ours_in_rss = run_role("import_ours", str(source), env)
            print(f"our import: {ours_in['rows']:,} rows in {ours_in['seconds']:.1f} s",
                  flush=True)
            ours_out, ours_out_rss = run_role("export_ours", str(folder / "ours.csv"), env)
            print(f"our export: {ours_out['rows']:,} rows in {ours_out['seconds']:.1f} s",
                  flush=True)
            stock_out, stock_out_rss = run_role("export_stock", str(folder / "stock.csv"), env)
        finally:
            if scratch:
                subprocess.run(["dropdb", "--if-exists", "--force", *connect, name],
                               check=False)

    scale = options.count / stock_in["rows"]
    rows = [
        ("import: rows", f"{stock_in['rows']:,} (x{scale:g} → {options.count:,})",
         f"{ours_in['rows']:,} ({ours_in['created']:,} created, {ours_in['errors']} errors)"),
        ("import: wall time", f"{stock_in['seconds'] * scale:,.1f} s (measured "
         f"{stock_in['seconds']:.1f} s)", f"{ours_in['seconds']:,.1f} s"),
        ("import: rows/s", f"{stock_in['rows'] / stock_in['seconds']:,.0f}",
         f"{ours_in['rows'] / ours_in['seconds']:,.0f}"),
        ("import: peak RSS", f"{stock_in_rss:.0f} MB (before {stock_in['rss_before_mb']:.0f})",
         f"{ours_in_rss:.0f} MB (before {ours_in['rss_before_mb']:.0f})"),
        ("export: rows", f"{stock_out['rows']:,}", f"{ours_out['rows']:,}"),
        ("export: wall time", f"{stock_out['seconds']:,.1f} s", f"{ours_out['seconds']:,.1f} s"),
        ("export: peak RSS", f"{stock_out_rss:.0f} MB (before "
         f"{stock_out['rss_before_mb']:.0f})",
         f"{ours_out_rss:.0f} MB (before {ours_out['rss_before_mb']:.0f})"),
    ]
    header = ("", "stock (update_or_create per row / list(queryset))", "ours (streaming, bulk)")
    width = [max(len(r[i]) for r in rows + [header]) for i in range(3)]
    print()
    print("  ".join(h.ljust(w) for h, w in zip(header, width, strict=True)))
    print("  ".join("-" * w for w in width))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, width, strict=True)))
    print()
    print(f"stock import measured on the first {stock_in['rows']:,} rows and scaled linearly "
          f"(x{scale:g}); everything else measured on all {options.count:,}.")


if __name__ == "__main__":
    main()
