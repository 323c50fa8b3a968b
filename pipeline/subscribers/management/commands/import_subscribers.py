import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from pipeline.subscribers.csv_io import (
    FIELDS,
    CsvImportError,
    auto_mapping,
    check_mapping,
    errors_csv,
    import_csv,
    read_headers,
    sniff_utf8,
)


class Command(BaseCommand):
    help = ("Import subscribers from a UTF-8 CSV file, streaming (flat memory at any size). "
            "Columns are recognised by name (email, name, series, consent_basis, consent_date, "
            "source) or mapped with --map FIELD=COLUMN. Rows with a consent basis and date are "
            "subscribed; others stay pending (with --send-confirmation they get the double "
            "opt-in email). Re-importing updates, never duplicates; unsubscribed and erased "
            "addresses are never re-added.")

    def add_arguments(self, parser):
        parser.add_argument("file", help="the CSV file (UTF-8)")
        parser.add_argument("--map", action="append", default=[], metavar="FIELD=COLUMN",
                            help=f"take FIELD ({', '.join(FIELDS)}) from COLUMN")
        parser.add_argument("--dry-run", action="store_true",
                            help="show what would happen; change nothing")
        parser.add_argument("--send-confirmation", action="store_true",
                            help="mail the double opt-in link to rows without proof of consent")
        parser.add_argument("--source", default="", help="source recorded where a row has none")
        parser.add_argument("--batch-size", type=int, default=2000)
        parser.add_argument("--errors", help="write the per-row problems to this CSV file")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **options):
        console = Console(file=self.stdout, force_terminal=False)
        path = options["file"]
        file = Path(path)
        if not file.is_file():
            raise CommandError(f"No such file: {path}")
        binary, size = file.open("rb"), file.stat().st_size
        try:
            sniff_utf8(binary)  # refuse a file that is not UTF-8 text before any row is written
            headers = read_headers(binary)
            binary.seek(0)
            mapping = auto_mapping(headers)
            for item in options["map"]:
                name, _, column = item.partition("=")
                if not column:
                    raise CommandError(f"--map takes FIELD=COLUMN, not {item!r}")
                mapping[name.strip()] = column.strip()
            problems = check_mapping(headers, mapping)
            if problems:
                raise CommandError(" ".join(problems) + f" The columns are: {', '.join(headers)}.")
            progress = Progress(TextColumn("[bold]import" + (" (dry run)" if options["dry_run"]
                                                             else "")),
                                BarColumn(), DownloadColumn(),
                                TextColumn("{task.fields[rows]} rows"),
                                TimeElapsedColumn(), console=console,
                                disable=options["no_progress"])
            task = progress.add_task("import", total=size, rows=0)
            started = time.monotonic()
            with progress:
                report = import_csv(
                    binary, mapping=mapping, label=Path(path).name, dry_run=options["dry_run"],
                    send_confirmation=options["send_confirmation"],
                    default_source=options["source"], batch_size=options["batch_size"],
                    on_batch=lambda r: progress.update(task, completed=binary.tell(),
                                                       rows=r.rows))
        except CsvImportError as error:
            raise CommandError(str(error)) from error
        finally:
            binary.close()
        seconds = time.monotonic() - started
        table = Table(title="import" + (" — dry run, nothing changed" if options["dry_run"]
                                        else ""))
        table.add_column("what")
        table.add_column("rows", justify="right")
        for name, value in report.summary().items():
            table.add_row(name.replace("_", " "), f"{value:,}")
        table.add_row("time", f"{seconds:.1f} s")
        console.print(table)
        if report.errors:
            if options["errors"]:
                with open(options["errors"], "w", encoding="utf-8", newline="") as out:
                    out.writelines(errors_csv(report.errors))
                console.print(f"per-row problems written to {options['errors']}")
            else:
                for line, email, message in report.errors[:20]:
                    console.print(f"line {line}: {email}: {message}", markup=False,
                                  highlight=False)
                if report.error_count > 20:
                    console.print(f"… {report.error_count - 20:,} more (use --errors FILE)")
