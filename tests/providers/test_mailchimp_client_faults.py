"""The Mailchimp wrapper under faults: every kind the emulator injects, and the retry rule
(idempotent calls retried with backoff, actions/send never; a lost answer read back by status)."""

import socket
import threading

import pytest

from pipeline.providers.mailchimp_client import MailchimpClient
from pipeline.providers.mailchimp_errors import (
    RateLimited,
    RetryPolicy,
    TransientError,
)
from tests.support.mailchimp import ready_campaign, route_count


# -- faults: every kind, and the retry rule ----------------------------------------------------
def test_429_with_a_problem_body_is_retried_with_backoff(mailchimp_emulator, client, sleeps):
    mailchimp_emulator.control.add_fault("429", r"/ping$", count=2)
    assert client.ping()["health_status"]
    assert client.calls == 3
    assert sleeps == [0.5, 1.0]  # full jitter with rng=1.0 shows the exponential caps


def test_429_with_an_empty_body_is_a_rate_limit_not_a_response(mailchimp_emulator, sleeps):
    client = MailchimpClient(api_key=mailchimp_emulator.api_key, api_url=mailchimp_emulator.url,
                             list_id=mailchimp_emulator.list_id, sleep=sleeps,
                             retry=RetryPolicy(max_attempts=1))
    mailchimp_emulator.control.add_fault("429-empty", r"/members/", count=1)
    with pytest.raises(RateLimited) as caught:
        client.upsert_member("ann@example.com", status_if_new="subscribed")
    assert caught.value.status == 429 and caught.value.title == ""
    # The raw client hands back a bare Response for the same answer.
    mailchimp_emulator.control.add_fault("429-empty", r"/ping$", count=1, retry_after=3)
    assert client.client.ping.get().status_code == 429


def test_retry_after_is_honoured(mailchimp_emulator, client, sleeps):
    mailchimp_emulator.control.add_fault("429-empty", r"/ping$", count=1, retry_after=3)
    client.ping()
    assert sleeps == [3.0]


def test_server_errors_are_retried_then_raised(mailchimp_emulator, client, sleeps):
    mailchimp_emulator.control.add_fault("5xx", r"/lists/[^/]+$", count=1, status=503)
    assert client.get_list()["id"] == client.list_id
    mailchimp_emulator.control.add_fault("5xx", r"/ping$", status=500, empty_body=True)
    with pytest.raises(TransientError) as caught:
        client.ping()
    assert caught.value.status == 500
    assert client.calls == 2 + 4 and len(sleeps) == 1 + 3


def test_a_timeout_on_an_idempotent_call_is_retried(mailchimp_emulator, client):
    client.set_timeout(1.0)
    mailchimp_emulator.control.add_fault("timeout", r"/members/", method="PUT", count=1,
                                         hang_seconds=5)
    member = client.upsert_member("ann@example.com", status_if_new="subscribed")
    assert member["status"] == "subscribed" and client.calls == 2


def test_non_idempotent_calls_are_not_retried_after_a_server_error(mailchimp_emulator, client,
                                                                    sleeps):
    client.upsert_member("reader@example.com", status_if_new="subscribed")
    mailchimp_emulator.control.add_fault("5xx", r"/campaigns$", method="POST", count=1)
    with pytest.raises(TransientError):
        client.create_campaign(subject="S", from_name="P", reply_to="p@example.com")
    assert sleeps == []
    assert mailchimp_emulator.control.state()["campaigns"] == {}


def test_send_is_never_retried_and_a_lost_answer_is_reconciled_by_status(mailchimp_emulator,
                                                                         client, sleeps):
    campaign_id = ready_campaign(client)
    mailchimp_emulator.control.add_fault("answer-lost", r"/actions/send$", count=1,
                                         hang_seconds=0)
    with pytest.raises(TransientError) as caught:
        client.send_campaign(campaign_id)
    assert caught.value.outcome_unknown
    assert route_count(mailchimp_emulator, "POST /campaigns/{campaign_id}/actions/send") == 1
    assert sleeps == []
    assert client.campaign_status(campaign_id) == "sent"  # the caller trusts this
    assert len(mailchimp_emulator.control.sends(campaign_id=campaign_id, kind="send")) == 1


def test_a_send_that_hangs_past_the_timeout_is_not_retried(mailchimp_emulator, client):
    campaign_id = ready_campaign(client)
    client.set_timeout(1.0)
    mailchimp_emulator.control.add_fault("answer-lost", r"/actions/send$", count=1,
                                         hang_seconds=5)
    with pytest.raises(TransientError) as caught:
        client.send_campaign(campaign_id)
    assert caught.value.outcome_unknown
    assert client.campaign_status(campaign_id) == "sent"
    assert len(mailchimp_emulator.control.sends(campaign_id=campaign_id)) == 1


def test_a_send_that_times_out_before_being_applied_reads_save(mailchimp_emulator, client):
    campaign_id = ready_campaign(client)
    client.set_timeout(1.0)
    mailchimp_emulator.control.add_fault("timeout", r"/actions/send$", count=1, hang_seconds=5)
    with pytest.raises(TransientError):
        client.send_campaign(campaign_id)
    assert client.campaign_status(campaign_id) == "save"  # safe to send again
    assert mailchimp_emulator.control.sends(campaign_id=campaign_id) == []


def test_send_rejected_at_the_connection_limit_is_not_retried(mailchimp_emulator, client,
                                                              sleeps):
    campaign_id = ready_campaign(client)
    mailchimp_emulator.control.add_fault("429", r"/actions/send$", count=1)
    with pytest.raises(RateLimited):
        client.send_campaign(campaign_id)
    assert sleeps == [] and client.campaign_status(campaign_id) == "save"


def test_a_closed_port_is_a_transient_error():
    client = MailchimpClient(api_key="k-us1", api_url="http://127.0.0.1:9/3.0", timeout=1,
                             sleep=lambda s: None)
    with pytest.raises(TransientError):
        client.ping()


def test_an_answer_that_breaks_off_is_outcome_unknown(sleeps):
    """A server that starts a chunked 200 and hangs up mid-body: the request was received and
    may have been applied, so it is a TransientError with outcome_unknown, never a plain one."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def answer_and_hang_up():
        for _ in range(2):  # the first try and its one retry
            connection, _ = listener.accept()
            with connection:
                connection.recv(65536)
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                   b"Transfer-Encoding: chunked\r\n\r\n20\r\n{\"health_")
        listener.close()

    server = threading.Thread(target=answer_and_hang_up, daemon=True)
    server.start()
    client = MailchimpClient(api_key="k-us1", api_url=f"http://127.0.0.1:{port}/3.0", timeout=2,
                             sleep=sleeps, retry=RetryPolicy(max_attempts=2))
    with pytest.raises(TransientError) as caught:
        client.ping()
    assert caught.value.outcome_unknown and caught.value.status is None
    assert "broke off" in str(caught.value) and client.calls == 2
    server.join(timeout=5)


def test_more_than_ten_in_flight_get_429_and_backoff_gets_through(mailchimp_emulator):
    mailchimp_emulator.control.configure(latency_ms=300)
    outcomes: list = []
    lock = threading.Lock()

    def ping(retry: RetryPolicy):
        client = MailchimpClient(api_key=mailchimp_emulator.api_key,
                                 api_url=mailchimp_emulator.url, retry=retry)
        try:
            client.ping()
            outcome = "ok"
        except RateLimited:
            outcome = "429"
        with lock:
            outcomes.append(outcome)

    def burst(retry: RetryPolicy, size: int = 20):
        threads = [threading.Thread(target=ping, args=(retry,)) for _ in range(size)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)

    burst(RetryPolicy(max_attempts=1))
    stats = mailchimp_emulator.control.stats()
    assert outcomes.count("429") == stats["rejected_over_limit"] > 0
    assert stats["peak_in_flight"] <= 10
    outcomes.clear()
    burst(RetryPolicy(max_attempts=8, base_seconds=0.1, cap_seconds=1))
    assert outcomes == ["ok"] * 20
    assert mailchimp_emulator.control.stats()["peak_in_flight"] <= 10


