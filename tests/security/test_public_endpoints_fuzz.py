"""Issue 12: property-based bad input over every public endpoint, zero 5xx.

- Schemathesis over the whole /api/openapi.json (the content API and the subscriber API): valid
  and invalid requests from the document, every answer checked against it (status, content type,
  schema) and none a server error.
- Hypothesis over what a generated token cannot reach: valid subscriber links with arbitrary
  bodies, and the Mailchimp list webhook (not in the document: a form body, signed or not) with
  arbitrary field names, nesting, dates and bytes.
Each run prints its case count."""

import base64
import hashlib
import hmac
import json
import string
from urllib.parse import quote, urlencode

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis.checks import positive_data_acceptance
from schemathesis.generation.modes import GenerationMode

from cms.demo import load_demo
from pipeline.subscribers.services import (
    subscriber_email_headers,
    subscriber_preferences_url,
    subscriber_subscribe,
)
from pipeline.subscribers.tokens import confirm_url
from tests.support.subscribers import link_path, make_member

pytestmark = pytest.mark.django_db

CASES_PER_OPERATION = 120
SECRET = "fuzz-webhook-secret"
SIGNING_KEY = "fuzz-signing-key"
UNLIMITED = (10**6, 60)


def fuzz(max_examples: int) -> hypothesis_settings:
    return hypothesis_settings(max_examples=max_examples, deadline=None, database=None,
                               suppress_health_check=list(HealthCheck))


@pytest.fixture(autouse=True)
def _generous_limits_and_webhooks(settings):
    settings.RATE_LIMITS = {name: UNLIMITED for name in settings.RATE_LIMITS}
    settings.MAILCHIMP = {**settings.MAILCHIMP, "WEBHOOK_SECRET": SECRET,
                          "WEBHOOK_SIGNING_KEY": None}


@pytest.fixture
def wsgi_app():
    """The WSGI application, kept from closing the test's database connection after each
    request (as Django's test client does)."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    try:
        yield get_wsgi_application()
    finally:
        for signal in (request_started, request_finished):
            signal.connect(close_old_connections)


def test_the_whole_openapi_document_never_answers_5xx_and_keeps_its_promises(wsgi_app):
    load_demo()
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", wsgi_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 11  # 4 content, 7 subscriber operations
    counted: dict[str, int] = {}
    for operation in operations:
        strategy = (operation.as_strategy(GenerationMode.POSITIVE)
                    | operation.as_strategy(GenerationMode.NEGATIVE))

        @given(case=strategy)
        @fuzz(CASES_PER_OPERATION)
        def check(case):
            counted[case.operation.label] = counted.get(case.operation.label, 0) + 1
            # Random tokens are rarely valid links, so schema-valid requests may be refused.
            case.call_and_validate(excluded_checks=[positive_data_acceptance])

        check()
    print("schemathesis cases per operation:", counted, "total:", sum(counted.values()))
    # An operation without parameters or body has one request to make; every other gets many.
    with_input = [op.label for op in operations if op.path_parameters or op.body]
    assert all(counted[label] >= 50 for label in with_input), counted


anything = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=12,
)


def test_valid_links_never_answer_5xx_whatever_the_request(series):
    member = make_member("ann@example.com", series)
    consent = subscriber_subscribe(email="bob@example.com", series_slugs=["moving-well"],
                                   consent_text="I agree", form_id="fuzz").consent
    links = {
        "preferences": link_path(subscriber_preferences_url(member)),
        "unsubscribe": link_path(subscriber_email_headers(member)["List-Unsubscribe"][1:-1]),
        "confirm": link_path(confirm_url(subscriber_id=consent.subscriber_id,
                                         email="bob@example.com", consent_id=consent.pk)),
    }
    client = Client(raise_request_exception=False)
    count = 0

    @given(link=st.sampled_from(sorted(links)), method=st.sampled_from(["GET", "POST", "PUT"]),
           body=anything, raw=st.binary(max_size=200), as_json=st.booleans(),
           accept=st.sampled_from(["", "text/html", "application/json", "*/*"]))
    @example(link="preferences", method="PUT", body={"series": ["moving\x00well"]}, raw=b"",
             as_json=True, accept="")
    @example(link="unsubscribe", method="POST", body=None, raw=b"List-Unsubscribe=One-Click\x00",
             as_json=False, accept="text/html")
    @fuzz(300)
    def check(link, method, body, raw, as_json, accept):
        nonlocal count
        count += 1
        data = json.dumps(body) if as_json else raw
        content_type = "application/json" if as_json else "application/x-www-form-urlencoded"
        answer = client.generic(method, links[link], data, content_type=content_type,
                                HTTP_ACCEPT=accept)
        assert answer.status_code < 500, (link, method, body, answer.content[:300])

    check()
    print("valid-link cases:", count)


field_names = st.one_of(
    st.sampled_from(["type", "fired_at", "data[email]", "data[old_email]", "data[new_email]",
                     "data[merges][INTERESTS]", "data[merges][GROUPINGS][0][groups]",
                     "data[merges][GROUPINGS][0][unique_id]", "data[reason]", "data[ip_opt]",
                     "data", "data[]", "data[[x]]", "data[email]]"]),
    st.lists(st.text(string.ascii_letters + "[]_0", min_size=1, max_size=6), min_size=1,
             max_size=12).map(lambda parts: "data[" + "][".join(parts) + "]"),
    st.integers(1, 3000).map(lambda depth: "data" + "[x]" * depth),
    st.text(max_size=20),
)
field_values = st.one_of(
    st.sampled_from(["subscribe", "unsubscribe", "profile", "cleaned", "upemail", "campaign",
                     "ann@example.com", "ANN@Example.com", "not-an-address", "Moving Well",
                     "2026-11-20 10:00:00", "2099-01-01 00:00:00", "0001-01-01T00:00:00+05:00",
                     "9999-12-31T23:59:59-23:59", "2026-02-30 10:00:00", "", "10.20.10.30"]),
    st.emails(), st.text(max_size=40),
)


def test_the_list_webhook_never_answers_5xx(series, settings):
    """Signed (a signing key set: events applied in full) and unsigned (they only take away)."""
    client = Client(raise_request_exception=False)
    count = 0

    @given(fields=st.lists(st.tuples(field_names, field_values), max_size=12),
           base=st.sampled_from(["subscribe", "unsubscribe", "profile", "cleaned", "upemail"]),
           raw=st.one_of(st.none(), st.binary(max_size=300)), signed=st.booleans())
    @example(fields=[("data" + "[x]" * 3000, "deep")], base="profile", raw=None, signed=False)
    @example(fields=[("\x00", "subscribe")], base="subscribe", raw=None, signed=False)
    @example(fields=[("data[merges][FNAME]", "A\x00n")], base="profile", raw=None, signed=True)
    @example(fields=[("fired_at", "0001-01-01T00:00:00+05:00")], base="unsubscribe", raw=None,
             signed=True)
    @example(fields=[("fired_at", "9999-12-31T23:59:59-23:59")], base="cleaned", raw=None,
             signed=False)
    @fuzz(500)
    def check(fields, base, raw, signed):
        nonlocal count
        count += 1
        body = raw if raw is not None else urlencode(
            [("type", base), ("fired_at", "2026-11-20 10:00:00"),
             ("data[email]", "ann@example.com"), *fields], quote_via=quote).encode()
        headers = {}
        settings.MAILCHIMP = {**settings.MAILCHIMP,
                              "WEBHOOK_SIGNING_KEY": SIGNING_KEY if signed else None}
        if signed:
            digest = hmac.new(SIGNING_KEY.encode(), body, hashlib.sha256).digest()
            headers["X-Mailchimp-Signature"] = base64.b64encode(digest).decode()
        answer = client.post(f"/hooks/mailchimp/{SECRET}/", body,
                             content_type="application/x-www-form-urlencoded", headers=headers)
        assert answer.status_code < 500, (body[:300], answer.content[:300])

    check()
    print("webhook cases:", count)
