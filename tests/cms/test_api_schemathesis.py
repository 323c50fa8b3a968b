"""Property-based bad input over the whole public API, from its own OpenAPI document, against the
running app over real HTTP.

Schemathesis generates requests (valid and invalid paths, parameters and headers) and checks every
answer: no 5xx, the status code documented, the body valid against the declared schema. The data
includes private content (a view-restricted part and a restricted series): it never answers 200.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.generation.modes import GenerationMode
from wagtail.models import PageViewRestriction

from cms.demo import load_demo
from tests.support.factories import make_part, make_series

CASES_PER_OPERATION = 150

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def private_content(series) -> list[str]:
    """A password-protected part in the demo series and a login-only series with a part: the
    paths that must never answer 200."""
    secret = make_part(series, title="Members-only part")
    PageViewRestriction.objects.create(page=secret, restriction_type="password", password="pw")
    hidden = make_series(title="Members only", slug="members-only")
    make_part(hidden, title="Hidden part")
    PageViewRestriction.objects.create(page=hidden, restriction_type="login")
    return [f"/api/series/{series.slug}/parts/{secret.part_number}", "/api/series/members-only",
            "/api/series/members-only/parts/1", "/api/series/members-only/emails"]


def test_api_never_fails_and_keeps_to_its_schema(live_server, client):
    private_paths = private_content(load_demo())
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/openapi.json")
    # The content API (with the email archive and draft previews); the subscriber endpoints have
    # their own run in tests/subscribers.
    content = schema.include(path_regex="^/api/(series|offers|preview)")
    operations = [result.ok() for result in content.get_all_operations()]
    assert len(operations) == 6
    counted: dict[str, int] = {}

    def checker(operation):
        strategy = operation.as_strategy(GenerationMode.POSITIVE)
        if operation.path_parameters:
            strategy = strategy | operation.as_strategy(GenerationMode.NEGATIVE)

        @given(case=strategy)
        @settings(
            max_examples=CASES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case):
            counted[operation.label] = counted.get(operation.label, 0) + 1
            case.call_and_validate()

        return check

    for operation in operations:
        checker(operation)()

    print("schemathesis cases per operation:", counted, "total:", sum(counted.values()))
    for path in private_paths:
        assert client.get(path).status_code == 404, path
    assert "Members" not in client.get("/api/series").content.decode()
    with_parameters = [op.label for op in operations if op.path_parameters]
    assert all(counted[label] >= 100 for label in with_parameters), counted
