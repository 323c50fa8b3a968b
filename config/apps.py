"""The project's plumbing as an app, so its management commands (up, health) are found."""

from django.apps import AppConfig


class ConfigConfig(AppConfig):
    name = "config"
    verbose_name = "Partwork configuration"
