"""The Celery app, configured from Django settings (the CELERY_ namespace in config/settings).

Three queues: ``publishing`` for the sweep and publishing work, ``mail`` for anything that talks
to Mailchimp or SMTP, so the mail worker's concurrency can stay within Mailchimp's connection
limit, and ``chores`` for Wagtail's background chores (index updates), which the publishing worker
also consumes: its own queue, so a backlog of them after a big import takes turns with the sweep
and on-time publishes instead of queueing ahead of them.

The beat schedule lives here, in code. Run one beat; a second one by mistake is harmless (every
sweep is safe to run twice at once).
"""

import os

from celery import Celery
from django.conf import settings
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

app = Celery("partwork")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = (Queue("publishing"), Queue("mail"), Queue("chores"))


def route_to_named_queue(name, args, kwargs, options, task=None, **kw):
    """Each task names its queue in its own decorator (``queue_name=``); this router reads it.
    (Celery's own ``queue`` task attribute is deprecated in favour of routes.)"""
    queue = getattr(task, "queue_name", None)
    return {"queue": queue} if queue else None


app.conf.task_routes = (route_to_named_queue,)
app.conf.beat_schedule = {
    "publishing-sweep": {
        "task": "workers.tasks.publishing.sweep",
        "schedule": settings.PUBLISHING_SWEEP_INTERVAL,
        # A sweep nobody ran in time is dropped, not piled up: the next one finds the same work.
        "options": {"expires": settings.PUBLISHING_SWEEP_EXPIRES},
    },
    "campaigns-sweep": {
        "task": "workers.tasks.campaigns.sweep",
        "schedule": settings.CAMPAIGNS_SWEEP_INTERVAL,
        "options": {"expires": settings.CAMPAIGNS_SWEEP_INTERVAL * 5},
    },
    # Confirmation emails a lost message or a crashed worker left unsent (they are queued on
    # commit and retried with backoff; this only catches what fell through).
    # Catch-up for late joiners: readers due get their next earlier part (and welcome emails a
    # lost message left unsent are sent).
    "catchup-step": {
        "task": "workers.tasks.catchup.step",
        "schedule": settings.CATCHUP_STEP_INTERVAL,
        "options": {"expires": settings.CATCHUP_STEP_INTERVAL * 2},
    },
    "confirmations-sweep": {
        "task": "workers.tasks.subscribers.sweep_confirmations",
        "schedule": 30,
        "options": {"expires": 120},
    },
    # Permanent deletions at Mailchimp owed by erasures, retried with backoff until done.
    "mailchimp-erasures": {
        "task": "workers.tasks.audience.erase_mailchimp_members",
        "schedule": 60,
        "options": {"expires": 120},
    },
    # Subscriber imports whose worker died mid-file (they resume from their last batch).
    "subscriber-imports-sweep": {
        "task": "workers.tasks.subscribers.sweep_subscriber_imports",
        "schedule": 60,
        "options": {"expires": 120},
    },
    # Bounces and complaint reports in the bounce mailbox (does nothing until it is configured).
    "bounce-mailbox-poll": {
        "task": "workers.tasks.deliverability.poll_bounce_mailbox",
        "schedule": settings.BOUNCE_POLL_INTERVAL,
        "options": {"expires": settings.BOUNCE_POLL_INTERVAL},
    },
}
if settings.AUDIENCE_SYNC_INTERVAL:
    # The audience sync runs by itself: members changed since the last finished run.
    app.conf.beat_schedule["audience-sync"] = {
        "task": "workers.tasks.audience.sync_audience",
        "schedule": settings.AUDIENCE_SYNC_INTERVAL,
        "kwargs": {"full": False},
        "options": {"expires": settings.AUDIENCE_SYNC_INTERVAL},
    }
app.autodiscover_tasks(["workers"], related_name="tasks")

import workers.observability  # noqa: E402,F401  (signal handlers: log ids, task metrics)
