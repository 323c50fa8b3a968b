"""Run the whole of Partwork on this machine: migrate, demo content, worker, beat and web."""

import os
import signal
import subprocess
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Set up and run Partwork: migrations, demo content and admin login, a Celery worker "
        "(publishing and mail queues), beat, and the web server on 127.0.0.1:8000."
    )

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000")
        parser.add_argument("--no-demo", action="store_true", help="Skip the demo content.")
        parser.add_argument("--no-workers", action="store_true", help="Web server only.")

    def handle(self, *args, addr, no_demo, no_workers, **options):
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
        children = [] if no_workers else self._start_workers()
        signal.signal(signal.SIGTERM, _stop_on_sigterm)
        self.stdout.write(self.style.SUCCESS(f"API: http://{addr}/api/series  docs: http://{addr}/api/docs"))
        try:
            call_command("runserver", addr, use_reloader=False, use_threading=True)
        except KeyboardInterrupt:
            pass
        finally:
            for child in children:
                child.send_signal(signal.SIGTERM)
            for child in children:
                try:
                    child.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    child.kill()

    def _start_workers(self) -> list[subprocess.Popen]:
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": os.environ["DJANGO_SETTINGS_MODULE"]}
        celery = [sys.executable, "-m", "celery", "-A", "workers.celery_app"]
        schedule = settings.DATA_DIR / "celerybeat-schedule"
        commands = {
            "worker": celery + ["worker", "-Q", "publishing,mail", "--concurrency", "2",
                                "--loglevel", "INFO", "--hostname", "partwork@%h"],
            "beat": celery + ["beat", "--loglevel", "INFO", "--schedule", str(schedule)],
        }
        children = []
        for name, command in commands.items():
            children.append(subprocess.Popen(command, env=env, cwd=settings.BASE_DIR))
            self.stdout.write(f"Started {name} (pid {children[-1].pid})")
        return children


def _stop_on_sigterm(signum, frame):
    # Once is enough: a second SIGTERM (a supervisor repeating itself) must not cut the clean-up.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt  # stop runserver and the children the same way as Ctrl-C
