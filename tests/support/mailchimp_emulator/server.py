"""The emulator: one Mailchimp account behind an HTTP server, and what tests read and set on it.

``Emulator`` owns the account state, the batch runner, the faults, the request counters and the
configuration, and fires list webhooks. Its HTTP side (auth, the per-key connection limit,
latency, faults, the control API) is in handler.py.
"""

import base64
import collections
import hashlib
import hmac
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from . import batches as _batches  # noqa: F401  (registers the /batches routes)
from .batches import BatchRunner
from .faults import FAULT_KINDS, FaultRule, Faults
from .handler import API_PREFIX, Handler, Server
from .problems import Problem
from .state import AccountState

DEFAULT_API_KEY = "0123456789abcdef0123456789abcdef-us1"


class Emulator:
    """One emulated Mailchimp account behind an HTTP server on 127.0.0.1."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0,
                 api_key: str = DEFAULT_API_KEY, latency_ms: float = 0,
                 max_in_flight: int = 10, list_id: str = "a1b2c3d4e5",
                 fault_seed: int | None = None):
        self.api_keys = {api_key}
        self.api_key = api_key
        self.latency_ms = latency_ms
        self.max_in_flight = max_in_flight
        self.state = AccountState(default_list_id=list_id)
        self.runner = BatchRunner(self.state)
        self.state.batch_runner = self.runner
        self.faults = Faults(seed=fault_seed)
        self.record_requests = False
        self._counters_lock = threading.Lock()
        self._reset_counters()
        self._wake = threading.Event()  # set to release hanging requests
        self.httpd = Server((host, port), Handler)
        self.httpd.emulator = self
        self.runner.base_url = self.base_url
        self._thread: threading.Thread | None = None

    def _reset_counters(self) -> None:
        with self._counters_lock:
            self.in_flight: collections.Counter = collections.Counter()
            self.peak_in_flight = 0
            self.requests_total = 0
            self.rejected_over_limit = 0
            self.by_route: collections.Counter = collections.Counter()
            self.internal_errors: list[str] = []
            self.recorded: list[tuple[str, str, bytes]] = []  # when record_requests is on

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def url(self) -> str:
        return self.base_url + API_PREFIX

    @property
    def list_id(self) -> str:
        return self.state.default_list_id

    def start(self) -> "Emulator":
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True,
                                        name="mailchimp-emulator")
        self._thread.start()
        return self

    def stop(self) -> None:
        self._wake.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def reset(self, *, list_id: str | None = None) -> None:
        """Forget everything: data, sends, faults, counters; wake any hanging request."""
        self.faults.clear()
        self._wake.set()
        self._wake = threading.Event()
        self.state.reset(default_list_id=list_id)
        self.runner.autorun = True
        self.record_requests = False
        self._reset_counters()

    # -- what tests read ---------------------------------------------------------------------
    def sends(self, *, campaign_id: str | None = None, kind: str | None = None) -> list[dict]:
        with self.state.lock:
            return [dict(s) for s in self.state.sends
                    if (campaign_id is None or s["campaign_id"] == campaign_id)
                    and (kind is None or s["kind"] == kind)]

    def add_fault(self, kind: str, path: str = ".*", **options) -> FaultRule:
        return self.faults.add(kind=kind, path=path, **options)

    def configure(self, **options) -> dict:
        for key, value in options.items():
            if key == "latency_ms":
                self.latency_ms = float(value)
            elif key == "max_in_flight":
                self.max_in_flight = int(value)
            elif key == "sending_seconds":
                self.state.sending_seconds = float(value)
            elif key == "batch_autorun":
                self.runner.autorun = bool(value)
            elif key == "verify_webhook_urls":
                self.state.verify_url = _verify_url if value else None
            elif key == "record_requests":
                self.record_requests = bool(value)
            elif key == "api_keys":
                self.api_keys = set(value)
            else:
                raise Problem(400, "Invalid Resource", f"Unknown emulator option {key!r}.")
        return self.config()

    def config(self) -> dict:
        return {"latency_ms": self.latency_ms, "max_in_flight": self.max_in_flight,
                "sending_seconds": self.state.sending_seconds,
                "batch_autorun": self.runner.autorun,
                "verify_webhook_urls": self.state.verify_url is not None,
                "fault_kinds": FAULT_KINDS}

    def stats(self) -> dict:
        with self._counters_lock:
            return {"requests_total": self.requests_total,
                    "rejected_over_limit": self.rejected_over_limit,
                    "in_flight": sum(self.in_flight.values()),
                    "peak_in_flight": self.peak_in_flight, "by_route": dict(self.by_route),
                    "internal_errors": list(self.internal_errors)}

    def summary(self) -> dict:
        with self.state.lock:
            self.state.advance()
            lists = {}
            for list_id, audience in self.state.lists.items():
                statuses = collections.Counter(m.visible_status
                                               for m in audience.members.values())
                lists[list_id] = {"members": len(audience.members),
                                  "by_status": dict(statuses),
                                  "forgotten": len(audience.forgotten),
                                  "segments": len(audience.segments),
                                  "webhooks": len(audience.webhooks)}
            return {"lists": lists,
                    "campaigns": {cid: c["status"] for cid, c in self.state.campaigns.items()},
                    "batches": {bid: b["status"] for bid, b in self.state.batches.items()},
                    "sends": len(self.state.sends), **self.stats()}

    def fire_webhook(self, list_id: str, event_type: str, data: dict,
                     fired_at: str | None = None, signing_key: str | None = None,
                     raw_body: str | None = None) -> list[dict]:
        """POST a Mailchimp-style form body (type, fired_at, data[...]) to every list webhook
        listening for the event. Mailchimp itself does not sign list webhooks; with
        ``signing_key`` an ``X-Mailchimp-Signature`` header carries base64(HMAC-SHA256(key,
        raw body)) for deployments that put a signing proxy in front. ``raw_body`` sends exactly
        that text instead (for malformed-body tests)."""
        with self.state.lock:
            hooks = [h for h in self.state.audience(list_id).webhooks.values()
                     if h["events"].get(event_type)]
        if raw_body is None:
            fields = [("type", event_type),
                      ("fired_at", fired_at or time.strftime("%Y-%m-%d %H:%M:%S",
                                                             time.gmtime()))]
            fields += _flatten("data", data)
            payload = urllib.parse.urlencode(fields).encode()
        else:
            payload = raw_body.encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded",
                   "User-Agent": "MailChimp"}
        if signing_key:
            digest = hmac.new(signing_key.encode(), payload, hashlib.sha256).digest()
            headers["X-Mailchimp-Signature"] = base64.b64encode(digest).decode()
        return [{"url": hook["url"], "status": _post(hook["url"], payload, headers)}
                for hook in hooks]

    # -- request plumbing used by the handler ------------------------------------------------
    def key_from(self, header: str | None) -> str | None:
        """The API key from Basic (any user, key as password) or Bearer auth."""
        if not header:
            raise Problem(401, "API Key Missing",
                          "Your request did not include an API key.")
        scheme, _, value = header.partition(" ")
        key = None
        if scheme.lower() == "basic":
            try:
                key = base64.b64decode(value).decode().partition(":")[2]
            except (ValueError, UnicodeDecodeError):
                key = None
        elif scheme.lower() in ("bearer", "apikey"):
            key = value.strip()
        if key not in self.api_keys:
            raise Problem(401, "API Key Invalid",
                          "Your API key may be invalid, or you've attempted to access the wrong "
                          "datacenter.")
        return key

    def enter(self, key: str) -> bool:
        with self._counters_lock:
            self.requests_total += 1
            if self.in_flight[key] >= self.max_in_flight:
                self.rejected_over_limit += 1
                return False
            self.in_flight[key] += 1
            self.peak_in_flight = max(self.peak_in_flight, sum(self.in_flight.values()))
            return True

    def leave(self, key: str) -> None:
        with self._counters_lock:
            self.in_flight[key] -= 1

    def count_route(self, label: str) -> None:
        with self._counters_lock:
            self.by_route[label] += 1


def _post(url: str, payload: bytes, headers: dict) -> int:
    request = urllib.request.Request(url, data=payload, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0  # unreachable


def _verify_url(url: str) -> bool:
    """Mailchimp checks a new webhook URL with a GET and wants a 200."""
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310
            return answer.status == 200
    except OSError:
        return False


def _flatten(prefix: str, value) -> list[tuple[str, str]]:
    if isinstance(value, dict):
        pairs = []
        for key, item in value.items():
            pairs += _flatten(f"{prefix}[{key}]", item)
        return pairs
    if isinstance(value, list):
        pairs = []
        for index, item in enumerate(value):
            pairs += _flatten(f"{prefix}[{index}]", item)
        return pairs
    return [(prefix, "" if value is None else str(value))]
