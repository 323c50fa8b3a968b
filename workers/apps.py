from django.apps import AppConfig


class WorkersConfig(AppConfig):
    """Loads the Celery app and the tasks in every process (web included), so tasks queued
    from the web go to the configured broker and task receivers are connected."""

    name = "workers"
    verbose_name = "Partwork workers"

    def ready(self):
        import workers.celery_app  # noqa: F401
        import workers.receivers  # noqa: F401
        import workers.tasks  # noqa: F401
