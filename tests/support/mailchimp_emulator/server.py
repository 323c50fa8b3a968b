"""The emulator's HTTP server: auth, the per-key connection limit, latency, faults, control API.

A ThreadingHTTPServer gives one thread per connection, so requests really overlap and the limit
of 10 in flight per API key means what it means at Mailchimp.
"""

import base64
import collections
import hashlib
import hmac
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import batches as _batches  # noqa: F401  (registers the /batches routes)
from . import routes
from .batches import BatchRunner
from .faults import FAULT_KINDS, FaultRule, Faults
from .problems import Problem
from .state import AccountState, subscriber_hash

DEFAULT_API_KEY = "0123456789abcdef0123456789abcdef-us1"
API_PREFIX = "/3.0"
CONTROL_PREFIX = "/_emulator"


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
        self.httpd = _Server((host, port), _Handler)
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


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 256
    allow_reuse_address = True
    emulator: Emulator


class _DropConnection(Exception):
    """Leave without answering: the client sees the connection close."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mailchimp-emulator"
    sys_version = ""

    def log_message(self, format, *args):  # noqa: A002  (quiet: tests read the stats instead)
        return

    @property
    def emulator(self) -> Emulator:
        return self.server.emulator

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def do_PUT(self):
        self._handle("PUT")

    def do_PATCH(self):
        self._handle("PATCH")

    def do_DELETE(self):
        self._handle("DELETE")

    # -- plumbing ----------------------------------------------------------------------------
    def _handle(self, method: str) -> None:
        parsed = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(parsed.path)
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(parsed.query).items()}
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            if path.startswith(CONTROL_PREFIX + "/"):
                self._control(method, path.removeprefix(CONTROL_PREFIX), query, raw)
            elif path == API_PREFIX or path.startswith(API_PREFIX + "/"):
                self._api(method, path, query, raw)
            else:
                raise Problem(404, "Resource Not Found",
                              "The requested resource could not be found.")
        except Problem as problem:
            self._answer(problem.status, problem.body(), problem=True)
        except (_DropConnection, BrokenPipeError, ConnectionResetError):
            # Also a client that went away (killed) before reading its answer: not our bug.
            self.close_connection = True
        except Exception as error:  # an emulator bug: answer 500 and keep it for the fixture
            self.emulator.internal_errors.append(f"{method} {path}: {error!r}")
            self._answer(500, Problem(500, "Internal Server Error", repr(error)).body(),
                         problem=True)

    def _api(self, method: str, path: str, query: dict, raw: bytes) -> None:
        emulator = self.emulator
        wake = emulator._wake
        key = emulator.key_from(self.headers.get("Authorization"))
        if not emulator.enter(key):
            raise Problem(429, "Too Many Requests",
                          f"You have exceeded the limit of {emulator.max_in_flight} "
                          "simultaneous connections.")
        try:
            if emulator.latency_ms:
                wake.wait(emulator.latency_ms / 1000)
            fault = emulator.faults.match(method, path)
            if fault:
                self._before(fault, wake)
            if emulator.record_requests:
                with emulator._counters_lock:
                    emulator.recorded.append((method, path, raw))
            body = self._json_body(raw)
            api_path = path.removeprefix(API_PREFIX) or "/"
            try:
                _, _, template = routes.resolve(method, api_path)
                emulator.count_route(f"{method} {template}")
            except Problem:
                emulator.count_route(f"{method} (unknown)")
            status, payload = routes.dispatch(emulator.state, method, api_path, query, body)
            if fault and fault.kind == "answer-lost":
                if fault.hang_seconds:
                    wake.wait(fault.hang_seconds)
                raise _DropConnection()
            self._answer(status, payload, problem=status >= 400)
        finally:
            emulator.leave(key)

    def _before(self, fault: FaultRule, wake: threading.Event) -> None:
        """Faults that strike before the request is applied."""
        if fault.kind == "429":
            problem = Problem(429, "Too Many Requests",
                              "You have exceeded the limit of 10 simultaneous connections.")
            self._answer(429, problem.body(), problem=True, retry_after=fault.retry_after)
            raise _Answered()
        if fault.kind == "429-empty":
            self._answer(429, None, retry_after=fault.retry_after)
            raise _Answered()
        if fault.kind == "5xx":
            titles = {500: "Internal Server Error", 502: "Bad Gateway",
                      503: "Service Unavailable", 504: "Gateway Timeout"}
            if fault.empty_body:
                self._answer(fault.status, None)
            else:
                problem = Problem(fault.status, titles.get(fault.status, "Server Error"),
                                  "An unexpected internal error has occurred. Please contact "
                                  "Support for more information.")
                self._answer(fault.status, problem.body(), problem=True)
            raise _Answered()
        if fault.kind == "timeout":
            wake.wait(fault.hang_seconds)
            raise _DropConnection()
        if fault.kind == "delay":
            wake.wait(fault.delay_ms / 1000)

    @staticmethod
    def _json_body(raw: bytes) -> dict:
        text = raw.decode("utf-8", "replace").strip()
        if not text or text == "null":  # the client sends "null" for a body-less POST
            return {}
        try:
            body = json.loads(text)
        except json.JSONDecodeError:
            raise Problem(400, "JSON Parse Error",
                          "We encountered an unspecified JSON parsing error.") from None
        if not isinstance(body, dict):
            raise Problem(400, "JSON Parse Error", "The request body must be a JSON object.")
        return body

    def _answer(self, status: int, payload, *, problem: bool = False,
                retry_after: int | None = None, content_type: str | None = None) -> None:
        self.send_response(status)
        if retry_after is not None:
            self.send_header("Retry-After", str(retry_after))
        if status == 204 or payload is None:
            if status != 204:
                self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if isinstance(payload, bytes):
            data = payload
        else:
            data = json.dumps(payload).encode()
            content_type = "application/problem+json" if problem else "application/json"
            content_type += "; charset=utf-8"
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    # -- control API -------------------------------------------------------------------------
    def _control(self, method: str, path: str, query: dict, raw: bytes) -> None:
        emulator = self.emulator
        body = self._json_body(raw)
        if method == "GET" and path.startswith("/batch-results/"):
            batch_id = path.removeprefix("/batch-results/").removesuffix(".tar.gz")
            archive = emulator.runner.results(batch_id)
            if archive is None:
                raise Problem(404, "Resource Not Found", "No results for this batch.")
            self._answer(200, archive, content_type="application/x-gzip")
            return
        answer = self._control_answer(method, path, query, body)
        self._answer(200 if answer is not None else 204, answer)

    def _control_answer(self, method: str, path: str, query: dict, body: dict):
        emulator = self.emulator
        if (method, path) == ("GET", "/state"):
            return emulator.summary()
        if (method, path) == ("GET", "/sends"):
            return emulator.sends(campaign_id=query.get("campaign_id"), kind=query.get("kind"))
        if (method, path) == ("GET", "/stats"):
            return emulator.stats()
        if (method, path) == ("GET", "/faults"):
            return emulator.faults.rules()
        if (method, path) == ("POST", "/faults"):
            try:
                return emulator.faults.add(**body).to_json()
            except (TypeError, ValueError) as error:
                raise Problem(400, "Invalid Resource", str(error)) from None
        if (method, path) == ("DELETE", "/faults"):
            emulator.faults.clear()
            return None
        if (method, path) == ("POST", "/reset"):
            emulator.reset(list_id=body.get("list_id"))
            return None
        if (method, path) == ("GET", "/config"):
            return emulator.config()
        if (method, path) == ("POST", "/config"):
            return emulator.configure(**body)
        if (method, path) == ("POST", "/advance"):
            emulator.state.advance()
            return None
        if (method, path) == ("POST", "/batches/run"):
            return {"ran": emulator.runner.run_pending()}
        if (method, path) == ("POST", "/members"):
            return emulator.state.mark_member(
                body.get("list_id") or emulator.list_id, body.get("email", ""),
                status=body.get("status"), compliance=body.get("compliance"))
        if method == "POST" and path.startswith("/reports/"):
            return emulator.state.set_report(path.removeprefix("/reports/"), body)
        if (method, path) == ("POST", "/webhooks/fire"):
            return emulator.fire_webhook(body.get("list_id") or emulator.list_id,
                                         body.get("type", ""), body.get("data") or {},
                                         body.get("fired_at"), body.get("signing_key"),
                                         body.get("raw_body"))
        if (method, path) == ("GET", "/hash"):
            return {"hash": subscriber_hash(query.get("email", ""))}
        raise Problem(404, "Resource Not Found", f"No control route {method} {path}.")


class _Answered(_DropConnection):
    """The fault already wrote its answer; keep the connection closed afterwards."""
