"""The app label ``pipeline`` now only carries the migration history of the days when one app
held every area. Its models moved, tables and rows untouched, to the area apps below it
(subscribers, audience, publishing, campaigns, importing); migration 0006 hands them over."""

from django.apps import AppConfig


class PipelineHistoryConfig(AppConfig):
    name = "pipeline"
    label = "pipeline"
    verbose_name = "Partwork pipeline (migration history)"
    default_auto_field = "django.db.models.BigAutoField"
