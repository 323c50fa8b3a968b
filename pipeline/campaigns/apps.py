"""Emails to the list: campaigns, their state machine, claims, the delivery ledger."""

from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "pipeline.campaigns"
    label = "campaigns"
    verbose_name = "Campaigns"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from pipeline.campaigns import receivers  # noqa: F401  (connects the receivers)
