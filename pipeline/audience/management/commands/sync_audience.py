import time

from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from pipeline.audience.services.runs import AudienceSyncBusy, AudienceSyncInterrupted
from pipeline.audience.services.sync import DEFAULT_CONCURRENCY, MAX_CONCURRENCY, audience_sync


class Command(BaseCommand):
    help = ("Sync our subscribers into the Mailchimp audience (only changed members unless "
            "--full); resumes an interrupted run from its cursor.")

    def add_arguments(self, parser):
        parser.add_argument("--full", action="store_true",
                            help="send every member, changed or not")
        parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY,
                            help=f"batches in flight at once (1-{MAX_CONCURRENCY})")
        parser.add_argument("--outage-attempts", type=int, default=6,
                            help="rounds of waiting out a Mailchimp outage before stopping "
                                 "(the run resumes next time)")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **options):
        console = Console(file=self.stdout, force_terminal=False)
        progress = Progress(TextColumn("[bold]audience sync"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("sent {task.fields[sent]} errors {task.fields[errors]}"),
                            TimeElapsedColumn(), console=console,
                            disable=options["no_progress"])
        task = progress.add_task("sync", total=None, sent=0, errors=0)

        def on_event(event: dict) -> None:
            if event["event"] == "start":
                progress.update(task, total=event["total"])
            elif event["event"] == "scanned":
                progress.advance(task, event["rows"])
            elif event["event"] == "batch":
                progress.update(task, sent=event["sent"], errors=event["errors"])
                if options["no_progress"]:  # still show life in logs
                    self.stdout.write(f"batch {event['batch']} recorded, {event['sent']} sent",
                                      ending="\n")
                    self.stdout.flush()

        started = time.monotonic()
        try:
            with progress:
                summary = audience_sync(full=options["full"],
                                        concurrency=options["concurrency"],
                                        outage_attempts=options["outage_attempts"],
                                        progress=on_event)
        except AudienceSyncBusy as busy:
            raise CommandError(str(busy)) from busy
        except AudienceSyncInterrupted as error:
            raise CommandError(f"{error} — run the command again to resume") from error

        table = Table(title=f"audience sync run {summary.run_id}: {summary.state}")
        table.add_column("what")
        table.add_column("value", justify="right")
        rows = [("members sent", summary.members_sent), ("created", summary.members_created),
                ("updated", summary.members_updated), ("errors", summary.errors)]
        rows += [(f"  {kind}", count) for kind, count in sorted(summary.errors_by_kind.items())]
        rows += [("statuses taken from Mailchimp", summary.statuses_from_mailchimp),
                 ("batches", summary.batches), ("HTTP requests", summary.requests),
                 ("resumed", summary.resumed),
                 ("time", f"{time.monotonic() - started:.2f} s")]
        for name, value in rows:
            table.add_row(name, str(value))
        console.print(table)
