"""`manage.py up` on the embedded defaults (SQLite and the embedded Redis in a fresh DATA_DIR):
it serves the demo, and Ctrl-C (SIGINT to the terminal's process group) or SIGTERM (a
supervisor, to `up` alone) stops it cleanly, leaving no process behind, the embedded Redis
included. Any management command stops the embedded Redis it started, unless another process
still uses it (issue 13)."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.support.processes import ROOT, child_env, free_port, wait_until

pytestmark = pytest.mark.slow


def embedded_env(data_dir: Path) -> dict[str, str]:
    """What a new machine has: nothing configured, so SQLite and the embedded Redis."""
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE",
                        "PROMETHEUS_MULTIPROC_DIR"}}
    return {**env, "DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}


def processes() -> list[tuple[list[str], str]]:
    """Every live process: its /proc/PID/stat fields after the name, and its command line."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except (OSError, UnicodeDecodeError):
            continue
        if fields[0] != "Z":
            # Whole, never cut: the data directory comes after the checkout's (any length) path.
            found.append((fields, f"{stat.parent.name}: {cmdline}"))
    return found


def session_members(session_id: int) -> list[str]:
    """Live processes of a session (what `up` and its children were started in)."""
    return [line for fields, line in processes() if int(fields[3]) == session_id]


def embedded_redis(data_dir: Path) -> list[str]:
    """The redis-server processes serving this data directory (their title names its socket)."""
    return [line for _, line in processes() if "redis-server" in line and str(data_dir) in line]


def stop_embedded_redis(data_dir: Path) -> None:
    for line in embedded_redis(data_dir):
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(line.split(":", 1)[0]), signal.SIGKILL)


def manage(data_dir: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT,
                          env=embedded_env(data_dir), capture_output=True, text=True,
                          timeout=600, **kwargs)


@pytest.fixture(autouse=True)
def _no_redis_left_behind(tmp_path):
    """When an assertion fails, the Redis it was about is still killed: no orphan outlives us."""
    yield
    stop_embedded_redis(tmp_path)


def test_a_management_command_stops_the_embedded_redis_it_started(tmp_path):
    result = manage(tmp_path, "check")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "redis.log").exists(), "the command started the embedded Redis"
    assert embedded_redis(tmp_path) == [], "the embedded Redis outlived the command"


def test_the_embedded_redis_stays_while_another_process_uses_it(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "manage.py", "shell", "-c", "import sys; sys.stdin.read()"],
        cwd=ROOT, env=embedded_env(tmp_path), stdin=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: embedded_redis(tmp_path), timeout=60, what="the shell's Redis")
        assert manage(tmp_path, "check").returncode == 0
        assert embedded_redis(tmp_path), "a second command stopped the Redis the shell uses"
        holder.stdin.close()
        assert holder.wait(timeout=60) == 0
        wait_until(lambda: not embedded_redis(tmp_path), timeout=15,
                   what="the last user to stop Redis")
    finally:
        holder.kill()


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except OSError:
        return 0, ""


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """One DATA_DIR for both runs: the second `up` also shows a restart on existing data."""
    return tmp_path_factory.mktemp("up")


@pytest.mark.parametrize("stop", ["SIGINT to the process group", "SIGTERM to up"])
def test_up_serves_the_demo_and_stops_cleanly(data_dir, stop):
    port = free_port()
    log = open(data_dir / f"up-{port}.log", "w")  # noqa: SIM115
    up = subprocess.Popen(
        [sys.executable, "manage.py", "up", "--addr", f"127.0.0.1:{port}"], cwd=ROOT,
        env=embedded_env(data_dir), stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,  # a terminal's session and process group, as Ctrl-C sees it
    )
    base = f"http://127.0.0.1:{port}"
    try:
        series = wait_until(lambda: (a := _get(f"{base}/api/series"))[0] == 200 and a[1],
                            timeout=300, interval=1, what="up to serve /api/series")
        assert "strong-back" in [s["slug"] for s in json.loads(series)]
        assert _get(f"{base}/health/ready/")[0] == 200
        wait_until(lambda: _get(f"{base}/health/alerts/")[0] == 200, timeout=60, interval=1,
                   what="beat and the worker to run the sweep (alerts all clear)")
        assert len(embedded_redis(data_dir)) == 1
        assert len(session_members(up.pid)) >= 3  # up, web, worker (and its pool), beat

        if stop.startswith("SIGINT"):
            os.killpg(up.pid, signal.SIGINT)
        else:
            up.send_signal(signal.SIGTERM)
        assert up.wait(timeout=90) == 0, (data_dir / f"up-{port}.log").read_text()[-3000:]
        # up has exited; its children get a moment to be reaped, not a fixed sleep.
        wait_until(lambda: session_members(up.pid) == [], timeout=10, interval=0.1,
                   what="every process of up's session to end (no orphan)")
        wait_until(lambda: embedded_redis(data_dir) == [], timeout=10, interval=0.1,
                   what="the embedded Redis to stop with up")
        assert _get(f"{base}/api/series")[0] == 0
    finally:
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGKILL)
        log.close()


SAME_CTRL_C = """
import json, os, signal, subprocess, sys
import django
django.setup()
from config.management.commands.up import _wait_for_one_to_end

def children():
    beat = subprocess.Popen([sys.executable, "-c", "pass"])  # stops at once, exit code 0
    web = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    beat.wait()
    return {"beat": beat, "web": web}

seen = {}
running = children()
seen["beat stopped on its own"] = _wait_for_one_to_end(running)
running["web"].kill()
# Ctrl-C reached the whole group: beat stopped from it before up acted on its own SIGINT, which
# is still pending (blocked here, as a busy machine can leave it unhandled for a while).
running = children()
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
os.kill(os.getpid(), signal.SIGINT)
seen["beat stopped by the same Ctrl-C"] = _wait_for_one_to_end(running)
running["web"].kill()
print(json.dumps(seen))
"""


def test_a_child_stopped_by_the_same_ctrl_c_counts_as_the_asked_for_stop():
    """The race seen under load: `up` found beat stopped (exit 0) by the Ctrl-C sent to the
    process group before acting on its own SIGINT, and failed with "beat stopped on its own"."""
    result = subprocess.run([sys.executable, "-c", SAME_CTRL_C], cwd=ROOT, env=child_env(),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "beat stopped on its own": ["beat", 0],  # still a failure of up
        "beat stopped by the same Ctrl-C": None,  # the stop that was asked for
    }
