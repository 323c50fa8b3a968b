"""Our list in the Mailchimp audience: the sync and the list webhooks."""

from django.apps import AppConfig


class AudienceConfig(AppConfig):
    name = "pipeline.audience"
    label = "audience"
    verbose_name = "Mailchimp audience"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from pipeline.audience import receivers  # noqa: F401  (connects the receivers)
