"""The emulator's own behaviour: auth, control API, faults, clocks, webhooks, the CLI process."""

import base64
import hashlib
import hmac
import threading
import urllib.parse
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
import time_machine

from pipeline.providers.mailchimp_client import MailchimpClient
from pipeline.providers.mailchimp_errors import InvalidRequest, RateLimited, RetryPolicy
from tests.support.mailchimp_emulator.faults import Faults

READY_HTML = "<p>Hello</p> *|UNSUB|* *|LIST:ADDRESS|*"


@pytest.fixture
def client(mailchimp_emulator):
    return MailchimpClient(api_key=mailchimp_emulator.api_key, api_url=mailchimp_emulator.url,
                           list_id=mailchimp_emulator.list_id, timeout=5,
                           retry=RetryPolicy(max_attempts=1))


def ready_campaign(client) -> str:
    client.upsert_member("reader@example.com", status_if_new="subscribed")
    campaign = client.create_campaign(subject="S", from_name="P", reply_to="p@example.com")
    client.set_campaign_content(campaign["id"], html=READY_HTML)
    return campaign["id"]


def test_basic_and_bearer_auth_and_problem_answers(mailchimp_emulator):
    url = mailchimp_emulator.url + "/ping"
    key = mailchimp_emulator.api_key
    assert requests.get(url, auth=("anyone", key), timeout=5).status_code == 200
    assert requests.get(url, headers={"Authorization": f"Bearer {key}"},
                        timeout=5).status_code == 200
    missing = requests.get(url, timeout=5)
    assert missing.status_code == 401
    assert missing.headers["Content-Type"].startswith("application/problem+json")
    assert missing.json()["title"] == "API Key Missing"
    assert set(missing.json()) == {"type", "title", "status", "detail", "instance"}
    auth = ("anyone", key)
    unknown = requests.get(mailchimp_emulator.url + "/no/such/thing", auth=auth, timeout=5)
    assert unknown.status_code == 404
    wrong_method = requests.delete(url, auth=auth, timeout=5)
    assert wrong_method.status_code == 405
    broken = requests.post(mailchimp_emulator.url + "/campaigns", data="{not json",
                           auth=auth, timeout=5)
    assert (broken.status_code, broken.json()["title"]) == (400, "JSON Parse Error")


def test_a_scheduled_campaign_goes_out_when_its_time_comes(mailchimp_emulator, client):
    campaign_id = ready_campaign(client)
    start = datetime(2031, 3, 3, 9, 5, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as clock:
        client.schedule_campaign(campaign_id, start.replace(minute=15))
        assert client.campaign_status(campaign_id) == "schedule"
        assert mailchimp_emulator.control.sends() == []
        clock.move_to(start.replace(minute=15))
        assert client.campaign_status(campaign_id) == "sent"  # the time has come
        assert client.campaign_status(campaign_id) == "sent"
        sends = mailchimp_emulator.control.sends(campaign_id=campaign_id)
        assert [(s["kind"], s["recipients"]) for s in sends] == [
            ("scheduled", ["reader@example.com"])]
        assert client.get_campaign(campaign_id)["send_time"] == "2031-03-03T09:15:00+00:00"


def test_sending_lasts_as_configured_then_reads_sent(mailchimp_emulator, client):
    mailchimp_emulator.control.configure(sending_seconds=120)
    campaign_id = ready_campaign(client)
    start = datetime(2031, 3, 3, 9, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as clock:
        client.send_campaign(campaign_id)
        assert client.campaign_status(campaign_id) == "sending"
        clock.shift(timedelta(seconds=121))
        assert client.campaign_status(campaign_id) == "sent"


def test_recipients_follow_the_segment(mailchimp_emulator, client):
    for email in ("a@example.com", "b@example.com", "c@example.com"):
        client.upsert_member(email, status_if_new="subscribed")
    client.upsert_member("gone@example.com", status_if_new="unsubscribed")
    segment = client.create_segment("Two", static_emails=["a@example.com", "c@example.com",
                                                          "gone@example.com"])
    campaign = client.create_campaign(subject="S", from_name="P", reply_to="p@example.com",
                                      segment_opts={"saved_segment_id": segment["id"]})
    client.set_campaign_content(campaign["id"], html=READY_HTML)
    client.send_campaign(campaign["id"])
    (send,) = mailchimp_emulator.control.sends(campaign_id=campaign["id"])
    assert sorted(send["recipients"]) == ["a@example.com", "c@example.com"]
    assert send["segment_opts"] == {"saved_segment_id": segment["id"]}
    assert send["html"] == READY_HTML


def test_held_batches_stay_pending_until_run(mailchimp_emulator, client):
    mailchimp_emulator.control.configure(batch_autorun=False)
    started = client.start_batch([{"method": "GET", "path": "/ping", "operation_id": "p"}])
    assert client.batch_status(started["id"])["status"] == "pending"
    assert mailchimp_emulator.control.run_batches() == 1
    finished = client.batch_status(started["id"])
    assert finished["status"] == "finished" and finished["finished_operations"] == 1
    assert client.batch_results(finished["response_body_url"])[0]["response"] == {
        "health_status": "Everything's Chimpy!"}


def test_fault_rules_fire_by_count_and_by_seeded_chance():
    faults = Faults(seed=7)
    faults.add(kind="5xx", path=r"/ping$", count=2)
    fired = [faults.match("GET", "/3.0/ping") is not None for _ in range(5)]
    assert fired == [True, True, False, False, False]
    faults.clear()
    faults.add(kind="429", path=r"/members", method="PUT", probability=0.5)
    assert faults.match("GET", "/3.0/lists/x/members/y") is None
    hits = sum(faults.match("PUT", "/3.0/lists/x/members/y") is not None for _ in range(200))
    assert 0 < hits < 200
    with pytest.raises(ValueError):
        faults.add(kind="explode")


def test_control_api_validates_faults_and_reset_forgets(mailchimp_emulator, client):
    bad = requests.post(mailchimp_emulator.base_url + "/_emulator/faults",
                        json={"kind": "explode"}, timeout=5)
    assert bad.status_code == 400
    mailchimp_emulator.control.add_fault("429", r"/ping$")
    with pytest.raises(RateLimited):
        client.ping()
    client.upsert_member("a@example.com", status_if_new="subscribed")
    mailchimp_emulator.control.reset()
    assert client.ping()
    state = mailchimp_emulator.control.state()
    assert state["lists"][client.list_id]["members"] == 0
    assert mailchimp_emulator.control.faults() == []


def test_fire_webhook_posts_a_mailchimp_form(mailchimp_emulator, client):
    received = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.path, self.headers["Content-Type"], body.decode(),
                             self.headers.get("X-Mailchimp-Signature")))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self):  # Mailchimp's URL check when a webhook is saved
            self.send_response(200 if self.path.startswith("/hooks/") else 404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            return

    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=receiver.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{receiver.server_address[1]}"
        url = base + "/hooks/s3cret"
        mailchimp_emulator.control.configure(verify_webhook_urls=True)
        with pytest.raises(InvalidRequest):
            client.create_webhook(base + "/elsewhere", events=["unsubscribe"])
        client.create_webhook(url, events=["unsubscribe"])
        answers = mailchimp_emulator.control.fire_webhook(
            "unsubscribe", {"email": "ann@example.com", "merges": {"FNAME": "Ann"}},
            fired_at="2031-03-03 09:00:00", signing_key="k3y")
        assert mailchimp_emulator.control.fire_webhook("subscribe", {"email": "x@y.z"}) == []
        mailchimp_emulator.control.fire_webhook("unsubscribe", {}, raw_body="type=%%%")
    finally:
        receiver.shutdown()
        receiver.server_close()
    assert answers == [{"url": url, "status": 200}]
    path, content_type, body, signature = received[0]
    assert path == "/hooks/s3cret" and content_type == "application/x-www-form-urlencoded"
    expected = hmac.new(b"k3y", body.encode(), hashlib.sha256).digest()
    assert signature == base64.b64encode(expected).decode()
    assert received[1][2:] == ("type=%%%", None)
    assert dict(urllib.parse.parse_qsl(body)) == {
        "type": "unsubscribe", "fired_at": "2031-03-03 09:00:00",
        "data[email]": "ann@example.com", "data[merges][FNAME]": "Ann"}


@pytest.mark.slow
def test_the_command_line_emulator_serves_the_real_client(mailchimp_emulator_process):
    running = mailchimp_emulator_process
    client = MailchimpClient(api_key=running.api_key, api_url=running.url,
                             list_id=running.list_id, retry=RetryPolicy(max_attempts=1))
    assert client.ping()["health_status"]
    client.batch_subscribe([{"email_address": f"r{i}@example.com", "status": "subscribed"}
                            for i in range(50)])
    assert running.control.state()["lists"][running.list_id]["by_status"] == {"subscribed": 50}
    running.control.add_fault("429-empty", r"/ping$", count=1)
    with pytest.raises(RateLimited):
        client.ping()
    assert running.control.stats()["by_route"]["POST /lists/{list_id}"] == 1


def test_parallel_writers_leave_one_consistent_account(mailchimp_emulator):
    """Ten clients at once (the connection limit), overlapping addresses: no lost or double
    members, no internal error."""
    errors = []

    def writer(worker: int):
        client = MailchimpClient(api_key=mailchimp_emulator.api_key,
                                 api_url=mailchimp_emulator.url,
                                 list_id=mailchimp_emulator.list_id,
                                 retry=RetryPolicy(max_attempts=8, base_seconds=0.01))
        try:
            client.batch_subscribe([{"email_address": f"shared{i}@example.com",
                                     "status": "subscribed"} for i in range(100)])
            for i in range(20):
                client.upsert_member(f"own{worker}-{i}@example.com",
                                     status_if_new="subscribed")
                client.set_member_tags(f"own{worker}-{i}@example.com", active=[f"w{worker}"])
        except Exception as error:  # collected: a thread cannot fail the test itself
            errors.append(repr(error))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    state = mailchimp_emulator.control.state()
    assert state["lists"][mailchimp_emulator.list_id]["by_status"] == {"subscribed": 300}
    assert state["lists"][mailchimp_emulator.list_id]["segments"] == 10
    assert state["internal_errors"] == []


def test_fields_and_exclude_fields_trim_answers(mailchimp_emulator, client):
    client.upsert_member("ann@example.com", status_if_new="subscribed")
    url = f"{mailchimp_emulator.url}/lists/{mailchimp_emulator.list_id}/members"
    auth = ("x", mailchimp_emulator.api_key)
    trimmed = requests.get(url, auth=auth, timeout=5, params={
        "fields": "members.email_address,members.status,total_items"}).json()
    assert trimmed == {"members": [{"email_address": "ann@example.com",
                                    "status": "subscribed"}], "total_items": 1}
    without = requests.get(url, auth=auth, timeout=5,
                           params={"exclude_fields": "members.stats,list_id"}).json()
    assert "list_id" not in without and "stats" not in without["members"][0]
    assert without["members"][0]["email_address"] == "ann@example.com"
