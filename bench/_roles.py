"""Benchmarks whose sides run in processes of their own (so each side's peak memory is its own):
the script calls itself with ``--role NAME ARGUMENT``; the role sets Django up and prints a JSON
answer as its last line."""

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    import django  # a role's process only: the parent never sets Django up

    django.setup()


def rss_mb() -> float:
    """This process's peak resident memory so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_role(role: str, argument, env: dict) -> tuple[dict, float]:
    """Run one side of the running bench script in its own process; returns its JSON answer and
    its peak RSS in MB."""
    script = sys.modules["__main__"].__file__
    process = subprocess.Popen([sys.executable, script, "--role", role, str(argument)],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise SystemExit(f"{role} failed (status {status}): {output[-2000:]}")
    return json.loads(output.strip().splitlines()[-1]), usage.ru_maxrss / 1024
