"""The reader's side of a series: catch-up on earlier parts, the welcome email, and the
preference page that links to both."""

from django.apps import AppConfig


class CatchupConfig(AppConfig):
    name = "pipeline.catchup"
    label = "catchup"
    verbose_name = "Catch-up and welcome"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from pipeline.catchup import receivers  # noqa: F401  (connects the receivers)
