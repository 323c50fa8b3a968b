"""Wagtail's background tasks run on our Celery workers, after the transaction that queued them.

Wagtail queues its own chores through django-tasks: the search index and the reference index
after every save, image focal points, file deletions, front-end cache purges. django-tasks'
default ImmediateBackend runs them on the spot, inside the caller's transaction, so every publish
carried its index updates (on a loaded machine about 80 of a publish's 435 ms; the search backend
also rewrites a normalisation column over the whole index table on each insert). This backend
queues each one on commit, as ``workers.tasks.django_tasks.run_django_task`` on the ``chores``
queue, which the publishing worker consumes beside ``publishing``.

No maintained Celery backend for django-tasks fits here (django-tasks-celery needs Django 6 and
Python 3.12), so this small one implements django-tasks' backend interface: enqueue only; results
are not kept (nothing of ours or Wagtail's reads them).
"""

from django.db import transaction
from django.utils import timezone
from django_tasks.backends.base import BaseTaskBackend
from django_tasks.base import Task, TaskResult, TaskResultStatus
from django_tasks.signals import task_enqueued
from django_tasks.utils import get_random_id, normalize_json

from workers.tasks.django_tasks import run_django_task


class CeleryBackend(BaseTaskBackend):
    # No deferred tasks: an ETA sits in a worker until due (DESIGN.md: none longer than minutes).
    supports_defer = False

    def enqueue(self, task: Task, args, kwargs) -> TaskResult:
        self.validate_task(task)
        result = TaskResult(
            task=task, id=get_random_id(), status=TaskResultStatus.READY,
            enqueued_at=timezone.now(), started_at=None, finished_at=None,
            last_attempted_at=None, args=normalize_json(list(args)),
            kwargs=normalize_json(dict(kwargs)), backend=self.alias, errors=[], worker_ids=[],
        )
        # On commit: the worker must see the rows the task is about. Robust: a broker outage
        # costs the save nothing (an index entry is refreshed by the next save or update_index).
        transaction.on_commit(
            lambda: run_django_task.delay(task.module_path, result.args, result.kwargs),
            robust=True,
        )
        task_enqueued.send(type(self), task_result=result)
        return result
