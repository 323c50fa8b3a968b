"""Property-based bad input over the whole public API, from its own OpenAPI document.

Schemathesis generates requests (valid and invalid paths, parameters and headers) and checks every
answer: no 5xx, the status code documented, the body valid against the declared schema.
"""

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings

from cms.demo import load_demo

schema = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application())

CASES_PER_OPERATION = 150


@pytest.fixture
def demo_content(db):
    load_demo()


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=CASES_PER_OPERATION,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_never_fails_and_keeps_to_its_schema(case, demo_content):
    case.call_and_validate()
