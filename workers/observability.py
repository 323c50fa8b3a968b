"""Celery signal handlers: every log line of a task carries its ids; tasks are counted and timed."""

import inspect
import time

from celery import signals

from pipeline.observability import context
from pipeline.observability.metrics import TASK_LATENCY, TASKS

_started: dict[str, float] = {}


def _call_arguments(task, args, kwargs) -> dict:
    """The task's arguments by name, whether it was called with them by position or keyword."""
    try:
        return inspect.signature(task.run).bind_partial(*(args or ()), **(kwargs or {})).arguments
    except (TypeError, ValueError):
        return dict(kwargs or {})


@signals.task_prerun.connect
def _task_started(task_id=None, task=None, args=None, kwargs=None, **_):
    context.clear()
    arguments = _call_arguments(task, args, kwargs)
    context.bind(
        task_id=task_id, part_id=arguments.get("part_id"),
        campaign_id=arguments.get("campaign_id"),
    )
    _started[task_id] = time.perf_counter()


@signals.task_postrun.connect
def _task_finished(task_id=None, task=None, state=None, **_):
    started = _started.pop(task_id, None)
    name = getattr(task, "name", "unknown")
    TASKS.labels(name, (state or "unknown").lower()).inc()
    if started is not None:
        TASK_LATENCY.labels(name).observe(time.perf_counter() - started)
    context.clear()
