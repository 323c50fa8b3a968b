"""The log redaction (config/redaction.py) knows every route that carries a secret in its path:
a new route with a token or secret parameter fails here until the pattern covers it."""

import logging
import sys

from django.urls import URLPattern, URLResolver, get_resolver

from config.redaction import REDACTED, RedactSecrets, redact

SECRET_PARAMETERS = {"token", "secret"}
VALUE = "SeCrEt.value:1xZ2LC:abc-DEF_123"


def _routes(patterns, prefix=""):
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield route, set(pattern.pattern.converters)


def test_every_route_with_a_secret_in_its_path_is_redacted():
    covered = []
    for route, parameters in _routes(get_resolver().url_patterns):
        secret = parameters & SECRET_PARAMETERS
        if not secret:
            continue
        path = "/" + route.replace("^", "").replace("$", "")
        for name in parameters:
            path = path.replace(f"<{name}>", VALUE).replace(f"<str:{name}>", VALUE)
        assert VALUE not in redact(f"GET {path} HTTP/1.1"), route
        covered.append(route)
    assert len(covered) >= 4, covered  # the webhook and the three kinds of link


def test_the_filter_redacts_message_arguments_extras_and_tracebacks():
    record = logging.LogRecord("django.request", logging.WARNING, __file__, 1,
                               "Bad Request: %s", (f"/hooks/mailchimp/{VALUE}/",), None)
    record.request = f"<WSGIRequest: POST '/api/subscribers/unsubscribe/{VALUE}'>"
    try:
        raise ValueError(f"/api/subscribers/preferences/{VALUE}")
    except ValueError:
        record.exc_info = sys.exc_info()
    assert RedactSecrets().filter(record)
    text = logging.Formatter().format(record) + record.request
    assert VALUE not in text and text.count(REDACTED) >= 3


def test_web_versions_and_previews_are_redacted_but_not_the_archive():
    token = "uBmNfiJs7Y6tQrDoKGDBas0-C1ULfnY2EDbF_1uU3n0"
    assert token not in redact(f"GET /email/{token}/ HTTP/1.1")
    assert VALUE not in redact(f"GET /api/preview/{VALUE} HTTP/1.1")
    assert redact("GET /email/series/moving-well/ HTTP/1.1") == (
        "GET /email/series/moving-well/ HTTP/1.1")
