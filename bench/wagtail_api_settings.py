"""The production settings with the benchmark's urlconf, which adds Wagtail's stock API v2."""

from config.settings.production import *  # noqa: F403

ROOT_URLCONF = "bench.wagtail_api_urls"
