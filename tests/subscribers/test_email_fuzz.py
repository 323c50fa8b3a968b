"""Property tests: any text is either a clean 4xx or one normalized subscriber, never a 500."""

import pytest
from hypothesis import HealthCheck, assume, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from pipeline.subscribers.email_address import MAX_LENGTH, InvalidEmail, normalize_email
from pipeline.subscribers.models import Subscriber
from tests.support.subscribers import subscribe

ASCII_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")

tricky_text = st.one_of(
    st.text(max_size=400),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=60).map(lambda s: s + "@example.com"),
    st.emails().map(lambda e: e.upper()),
    st.emails().map(lambda e: f"  {e}\t"),
    st.from_regex(r"[a-z]{1,10}@[a-zäöüß]{1,10}\.(de|com|org)", fullmatch=True),
)


@given(tricky_text)
@example("ann@example.com\x00")
@example("a" * 10_000 + "@example.com")
@example("ann@bücher.de")
@example("ann@-bad-.com")
@example("ann..dots@example.com")
@hypothesis_settings(max_examples=300, deadline=None)
def test_normalize_email_accepts_or_explains(raw):
    try:
        normalized = normalize_email(raw)
    except InvalidEmail as error:
        assert str(error)
        return
    assert normalized == normalized.strip().lower()
    assert normalized.isascii() and len(normalized) <= MAX_LENGTH
    assert normalize_email(normalized) == normalized
    # ASCII case never matters. (Unicode case can: "ß".upper() is "SS", a different domain.)
    assert normalize_email(raw.translate(ASCII_UPPER)) == normalized


@given(st.emails(), st.sampled_from([str.upper, str.lower, str.title, str.swapcase]))
@example("0@0.ss", str.upper)
@hypothesis_settings(max_examples=200, deadline=None)
def test_case_variants_normalize_alike(address, change_case):
    try:
        normalized = normalize_email(address)
    except InvalidEmail:
        assume(False)
    assert normalize_email(" " + change_case(address) + "\n") == normalized


@pytest.mark.django_db
@given(raw=tricky_text)
@example(raw="ANN@EXAMPLE.COM")
@example(raw="ann@example.com")
@example(raw="x" * 5000)
@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_the_subscribe_endpoint_never_fails_and_never_duplicates(client, series, settings, raw):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "ip": (10**6, 60),
                            "subscribe-ip": (10**6, 60), "subscribe-address": (10**6, 60)}
    response = subscribe(client, raw)
    assert response.status_code in (202, 400, 422), response.content
    assert response.json()["detail"]
    emails = list(Subscriber.objects.values_list("email", flat=True))
    assert len(emails) == len(set(emails))
    if response.status_code == 202:
        assert normalize_email(raw) in emails
