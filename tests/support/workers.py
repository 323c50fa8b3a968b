"""What the web queues on commit, run here and now, as the workers would run it."""

import contextlib

from django.test import TestCase

from workers.celery_app import app as celery_app


@contextlib.contextmanager
def tasks_run_on_commit():
    """Inside the block, tasks queued on commit (and those tasks queue) run at the block's end in
    this process: Celery's eager mode, so no broker or worker is needed."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    try:
        with TestCase.captureOnCommitCallbacks(execute=True) as callbacks:
            yield callbacks
    finally:
        celery_app.conf.task_always_eager = previous
