"""Run the whole of Partwork on this machine: migrate, demo content, web, worker and beat.

``up`` prepares the database, then supervises three processes: the web server, a Celery worker
(publishing and mail queues) and beat. Ctrl-C (SIGINT) or SIGTERM stops them all, each given
time to finish what it is doing; if one of them stops on its own, ``up`` stops the others and
exits with an error. Last, ``up`` lets go of the embedded Redis, which stops with it unless
another Partwork process (a shell, a second command) still uses it (config/embedded_redis.py).
The three share a fresh Prometheus directory under DATA_DIR, so /metrics adds up all of them.
"""

import os
import shutil
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from config.embedded_redis import release_embedded_redis

STOP_GRACE_SECONDS = 30
STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


class Command(BaseCommand):
    help = (
        "Set up and run Partwork: migrations, demo content and admin login, the web server on "
        "127.0.0.1:8000, a Celery worker (publishing and mail queues) and beat."
    )

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000")
        parser.add_argument("--no-demo", action="store_true", help="Skip the demo content.")
        parser.add_argument("--no-workers", action="store_true", help="Web server only.")

    def handle(self, *args, addr, no_demo, no_workers, **options):
        signal.signal(signal.SIGTERM, _stop_on_sigterm)
        children: dict[str, subprocess.Popen] = {}
        ended = None
        try:
            self._prepare(no_demo)
            children = self._start(addr, no_workers)
            self.stdout.write(self.style.SUCCESS(
                f"API: http://{addr}/api/series  docs: http://{addr}/api/docs  "
                "(Ctrl-C stops everything)"))
            ended = _wait_for_one_to_end(children)
            if ended is None:
                self.stdout.write("Stopping ...")
        except KeyboardInterrupt:
            self.stdout.write("Stopping ...")
        finally:
            # A second Ctrl-C or SIGTERM must not cut the clean-up short and leave orphans (one
            # still pending from _wait_for_one_to_end is dropped when unblocked, ignored).
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
            _stop(children)
            if release_embedded_redis():
                self.stdout.write("Embedded Redis stopped.")
        if ended:
            name, code = ended
            raise CommandError(f"{name} stopped on its own (exit code {code}); so did the rest")
        self.stdout.write("Stopped.")

    def _prepare(self, no_demo: bool) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("Database ready: " + str(settings.DATABASES["default"]["NAME"]))
        if not no_demo:
            call_command("load_demo", stdout=self.stdout)
        self.stdout.write(f"Redis: {settings.REDIS_URL}")
        if settings.EMAIL_BACKEND.endswith(".filebased.EmailBackend"):
            mail_to = settings.EMAIL_FILE_PATH
        else:
            mail_to = f"{settings.EMAIL_HOST}:{settings.EMAIL_PORT}"
        self.stdout.write(f"Email: {settings.EMAIL_BACKEND} ({mail_to})")

    def _start(self, addr: str, no_workers: bool) -> dict[str, subprocess.Popen]:
        metrics = settings.DATA_DIR / "metrics"  # created empty at start (multiprocess mode)
        shutil.rmtree(metrics, ignore_errors=True)
        metrics.mkdir(parents=True)
        env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics)}
        celery = [sys.executable, "-m", "celery", "-A", "workers.celery_app"]
        commands = {
            "web": [sys.executable, "manage.py", "runserver", addr, "--noreload"],
            "worker": celery + ["worker", "-Q", "publishing,chores,mail", "--concurrency", "2",
                                "--loglevel", "INFO", "--hostname", "partwork@%h"],
            "beat": celery + ["beat", "--loglevel", "INFO", "--schedule",
                              str(settings.DATA_DIR / "celerybeat-schedule")],
        }
        if no_workers:
            commands = {"web": commands["web"]}
        children = {}
        for name, command in commands.items():
            children[name] = subprocess.Popen(command, env=env, cwd=settings.BASE_DIR)
            self.stdout.write(f"Started {name} (pid {children[name].pid})")
        return children


def _wait_for_one_to_end(children: dict[str, subprocess.Popen]) -> tuple[str, int] | None:
    """The first child to stop on its own (its name and exit code), or None once up is asked to
    stop. Ctrl-C signals the whole process group: a child (beat) may stop from it before up has
    acted on its own copy. So up holds SIGINT and SIGTERM blocked here (its children, started
    already, do not inherit that) and a stop signal pending when a child's end is seen counts as
    the stop that was asked for, not as a crash."""
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    while True:
        for name, child in children.items():
            if child.poll() is not None:
                return None if STOP_SIGNALS & signal.sigpending() else (name, child.returncode)
        if signal.sigtimedwait(STOP_SIGNALS, 0.5) is not None:
            return None


def _stop(children: dict[str, subprocess.Popen]) -> None:
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for child in children.values():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _stop_on_sigterm(signum, frame):
    raise KeyboardInterrupt  # stop the children the same way as Ctrl-C
