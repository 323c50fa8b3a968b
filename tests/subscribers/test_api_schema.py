"""Schemathesis over the subscriber endpoints of the shared OpenAPI document: no 500s, and every
answer (status, content type, body) is one the document declares. Schema-valid requests may be
refused (a random token is not a valid signed link), so that check is left out."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import positive_data_acceptance

schema = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application())


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Schemathesis calls the real WSGI handler, whose request signals close the database
    connection when it is not in autocommit, as the test's transaction keeps it; Django's test
    client disconnects them for the same reason. (A 404 runs Wagtail's redirect middleware,
    which reads the database.)"""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def _generous_limits(settings, series):
    settings.RATE_LIMITS = {
        **settings.RATE_LIMITS, "ip": (10**6, 60), "subscribe-ip": (10**6, 60),
        "subscribe-address": (10**6, 60), "link": (10**6, 60),
    }


@pytest.mark.django_db
@schema.include(path_regex="^/api/subscribers").parametrize()
@hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_subscriber_endpoints_keep_their_openapi_promises(case):
    case.call_and_validate(excluded_checks=[positive_data_acceptance])
