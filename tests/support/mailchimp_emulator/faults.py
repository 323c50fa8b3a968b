"""Fault injection: rules matched on method + path regex, firing a number of times or at random."""

import random
import re
import threading
from dataclasses import asdict, dataclass, field

FAULT_KINDS = {
    "429": "429 with a problem+json body",
    "429-empty": "429 with an empty body (the client then returns a bare Response)",
    "5xx": "a server error (status, optionally with an empty body)",
    "timeout": "hang longer than the client's timeout, then drop the connection; nothing applied",
    "answer-lost": "apply the request (a send is recorded), then drop the connection unanswered",
    "delay": "extra latency before answering normally",
}


@dataclass
class FaultRule:
    kind: str
    path: str = ".*"  # regex searched in the full request path, e.g. r"/actions/send$"
    method: str = "*"
    count: int | None = None  # fire this many times, then stop; None: every time
    probability: float = 1.0
    status: int = 503  # for 5xx
    empty_body: bool = False  # for 5xx
    # How long timeout and answer-lost hang before dropping the connection; by default a
    # timeout hangs 30 s (past any sane client timeout) and a lost answer drops at once.
    hang_seconds: float | None = None
    delay_ms: int = 0  # for delay
    retry_after: int | None = None  # adds a Retry-After header to 429s
    id: int = 0
    fired: int = 0
    _pattern: re.Pattern | None = field(default=None, repr=False, compare=False)

    def __post_init__(self):
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {sorted(FAULT_KINDS)}")
        if self.kind == "5xx" and not 500 <= self.status <= 599:
            raise ValueError("a 5xx fault needs a status between 500 and 599")
        self.method = self.method.upper()
        if self.hang_seconds is None:
            self.hang_seconds = 30.0 if self.kind == "timeout" else 0.0
        self._pattern = re.compile(self.path)

    def to_json(self) -> dict:
        return {k: v for k, v in asdict(self).items() if not k.startswith("_")}


class Faults:
    """The active rules; the first matching rule with fires left wins."""

    def __init__(self, seed: int | None = None):
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._ids = 0
        self._random = random.Random(seed)

    def add(self, **spec) -> FaultRule:
        spec.pop("id", None)
        spec.pop("fired", None)
        rule = FaultRule(**spec)
        with self._lock:
            self._ids += 1
            rule.id = self._ids
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[dict]:
        with self._lock:
            return [rule.to_json() for rule in self._rules]

    def match(self, method: str, path: str) -> FaultRule | None:
        with self._lock:
            for rule in self._rules:
                if rule.method not in ("*", method) or not rule._pattern.search(path):
                    continue
                if rule.count is not None and rule.fired >= rule.count:
                    continue
                if rule.probability < 1.0 and self._random.random() >= rule.probability:
                    continue
                rule.fired += 1
                return rule
        return None
