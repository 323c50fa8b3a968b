import contextlib
import sys

from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cms.models import SeriesPage
from pipeline.subscribers.csv_io import export_lines
from pipeline.subscribers.models import Subscriber, SubscriberStatus


class Command(BaseCommand):
    help = ("Export subscribers as CSV (email, name, status, series, dates), streaming: flat "
            "memory at any size. Cells that a spreadsheet would run as a formula are escaped.")

    def add_arguments(self, parser):
        parser.add_argument("--output", "-o", default="-", help="file to write (default: stdout)")
        parser.add_argument("--status", action="append", choices=SubscriberStatus.values,
                            help="only these statuses (repeatable)")
        parser.add_argument("--series", action="append", metavar="SLUG",
                            help="only followers of this series (repeatable)")
        parser.add_argument("--chunk-size", type=int, default=2000)
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **options):
        queryset = Subscriber.objects.all()
        if options["status"]:
            queryset = queryset.filter(status__in=options["status"])
        if options["series"]:
            found = list(SeriesPage.objects.filter(slug__in=options["series"]).values_list(
                "pk", flat=True))
            if len(found) != len(set(options["series"])):
                raise CommandError("Unknown series among: " + ", ".join(options["series"]))
            queryset = queryset.filter(pk__in=Subscriber.series.through.objects.filter(
                seriespage_id__in=found).values("subscriber_id"))
        with contextlib.ExitStack() as stack:
            out = sys.stdout if options["output"] == "-" else stack.enter_context(
                open(options["output"], "w", encoding="utf-8", newline=""))
            self._write(queryset, out, options)

    def _write(self, queryset, out, options):
        console = Console(stderr=True, force_terminal=False)
        progress = Progress(TextColumn("[bold]export"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), console=console,
                            disable=options["no_progress"])
        task = progress.add_task("export", total=queryset.filter(erased_at__isnull=True).count())
        with progress:
            for text in export_lines(queryset, chunk_size=options["chunk_size"],
                                     on_rows=lambda n: progress.advance(task, n)):
                out.write(text)
