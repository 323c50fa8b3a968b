"""What the audience app does when a subscriber's data is asked for or erased."""

from django.dispatch import receiver

from pipeline.audience.models import MailchimpWebhookEvent
from pipeline.audience.services.erasures import erasure_record
from pipeline.subscribers.signals import personal_data_erasing, personal_data_requested


@receiver(personal_data_requested, dispatch_uid="partwork-audience-personal-data")
def _export(sender, subscriber, **kwargs):
    events = MailchimpWebhookEvent.objects.filter(subscriber=subscriber).order_by("fired_at")
    return {"mailchimp_webhook_events": [
        {"type": e.event_type, "fired_at": e.fired_at.isoformat(), "email": e.email,
         "new_email": e.new_email, "outcome": e.outcome} for e in events]}


@receiver(personal_data_erasing, dispatch_uid="partwork-audience-erase")
def _erase(sender, subscriber, email, **kwargs):
    # The webhook events keep their type, time and outcome; the addresses and body go.
    MailchimpWebhookEvent.objects.filter(subscriber=subscriber).update(
        email="", new_email="", payload={})
    MailchimpWebhookEvent.objects.filter(email=email).update(email="", payload={})
    MailchimpWebhookEvent.objects.filter(new_email=email).update(new_email="", payload={})
    erasure_record(subscriber_id=subscriber.pk, email=email)
