"""Pytest fixtures for the Mailchimp emulator; conftest files import them by name.

``mailchimp_emulator``: an in-process emulator (one server per test session, reset for each
test) with ``.url`` (ending in /3.0), ``.api_key``, ``.list_id``, ``.control`` (the HTTP control
API) and ``.emulator`` (the in-process object). ``mailchimp_emulator_process``: the same, run as a
separate ``python -m tests.support.mailchimp_emulator`` process on a free port (``.emulator`` is
None); tests using it should be marked slow.
"""

import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from .server import Emulator

REPO_ROOT = Path(__file__).resolve().parents[3]


class EmulatorControl:
    """The control API (/_emulator/...) over HTTP; works for in-process and subprocess servers."""

    def __init__(self, base_url: str, timeout: float = 10):
        self.base = base_url.rstrip("/") + "/_emulator"
        self.timeout = timeout

    def _call(self, method: str, path: str, **kwargs):
        answer = requests.request(method, self.base + path, timeout=self.timeout, **kwargs)
        answer.raise_for_status()
        return answer.json() if answer.content else None

    def reset(self, list_id: str | None = None) -> None:
        self._call("POST", "/reset", json={"list_id": list_id} if list_id else {})

    def add_fault(self, kind: str, path: str = ".*", **options) -> dict:
        return self._call("POST", "/faults", json={"kind": kind, "path": path, **options})

    def faults(self) -> list[dict]:
        return self._call("GET", "/faults")

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def sends(self, campaign_id: str | None = None, kind: str | None = None) -> list[dict]:
        params = {k: v for k, v in (("campaign_id", campaign_id), ("kind", kind)) if v}
        return self._call("GET", "/sends", params=params)

    def state(self) -> dict:
        return self._call("GET", "/state")

    def stats(self) -> dict:
        return self._call("GET", "/stats")

    def configure(self, **options) -> dict:
        return self._call("POST", "/config", json=options)

    def mark_member(self, email: str, *, list_id: str | None = None, status: str | None = None,
                    compliance: bool | None = None) -> dict:
        body = {"email": email, "list_id": list_id, "status": status, "compliance": compliance}
        return self._call("POST", "/members", json={k: v for k, v in body.items()
                                                    if v is not None})

    def set_report(self, campaign_id: str, **stats) -> dict:
        return self._call("POST", f"/reports/{campaign_id}", json=stats)

    def advance(self) -> None:
        self._call("POST", "/advance")

    def run_batches(self) -> int:
        return self._call("POST", "/batches/run")["ran"]

    def fire_webhook(self, event_type: str, data: dict, *, list_id: str | None = None,
                     fired_at: str | None = None, signing_key: str | None = None,
                     raw_body: str | None = None) -> list[dict]:
        """POST a list webhook to every registered URL; answers [{url, status}]."""
        return self._call("POST", "/webhooks/fire", json={
            "type": event_type, "data": data, "list_id": list_id, "fired_at": fired_at,
            "signing_key": signing_key, "raw_body": raw_body})


@dataclass
class RunningEmulator:
    url: str
    api_key: str
    list_id: str
    control: EmulatorControl
    emulator: Emulator | None = None

    @property
    def base_url(self) -> str:
        return self.url.removesuffix("/3.0")

    def settings(self) -> dict:
        """A settings.MAILCHIMP dict pointing at this emulator."""
        return {"API_KEY": self.api_key, "SERVER": "", "API_URL": self.url,
                "LIST_ID": self.list_id, "WEBHOOK_SECRET": None}


@pytest.fixture(scope="session")
def _mailchimp_emulator_server():
    emulator = Emulator().start()
    yield emulator
    emulator.stop()


@pytest.fixture
def mailchimp_emulator(_mailchimp_emulator_server):
    emulator = _mailchimp_emulator_server
    emulator.reset(list_id="a1b2c3d4e5")
    emulator.latency_ms = 0
    emulator.max_in_flight = 10
    yield RunningEmulator(url=emulator.url, api_key=emulator.api_key, list_id=emulator.list_id,
                          control=EmulatorControl(emulator.base_url), emulator=emulator)
    errors = list(emulator.internal_errors)
    emulator.reset(list_id="a1b2c3d4e5")
    assert not errors, f"the emulator failed internally: {errors}"


@pytest.fixture
def mailchimp_settings(mailchimp_emulator, settings):
    """settings.MAILCHIMP pointing at the in-process emulator; yields the running emulator."""
    settings.MAILCHIMP = mailchimp_emulator.settings()
    settings.EMAIL_PROVIDER = "mailchimp"
    return mailchimp_emulator


def start_emulator_process(*extra_args: str, deadline_seconds: float = 20):
    """Start the emulator as a process on a free port and wait for its address line."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.mailchimp_emulator", "--port", "0", *extra_args],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + deadline_seconds
    line = ""
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        match = re.search(r"listening on (\S+) list_id=(\S+) api_key=(\S+)", line)
        if match:
            # Keep draining its output so a chatty process never blocks on a full pipe.
            threading.Thread(target=process.stdout.read, daemon=True).start()
            url, list_id, api_key = match.groups()
            running = RunningEmulator(url=url, api_key=api_key, list_id=list_id,
                                      control=EmulatorControl(url.removesuffix("/3.0")))
            return process, running
        if process.poll() is not None:
            break
    process.kill()
    raise RuntimeError(f"the emulator process did not start: {line!r}")


@pytest.fixture
def mailchimp_emulator_process():
    process, running = start_emulator_process()
    try:
        yield running
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
