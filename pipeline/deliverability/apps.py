"""Bounces and complaints: from the bounce mailbox (DSN, ARF) and from providers' webhooks (Amazon
SES through SNS, Postmark), recorded against the delivery they are about, and the rules they
trigger (clean, unsubscribe)."""

from django.apps import AppConfig


class DeliverabilityConfig(AppConfig):
    name = "pipeline.deliverability"
    label = "deliverability"
    verbose_name = "Bounces and complaints"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from pipeline.deliverability import receivers  # noqa: F401  (the campaign report)
