"""The project's plumbing as an app, so its management commands (up, health) are found."""

from django.apps import AppConfig


class ConfigConfig(AppConfig):
    name = "config"
    verbose_name = "Partwork configuration"

    def ready(self):
        import config.login_throttle  # noqa: F401  (counts failed logins: user_login_failed)
