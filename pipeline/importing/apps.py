"""Scraped pages and WordPress exports into series."""

from django.apps import AppConfig


class ImportingConfig(AppConfig):
    name = "pipeline.importing"
    label = "importing"
    verbose_name = "Importing"
    default_auto_field = "django.db.models.BigAutoField"
