"""The campaigns' MailchimpProvider: the wrapper's typed errors become ProviderErrors the
campaigns service can act on. The real wrapper and client over real HTTP to the emulator."""

from email.utils import parseaddr

import pytest

from pipeline.providers.mailchimp import (
    PROVIDER_RETRY,
    MailchimpOutcomeUnknown,
    MailchimpProvider,
    MailchimpProviderError,
)
from pipeline.providers.mailchimp_errors import (
    CampaignNotReady,
    MailchimpConfigurationError,
    RateLimited,
    RetryPolicy,
    TransientError,
)
from tests.support.mailchimp import READY_HTML, route_count

SEND_ROUTE = "POST /campaigns/{campaign_id}/actions/send"


@pytest.fixture
def provider(mailchimp_emulator, sleeps):
    return MailchimpProvider(config=mailchimp_emulator.settings(), timeout=5, sleep=sleeps,
                             rng=lambda: 1.0)


@pytest.fixture
def campaign_id(mailchimp_emulator, provider):
    """A campaign at Mailchimp that is ready to send to one member."""
    mailchimp_emulator.emulator.state.add_member(
        mailchimp_emulator.list_id, {"email_address": "reader@example.com",
                                     "status": "subscribed"})
    made = provider.campaign_create(title="partwork #1", subject="Part 3",
                                    preheader="Hips", segment_opts=None)
    provider.campaign_set_content(made, html=READY_HTML, text="Part 3 *|UNSUB|*")
    return made


def sends(mailchimp_emulator, campaign_id) -> list[dict]:
    return mailchimp_emulator.control.sends(campaign_id=campaign_id, kind="send")


def stored(mailchimp_emulator, campaign_id) -> dict:
    """The campaign as the emulator holds it (settings, recipients, content)."""
    return mailchimp_emulator.emulator.state.campaigns[campaign_id]


def requests_faulted(mailchimp_emulator) -> int:
    """How many requests the emulator answered with an injected fault."""
    return sum(rule["fired"] for rule in mailchimp_emulator.control.faults())


# -- what the provider asks the wrapper for ------------------------------------------------
def test_create_sends_our_settings_and_the_status_read_counts_the_recipients(
        mailchimp_emulator, provider, campaign_id, settings):
    campaign = stored(mailchimp_emulator, campaign_id)
    assert campaign["settings"]["preview_text"] == "Hips"
    assert campaign["settings"]["auto_footer"] is False
    assert campaign["settings"]["inline_css"] is False
    assert campaign["settings"]["title"] == "partwork #1"
    assert (campaign["settings"]["from_name"], campaign["settings"]["reply_to"]) == parseaddr(
        settings.DEFAULT_FROM_EMAIL)
    assert campaign["content"]["plain_text"] == "Part 3 *|UNSUB|*"
    assert provider.campaign_status(campaign_id) == ("save", 0)
    provider.campaign_send(campaign_id)
    assert provider.campaign_status(campaign_id) == ("sent", 1)
    assert provider.client.timeout == 5


def test_segment_opts_reach_mailchimp(mailchimp_emulator, provider):
    state = mailchimp_emulator.emulator.state
    for email in ("a@example.com", "b@example.com"):
        state.add_member(mailchimp_emulator.list_id, {"email_address": email,
                                                      "status": "subscribed"})
    segment = {"match": "all", "conditions": [
        {"condition_type": "EmailAddress", "field": "EMAIL", "op": "is",
         "value": "b@example.com"}]}
    made = provider.campaign_create(title="t", subject="s", preheader="", segment_opts=segment)
    provider.campaign_set_content(made, html=READY_HTML, text="*|UNSUB|*")
    assert stored(mailchimp_emulator, made)["recipients"]["segment_opts"] == segment
    provider.campaign_send(made)
    (send,) = sends(mailchimp_emulator, made)
    assert send["recipients"] == ["b@example.com"]


def test_timeout_defaults_to_the_setting(mailchimp_emulator, settings):
    settings.MAILCHIMP = mailchimp_emulator.settings()
    settings.MAILCHIMP_TIMEOUT = 7
    provider = MailchimpProvider()
    assert provider.client.timeout == 7
    assert provider.client.client.api_client.timeout == 7
    assert provider.client.retry == PROVIDER_RETRY


# -- the error mapping ---------------------------------------------------------------------
@pytest.mark.parametrize(("kind", "message"), [
    ("429", "Mailchimp 429 Too Many Requests: You have exceeded"),
    ("429-empty", "Mailchimp answered 429 with no body"),
])
def test_a_send_rejected_with_429_is_retryable_and_not_retried(mailchimp_emulator, provider,
                                                              campaign_id, sleeps, kind,
                                                              message):
    mailchimp_emulator.control.add_fault(kind, r"/actions/send$", count=1)
    with pytest.raises(MailchimpProviderError) as caught:
        provider.campaign_send(campaign_id)
    error = caught.value
    assert (error.status, error.retryable) == (429, True)
    assert str(error).startswith(message)
    assert isinstance(error.cause, RateLimited) and error.__cause__ is error.cause
    assert requests_faulted(mailchimp_emulator) == 1 and sleeps == []
    assert route_count(mailchimp_emulator, SEND_ROUTE) == 0  # nothing reached the send
    assert provider.campaign_status(campaign_id) == ("save", 0)


@pytest.mark.parametrize("empty_body", [False, True])
def test_a_send_answered_5xx_is_retryable_and_not_retried(mailchimp_emulator, provider,
                                                         campaign_id, sleeps, empty_body):
    mailchimp_emulator.control.add_fault("5xx", r"/actions/send$", count=1, status=503,
                                         empty_body=empty_body)
    with pytest.raises(MailchimpProviderError) as caught:
        provider.campaign_send(campaign_id)
    assert (caught.value.status, caught.value.retryable) == (503, True)
    assert isinstance(caught.value.cause, TransientError)
    assert ("no body" in str(caught.value)) is empty_body
    assert requests_faulted(mailchimp_emulator) == 1 and sleeps == []
    assert sends(mailchimp_emulator, campaign_id) == []


def test_a_send_that_times_out_is_outcome_unknown(mailchimp_emulator, campaign_id, sleeps):
    provider = MailchimpProvider(config=mailchimp_emulator.settings(), timeout=1, sleep=sleeps)
    mailchimp_emulator.control.add_fault("timeout", r"/actions/send$", count=1, hang_seconds=3)
    with pytest.raises(MailchimpOutcomeUnknown) as caught:
        provider.campaign_send(campaign_id)
    assert caught.value.retryable and caught.value.status is None
    assert "may have been applied" in str(caught.value)
    assert requests_faulted(mailchimp_emulator) == 1 and sleeps == []
    # What the service does next: read the status and trust it (here: not applied).
    assert provider.campaign_status(campaign_id) == ("save", 0)


def test_a_send_whose_answer_is_lost_is_outcome_unknown_and_reads_sent(mailchimp_emulator,
                                                                       provider, campaign_id):
    mailchimp_emulator.control.add_fault("answer-lost", r"/actions/send$", count=1,
                                         hang_seconds=0)
    with pytest.raises(MailchimpOutcomeUnknown):
        provider.campaign_send(campaign_id)
    assert provider.campaign_status(campaign_id) == ("sent", 1)
    assert len(sends(mailchimp_emulator, campaign_id)) == 1


def test_a_campaign_not_ready_is_refused_for_good(mailchimp_emulator, provider, campaign_id):
    provider.campaign_set_content(campaign_id, html="<p>No footer</p>", text="No footer")
    with pytest.raises(MailchimpProviderError) as caught:
        provider.campaign_send(campaign_id)
    assert (caught.value.status, caught.value.retryable) == (400, False)
    assert isinstance(caught.value.cause, CampaignNotReady)
    assert "Your Campaign is not ready to send." in str(caught.value)


def test_unknown_campaign_and_wrong_key_are_not_retryable(mailchimp_emulator, provider):
    with pytest.raises(MailchimpProviderError) as missing:
        provider.campaign_status("nosuchcampaign")
    assert (missing.value.status, missing.value.retryable) == (404, False)
    wrong = MailchimpProvider(config={**mailchimp_emulator.settings(), "API_KEY": "wrong-us1"})
    with pytest.raises(MailchimpProviderError) as refused:
        wrong.campaign_report("nosuchcampaign")
    assert (refused.value.status, refused.value.retryable) == (401, False)


def test_missing_settings_fail_the_first_call_not_the_construction(mailchimp_emulator):
    provider = MailchimpProvider(config={**mailchimp_emulator.settings(), "API_KEY": None})
    with pytest.raises(MailchimpProviderError) as caught:
        provider.campaign_create(title="t", subject="s", preheader="", segment_opts=None)
    assert (caught.value.status, caught.value.retryable) == (None, False)
    assert isinstance(caught.value.cause, MailchimpConfigurationError)


# -- retries: short and bounded, never for actions/send -------------------------------------
def test_idempotent_calls_absorb_a_brief_429_or_5xx(mailchimp_emulator, provider, campaign_id,
                                                   sleeps):
    mailchimp_emulator.control.add_fault("429-empty", r"/campaigns/[^/]+$", method="GET",
                                         count=1)
    mailchimp_emulator.control.add_fault("5xx", r"/content$", method="PUT", count=1,
                                         status=500, empty_body=True)
    assert provider.campaign_status(campaign_id) == ("save", 0)
    provider.campaign_set_content(campaign_id, html=READY_HTML, text="v2 *|UNSUB|*")
    assert stored(mailchimp_emulator, campaign_id)["content"]["plain_text"] == "v2 *|UNSUB|*"
    assert sleeps == [0.5, 0.5]


def test_a_read_gives_up_after_three_attempts(mailchimp_emulator, provider, campaign_id,
                                              sleeps):
    mailchimp_emulator.control.add_fault("5xx", r"/campaigns/[^/]+$", method="GET", status=503)
    with pytest.raises(MailchimpProviderError) as caught:
        provider.campaign_status(campaign_id)
    assert (caught.value.status, caught.value.retryable) == (503, True)
    assert requests_faulted(mailchimp_emulator) == PROVIDER_RETRY.max_attempts == 3
    assert sleeps == [0.5, 1.0]


def test_a_timed_out_read_is_not_retried_past_the_budget(mailchimp_emulator, sleeps,
                                                         campaign_id):
    provider = MailchimpProvider(config=mailchimp_emulator.settings(), timeout=1, sleep=sleeps,
                                 retry=RetryPolicy(max_attempts=3, budget_seconds=1.5))
    mailchimp_emulator.control.add_fault("timeout", r"/campaigns/[^/]+$", method="GET",
                                         hang_seconds=3)
    with pytest.raises(MailchimpOutcomeUnknown):
        provider.campaign_status(campaign_id)
    assert requests_faulted(mailchimp_emulator) == 1 and sleeps == []


def test_the_provider_retry_fits_the_lease_and_the_task_limit(settings):
    """With the default timeout a timed-out call is left to the campaign's own backoff, and
    one delivery (create, content, send, status) stays inside the lease and the time limit."""
    timeout = settings.MAILCHIMP_TIMEOUT
    assert timeout == 15
    assert not PROVIDER_RETRY.fits(spent=timeout, delay=0, timeout=timeout)
    assert PROVIDER_RETRY.fits(spent=0.1, delay=PROVIDER_RETRY.cap_seconds, timeout=timeout)
    worst = 3 * PROVIDER_RETRY.budget_seconds + timeout  # three retried calls + one send
    assert worst < settings.CAMPAIGN_LEASE.total_seconds() < 240
