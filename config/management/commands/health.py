"""The health checks from the command line, for container health checks and cron alerts."""

import json

from django.core.management.base import BaseCommand, CommandError

from config.health import run_checks


class Command(BaseCommand):
    help = "Run the health checks; exit 1 when any (or any named with --only) is failing."

    def add_arguments(self, parser):
        parser.add_argument("--only", action="append", default=[],
                            help="Check only these (repeatable): database, redis, sweep, ...")

    def handle(self, *args, only, **options):
        checks = [c for c in run_checks() if not only or c.name in only]
        for check in checks:
            state = "ok" if check.ok else "FAILING"
            self.stdout.write(f"{check.name}: {state} {check.detail} {json.dumps(check.figures)}")
        failing = [c.name for c in checks if not c.ok]
        if failing:
            raise CommandError("failing: " + ", ".join(failing))
