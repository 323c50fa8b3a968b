"""Conditional GET for cached API responses: ETag, Last-Modified, 304, honest Cache-Control."""

from django.http import HttpResponse, HttpResponseNotModified
from django.utils import timezone
from django.utils.http import http_date, parse_http_date_safe

from cms.content_cache import CachedResponse

MAX_AGE = 1  # seconds: a shared cache may hold an answer this long, never past an offer's end


def conditional_response(request, entry: CachedResponse) -> HttpResponse:
    now = timezone.now()
    if _not_modified(request, entry):
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(entry.body, status=entry.status, content_type="application/json")
    response["ETag"] = entry.etag
    if entry.last_modified:
        response["Last-Modified"] = http_date(entry.last_modified.timestamp())
    max_age = MAX_AGE
    if entry.valid_until is not None:
        max_age = min(max_age, int((entry.valid_until - now).total_seconds()))
    response["Cache-Control"] = f"public, max-age={max(max_age, 0)}, must-revalidate"
    return response


def _not_modified(request, entry: CachedResponse) -> bool:
    if request.method not in ("GET", "HEAD"):
        return False
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or entry.etag in tags
    since = parse_http_date_safe(request.headers.get("If-Modified-Since", ""))
    if since is not None and entry.last_modified is not None:
        return int(entry.last_modified.timestamp()) <= since
    return False
