"""The Celery app, configured from Django settings (the CELERY_ namespace in cms/settings).

Two queues: ``publishing`` for the sweep and publishing work, ``mail`` for anything that talks to
Mailchimp or SMTP, so the mail worker's concurrency can stay within Mailchimp's connection limit.
"""

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cms.settings.dev")

app = Celery("partwork")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = (Queue("publishing"), Queue("mail"))
app.conf.task_routes = {"workers.tasks.mail.*": {"queue": "mail"}}
app.autodiscover_tasks(["workers"], related_name="tasks", force=True)

import workers.observability  # noqa: E402,F401  (signal handlers: log ids, task metrics)
