"""The one home of the public URL of a series or a part: every link Partwork makes for readers
(the API's ``url`` fields, feed entries, links in emails, web versions, the email archive) comes
from ``public_url``.

Partwork is headless: with ``FRONTEND_URL`` (``{series}`` and ``{part}``) and
``FRONTEND_SERIES_URL`` (``{series}``) set, links lead to the front end; unset, to Wagtail's own
server-rendered page under ``BASE_URL`` (the behaviour before these settings). Placeholders are
filled with the series' slug and the part's number, URL-quoted.
"""

from urllib.parse import quote

from django.conf import settings

PART_MODEL = "cms.PartPage"
SERIES_MODEL = "cms.SeriesPage"


def _fill(pattern: str, **values) -> str:
    for name, value in values.items():
        pattern = pattern.replace("{" + name + "}", quote(str(value), safe=""))
    return pattern


def wagtail_url(page) -> str:
    """Wagtail's own page for it, absolute under BASE_URL when its site has no root URL."""
    return page.get_full_url() or f"{settings.BASE_URL}{page.url_path}"


def front_end_url(page) -> str | None:
    """The front end's URL of a series or part, or None when no pattern is configured for it."""
    label = page._meta.label
    if label not in (PART_MODEL, SERIES_MODEL):
        page = page.specific  # a plain Page (e.g. a chooser's value)
        label = page._meta.label
    if label == PART_MODEL and settings.FRONTEND_URL:
        return _fill(settings.FRONTEND_URL, series=page.series.slug, part=page.part_number)
    if label == SERIES_MODEL and settings.FRONTEND_SERIES_URL:
        return _fill(settings.FRONTEND_SERIES_URL, series=page.slug)
    return None


def public_url(page) -> str:
    """Where a reader is sent for this series or part."""
    return front_end_url(page) or wagtail_url(page)
