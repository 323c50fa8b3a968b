"""Issue 12, item 11: another site must not subscribe addresses through its visitors' browsers.

Before: the JSON body was read whatever its Content-Type, so a page anywhere could POST it as
``text/plain`` (a "simple" cross-origin request: no CORS preflight, no CSRF token) and each
visitor's browser asked us to mail a confirmation to an address of the page's choosing."""

import json

import pytest
from django.core import mail
from django.test import Client

from pipeline.subscribers.models import ConsentRecord, Subscriber
from tests.support.subscribers import CONSENT
from tests.support.workers import tasks_run_on_commit

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("content_type", ["text/plain", "text/plain;charset=UTF-8",
                                          "application/x-www-form-urlencoded"])
def test_a_cross_site_simple_request_subscribes_nobody(series, content_type):
    browser = Client(enforce_csrf_checks=True)
    body = json.dumps({"email": "victim@example.com", "series": ["moving-well"],
                       "consent": True, "consent_text": CONSENT})
    with tasks_run_on_commit():
        answer = browser.post("/api/subscribers", body, content_type=content_type,
                              HTTP_ORIGIN="https://attacker.example",
                              HTTP_SEC_FETCH_SITE="cross-site")
    assert answer.status_code == 400
    assert not Subscriber.objects.exists() and not ConsentRecord.objects.exists()
    assert not mail.outbox
