"""The pipeline's signals, turned into queued tasks once the sending transaction commits.

Services know nothing of Celery: they send the signals their app declares in ``signals.py``, and
this module (the layer above) queues the work. A message lost here only delays the work: the
sweeps find it again.
"""

from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone

from pipeline.audience.services.account import mailchimp_configured
from pipeline.campaigns.signals import campaign_due
from pipeline.catchup.signals import welcome_due
from pipeline.publishing.signals import announcement_created, revision_due_soon
from pipeline.subscribers.signals import (
    confirmation_requested,
    import_requested,
    personal_data_erasing,
    preferences_changed,
)
from workers.tasks.audience import erase_mailchimp_members, push_member_interests
from workers.tasks.campaigns import hand_over_announcement, send_campaign
from workers.tasks.catchup import send_welcome
from workers.tasks.publishing import publish_on_time
from workers.tasks.subscribers import run_subscriber_import, send_confirmation

# Short countdowns only (DESIGN.md: no ETA longer than a few minutes on Redis); later sends are
# found by the campaigns sweep when they fall due.
MAX_COUNTDOWN_SECONDS = 120


@receiver(announcement_created, dispatch_uid="partwork-queue-announcement-hand-over")
def _queue_hand_over(announcement_id: int, **kwargs):
    transaction.on_commit(lambda: hand_over_announcement.delay(announcement_id), robust=True)


@receiver(revision_due_soon, dispatch_uid="partwork-queue-on-time-publish")
def _queue_on_time_publish(revision_id: int, go_live_at, **kwargs):
    # arming only asks within PUBLISHING_ON_TIME_HORIZON, so the ETA stays short.
    transaction.on_commit(
        lambda: publish_on_time.apply_async((revision_id,), eta=go_live_at), robust=True
    )


@receiver(campaign_due, dispatch_uid="partwork-queue-campaign-send")
def _queue_send(campaign_id: int, send_at=None, **kwargs):
    wait = (send_at - timezone.now()).total_seconds() if send_at else 0
    if wait > MAX_COUNTDOWN_SECONDS:
        return  # the sweep queues it when due
    countdown = max(0.0, wait)
    transaction.on_commit(
        lambda: send_campaign.apply_async((campaign_id,), countdown=countdown or None),
        robust=True,
    )


@receiver(confirmation_requested, dispatch_uid="partwork-queue-confirmation-email")
def _queue_confirmation(consent_id: int, **kwargs):
    # Robust: a broker outage costs the request nothing; the confirmations sweep sends it later.
    transaction.on_commit(lambda: send_confirmation.delay(consent_id), robust=True)


@receiver(welcome_due, dispatch_uid="partwork-queue-welcome-email")
def _queue_welcome(delivery_id: int, **kwargs):
    # Robust: the catch-up step's sweep sends a welcome whose message was lost.
    transaction.on_commit(lambda: send_welcome.delay(delivery_id), robust=True)


@receiver(preferences_changed, dispatch_uid="partwork-queue-member-interests")
def _queue_member_interests(subscriber_id: int, **kwargs):
    if mailchimp_configured():
        transaction.on_commit(lambda: push_member_interests.delay(subscriber_id), robust=True)


@receiver(import_requested, dispatch_uid="partwork-queue-subscriber-import")
def _queue_import(import_id: int, **kwargs):
    # A lost message: the imports sweep finds the job queued without a heartbeat.
    transaction.on_commit(lambda: run_subscriber_import.delay(import_id), robust=True)


@receiver(personal_data_erasing, dispatch_uid="partwork-queue-mailchimp-erasure")
def _queue_erasure(**kwargs):
    # The MailchimpErasure row is the truth (written in the same transaction); beat retries it.
    transaction.on_commit(lambda: erase_mailchimp_members.delay(), robust=True)
