"""Public pages of campaigns: a sent campaign's web version and a series' email archive.

Both are open to anyone (the web version's address is its secret: a random token, never the
id). Their answers are not cached (a discount's code disappears when its offer ends), are kept
out of search engines, and send no Referer (the token would leak to the sites they link)."""

from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from cms.selectors import series_by_slug
from pipeline.campaigns.services.web_version import (
    campaign_by_web_token,
    series_archive,
    web_version_page,
)

# The copy is our own markup: inline styles and images, no scripts, no forms, no frames.
_CSP = ("default-src 'none'; img-src * data:; style-src 'unsafe-inline'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def _public(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "no-referrer"
    response["Content-Security-Policy"] = _CSP
    return response


@require_safe
def web_version(request, token: str):
    campaign = campaign_by_web_token(token)
    if campaign is None:
        raise Http404("No such email.")
    page = web_version_page(campaign=campaign, now=timezone.now())
    return _public(HttpResponse(page.html, content_type="text/html; charset=utf-8"))


@require_safe
def series_email_archive(request, slug: str):
    series = series_by_slug(slug)
    if series is None:
        raise Http404("No published series with that slug.")
    context = {"series": series, "entries": series_archive(series=series),
               "site_name": settings.WAGTAIL_SITE_NAME}
    return _public(render(request, "campaigns/public/archive.html", context))
