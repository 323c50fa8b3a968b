"""Poll the bounce mailbox now (what beat does every BOUNCE_POLL_INTERVAL), e.g. to check the
IMAP settings: ``manage.py poll_bounces [--limit N]``."""

from django.core.management.base import BaseCommand, CommandError
from rich.console import Console

from pipeline.deliverability.services.mailbox import MailboxError, bounce_mailbox_poll


class Command(BaseCommand):
    help = "Read the bounce mailbox once: record bounces and complaints, move what was read."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=None,
                            help="Messages at most (default BOUNCE_POLL_BATCH).")

    def handle(self, *args, limit=None, **options):
        console = Console(file=self.stdout)
        try:
            with console.status("Reading the bounce mailbox..."):
                result = bounce_mailbox_poll(limit=limit)
        except MailboxError as error:
            raise CommandError(str(error)) from error
        if not result.configured:
            raise CommandError("The bounce mailbox is not configured: set BOUNCE_IMAP_HOST, "
                               "BOUNCE_IMAP_USER and BOUNCE_IMAP_PASSWORD.")
        console.print(f"{result.read} message(s) read: {result.events} event(s) recorded, "
                      f"{result.ignored} ignored (auto-replies, delay warnings), "
                      f"{result.unrecognised} unrecognised, {result.already_seen} seen before.")
