"""Wagtail's chores through our django-tasks backend: queued on commit, run by a real worker.

A publish no longer updates the search index inside its transaction: with no worker the new
part is not yet found; a worker then runs the queued update and it is. A message naming anything
but a django-tasks task is refused by the worker's task.
"""

import pytest
from django.test import override_settings
from wagtail.models import ReferenceIndex

from cms.models import PartPage
from tests.support import processes as proc
from tests.support.factories import make_part, make_series
from workers.tasks.django_tasks import run_django_task

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
CELERY_TASKS = {"default": {"BACKEND": "workers.django_tasks_backend.CeleryBackend"}}


def found(title: str) -> list[int]:
    return [page.pk for page in PartPage.objects.live().search(title)]


@override_settings(TASKS=CELERY_TASKS)
def test_index_updates_leave_the_publish_and_run_on_a_worker(tmp_path):
    proc.purge_queues()
    series = make_series()
    part = make_part(series, title="Zygapophyseal joints explained")
    assert PartPage.objects.get(pk=part.pk).live
    assert found("Zygapophyseal") == []  # queued, not run inside the publish
    assert not ReferenceIndex.objects.filter(object_id=str(part.pk)).exists()

    worker = proc.celery_worker("worker", tmp_path)
    with proc.running(worker):
        proc.wait_until(lambda: found("Zygapophyseal") == [part.pk], timeout=60,
                        what="the worker to index the part")
        proc.wait_until(
            lambda: ReferenceIndex.objects.filter(object_id=str(part.pk)).exists(),
            timeout=60, what="the worker to update the reference index",
        )
    proc.purge_queues()


def test_a_message_naming_anything_but_a_task_is_refused():
    with pytest.raises(TypeError, match="not a django-tasks task"):
        run_django_task.apply(args=("os.getcwd", [], {}), throw=True)
