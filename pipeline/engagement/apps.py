"""What readers did with a campaign: clicks on its links (per campaign, off by default) and,
only where the operator turned it on, opens."""

from django.apps import AppConfig


class EngagementConfig(AppConfig):
    name = "pipeline.engagement"
    label = "engagement"
    verbose_name = "Engagement"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from pipeline.engagement import receivers  # noqa: F401  (connects the receivers)
