"""Ids that every log line carries: the request, the Celery task, the part and the campaign.

Code binds what it is working on (``with bound(part_id=7): ...``); ``ContextFilter`` copies the
current values onto each log record, so text and JSON logs both show them without every caller
repeating them.
"""

import contextlib
import contextvars
import logging

FIELDS = ("request_id", "task_id", "part_id", "campaign_id")
_values: dict[str, contextvars.ContextVar] = {
    name: contextvars.ContextVar(name, default=None) for name in FIELDS
}


@contextlib.contextmanager
def bound(**ids):
    tokens = [(_values[name], _values[name].set(value)) for name, value in ids.items()]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def bind(**ids) -> None:
    """Set ids for the rest of the current context (a request, a task)."""
    for name, value in ids.items():
        _values[name].set(value)


def clear() -> None:
    for var in _values.values():
        var.set(None)


def current() -> dict:
    return {name: var.get() for name, var in _values.items()}


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for name, var in _values.items():
            if not hasattr(record, name):
                setattr(record, name, var.get())
        return True
