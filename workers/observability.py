"""Celery signal handlers: every log line of a task carries its ids; tasks are counted and timed."""

import time

from celery import signals

from pipeline.observability import context
from pipeline.observability.metrics import TASK_LATENCY, TASKS

_started: dict[str, float] = {}


@signals.task_prerun.connect
def _task_started(task_id=None, task=None, kwargs=None, **_):
    context.clear()
    kwargs = kwargs or {}
    context.bind(
        task_id=task_id, part_id=kwargs.get("part_id"), campaign_id=kwargs.get("campaign_id")
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
