"""The health checks from the command line, for container health checks and cron alerts.

``--ready`` runs the readiness checks only (database, Redis), with ``--worker NAME`` also asking
that Celery worker to answer a ping through the broker: what the compose health checks of the
workers and beat run. With neither, every check runs (readiness and the business checks), as
``/health/alerts/`` does, for cron-driven alerting.
"""

import json

from django.core.management.base import BaseCommand, CommandError

from config.health import Check, alert_checks, readiness_checks
from workers.celery_app import app


def check_worker(name: str, timeout: float = 10.0) -> Check:
    answers = app.control.ping(destination=[name], timeout=timeout)
    if any(name in answer for answer in answers):
        return Check(f"worker {name}", True)
    return Check(f"worker {name}", False, f"Celery worker {name} did not answer a ping in "
                 f"{timeout:.0f} s")


class Command(BaseCommand):
    help = ("Run the health checks; exit 1 when any is failing. --ready: readiness only (what "
            "probes use); default: readiness and the business checks (what alerts use).")

    def add_arguments(self, parser):
        parser.add_argument("--ready", action="store_true",
                            help="Only the readiness checks: database and Redis.")
        parser.add_argument("--worker", metavar="NAME",
                            help="Also ping this Celery worker (e.g. mail@$HOSTNAME).")
        parser.add_argument("--only", action="append", default=[],
                            help="Check only these (repeatable): database, redis, sweep, ...")

    def handle(self, *args, ready, worker, only, **options):
        checks = readiness_checks() if ready else alert_checks()
        if worker and all(check.ok for check in checks):
            checks.append(check_worker(worker))
        checks = [c for c in checks if not only or c.name in only]
        for check in checks:
            state = "ok" if check.ok else "FAILING"
            self.stdout.write(f"{check.name}: {state} {check.detail} {json.dumps(check.figures)}")
        failing = [c.name for c in checks if not c.ok]
        if failing:
            raise CommandError("failing: " + ", ".join(failing))
