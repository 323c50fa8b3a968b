"""The Celery side of workers/django_tasks_backend.py: run one django-tasks task by its path."""

from celery import shared_task
from django.utils.module_loading import import_string
from django_tasks.base import Task


@shared_task(queue_name="chores", soft_time_limit=300, time_limit=330)
def run_django_task(module_path: str, args: list, kwargs: dict) -> None:
    """Run a task Wagtail (or any app) queued through django-tasks. Only a django-tasks Task
    runs: a message naming any other callable is refused."""
    task = import_string(module_path)
    if not isinstance(task, Task):
        raise TypeError(f"{module_path} is not a django-tasks task")
    task.call(*args, **kwargs)
