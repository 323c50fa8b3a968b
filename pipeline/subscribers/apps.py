"""The mailing list: subscribers, consent, tokens, rate limits, the subscriber API."""

from django.apps import AppConfig


class SubscribersConfig(AppConfig):
    name = "pipeline.subscribers"
    label = "subscribers"
    verbose_name = "Subscribers"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from pipeline.subscribers import receivers  # noqa: F401  (connects the receivers)
