"""The emulator's HTTP side: auth, the per-key connection limit, latency, faults, control API.

A ThreadingHTTPServer gives one thread per connection, so requests really overlap and the limit
of 10 in flight per API key means what it means at Mailchimp. The Mailchimp routes are in
routes.py (and batches.py), the account in state.py, and the ``Emulator`` that owns this server
in server.py.
"""

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

from . import routes
from .faults import FaultRule
from .problems import Problem
from .records import subscriber_hash

if TYPE_CHECKING:
    from .server import Emulator

API_PREFIX = "/3.0"
CONTROL_PREFIX = "/_emulator"


class Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 256
    allow_reuse_address = True
    emulator: "Emulator"


class _DropConnection(Exception):
    """Leave without answering: the client sees the connection close."""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mailchimp-emulator"
    sys_version = ""

    def log_message(self, format, *args):  # noqa: A002  (quiet: tests read the stats instead)
        return

    @property
    def emulator(self) -> "Emulator":
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
