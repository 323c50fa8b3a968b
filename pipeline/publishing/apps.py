"""Parts going live: the sweep, release cadences, announcement intents."""

from django.apps import AppConfig


class PublishingConfig(AppConfig):
    name = "pipeline.publishing"
    label = "publishing"
    verbose_name = "Publishing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from pipeline.publishing import receivers  # noqa: F401  (connects the receivers)
