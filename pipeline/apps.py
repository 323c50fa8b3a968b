from django.apps import AppConfig


class PipelineConfig(AppConfig):
    name = "pipeline"
    verbose_name = "Partwork pipeline"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from pipeline import campaign_signals, release_signals, signals  # noqa: F401
