"""Where a block of code's SQL goes: every statement with the code that issued it.

A statement's origin is the innermost frame in Partwork's own code (cms/, pipeline/, workers/)
or in Wagtail, skipping the plumbing under them (Django, treebeard, modelcluster, the driver) and
our overrides where they call their parent class, so a foreign-key check Django runs for a Wagtail
save reads as Wagtail's save, and a check our model adds reads as ours. Used by
tests/publishing/test_publish_queries.py and bench/publish_latency.py.
"""

import re
import time
import traceback
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
OUR_PACKAGES = ("cms", "pipeline", "workers")


_TABLE = re.compile(r'^(SELECT .*? FROM|INSERT INTO|UPDATE|DELETE FROM) "?([\w.]+)"?', re.S)


@dataclass(frozen=True)
class Statement:
    sql: str
    origin: str  # "file.py:function", relative to the project or to wagtail/
    ours: bool
    seconds: float = 0.0

    @property
    def what(self) -> str:
        """The statement's kind and first table: 'SELECT wagtailcore_locale', 'SAVEPOINT'."""
        found = _TABLE.match(self.sql)
        if found:
            return f"{found.group(1).split()[0]} {found.group(2)}"
        return self.sql.split()[0] if self.sql else ""


@dataclass
class Statements:
    all: list[Statement] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.all)

    @property
    def ours(self) -> list[Statement]:
        return [statement for statement in self.all if statement.ours]

    def by_origin(self) -> Counter:
        """How many statements each (origin, what) pair issued."""
        return Counter((statement.origin, statement.what) for statement in self.all)

    @property
    def seconds(self) -> float:
        return sum(statement.seconds for statement in self.all)

    def from_origin(self, origin: str) -> list[Statement]:
        return [statement for statement in self.all if statement.origin == origin]


def _origin(frames) -> tuple[str, bool]:
    for frame in reversed(frames):
        path = Path(frame.filename)
        if "site-packages" in path.parts:
            after = path.parts[path.parts.index("site-packages") + 1:]
            if after and after[0] == "wagtail":
                return f"{'/'.join(after)}:{frame.name}", False
            continue
        try:
            relative = path.relative_to(ROOT)
        except ValueError:
            continue
        # An override of ours on the line where it hands over to its parent class (Wagtail's or
        # Django's) passes the statement through: it belongs to the code that called it.
        if relative.parts[0] in OUR_PACKAGES and "super()." not in (frame.line or ""):
            return f"{relative}:{frame.name}", True
    return "elsewhere", False


@contextmanager
def statements_issued(using=connection):
    """Record the SQL run inside the block, each statement with its origin."""
    recorded = Statements()

    def record(execute, sql, params, many, context):
        origin, ours = _origin(traceback.extract_stack()[:-1])
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            recorded.all.append(Statement(" ".join(sql.split()), origin, ours,
                                          time.perf_counter() - started))

    with using.execute_wrapper(record):
        yield recorded
