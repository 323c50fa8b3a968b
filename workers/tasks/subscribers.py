"""Subscriber tasks: the double opt-in email (``mail`` queue: it talks to SMTP or the provider)
and the sweep that finds confirmations a lost message or a crash left unsent (``publishing``
queue: database only)."""

import random

from celery import shared_task

from pipeline.subscribers.imports import subscriber_import_run, subscriber_imports_stalled
from pipeline.subscribers.services import (
    ConfirmationDeferred,
    subscriber_confirmation_send,
    subscriber_confirmations_due,
)


# Retries follow the service's backoff (5 s doubling to 300 s), a little later at random so an
# outage's backlog does not come back at once; after the last retry the sweep keeps trying until
# the service gives the email up (a day).
@shared_task(bind=True, queue_name="mail", soft_time_limit=60, time_limit=90, max_retries=12)
def send_confirmation(self, consent_id: int) -> str:
    try:
        return subscriber_confirmation_send(consent_id=consent_id)
    except ConfirmationDeferred as deferred:
        countdown = deferred.retry_in * random.uniform(1.0, 1.25)  # never before it is due
        raise self.retry(exc=deferred, countdown=countdown) from deferred


@shared_task(queue_name="publishing", soft_time_limit=60, time_limit=90)
def sweep_confirmations() -> int:
    due = subscriber_confirmations_due()
    for consent_id in due:
        send_confirmation.delay(consent_id)
    return len(due)


# Long: a 1,000,000-row file takes minutes. Below the broker's visibility timeout (3600 s); a
# killed task leaves its resume point, and the sweep queues it again.
@shared_task(queue_name="publishing", soft_time_limit=1800, time_limit=1860)
def run_subscriber_import(import_id: int) -> str:
    return subscriber_import_run(import_id=import_id)


@shared_task(queue_name="publishing", soft_time_limit=60, time_limit=90)
def sweep_subscriber_imports() -> int:
    stalled = subscriber_imports_stalled()
    for import_id in stalled:
        run_subscriber_import.delay(import_id)
    return len(stalled)
