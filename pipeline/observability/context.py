"""Ids that every log line carries: the request, the Celery task, the part and the campaign.

Code binds what it is working on (``with bound(part_id=7): ...``); ``ContextFilter`` copies the
current values onto each log record, so text and JSON logs both show them without every caller
repeating them.
"""

import contextlib
import contextvars
import functools
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


def binds(argument: str, **ids: str):
    """Decorate a service so its log lines carry ids read from one keyword argument, e.g.
    ``@binds("campaign", campaign_id="pk", part_id="part_id")``. Empty ids leave the outer
    values as they are."""

    def decorate(function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            subject = kwargs.get(argument)
            values = {name: getattr(subject, attribute, None) for name, attribute in ids.items()}
            with bound(**{name: value for name, value in values.items() if value is not None}):
                return function(*args, **kwargs)

        return wrapper

    return decorate


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
