from django.apps import AppConfig


class CmsConfig(AppConfig):
    name = "cms"
    verbose_name = "Partwork content"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from cms import receivers  # noqa: F401  (connects the receivers)
