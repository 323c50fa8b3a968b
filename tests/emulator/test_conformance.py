"""Every route the project uses answers as Mailchimp's OpenAPI description documents.

Each answer (successes, 204s and problem+json errors alike) is checked for a documented status, a
documented content type and a body valid against the response schema. The scenario must reach
every operation of the trimmed description; routes it lacks are checked against the full one.
"""

import io
import json
import tarfile
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests

from tests.support.mailchimp_emulator.openapi_check import Conformance, conformance_or_skip
from tests.support.mailchimp_emulator.records import subscriber_hash


@pytest.fixture(scope="module")
def conformance():
    return conformance_or_skip()


class CheckedApi:
    """Plain HTTP calls (Basic auth like the official client); every answer is checked."""

    def __init__(self, running, conformance: Conformance):
        self.running = running
        self.conformance = conformance
        self.errors: list[str] = []

    def __call__(self, method: str, path: str, body=None, *, expect: int | None = None,
                 key: str | None = None, params: dict | None = None) -> requests.Response:
        answer = requests.request(
            method, self.running.url + path, params=params, timeout=10,
            auth=("partwork", key or self.running.api_key),
            data=json.dumps(body) if body is not None else None,
            headers={"Content-Type": "application/json"})
        self.errors += self.conformance.check(method, "/3.0" + path, answer.status_code,
                                              answer.headers.get("Content-Type"), answer.content)
        if expect is not None:
            assert answer.status_code == expect, f"{method} {path}: {answer.text}"
        return answer

    def json(self, method: str, path: str, body=None, **kwargs) -> dict:
        kwargs.setdefault("expect", 200)
        return self(method, path, body, **kwargs).json()


def next_quarter_hour(after: datetime) -> datetime:
    moment = after.replace(second=0, microsecond=0) + timedelta(minutes=15)
    return moment - timedelta(minutes=moment.minute % 15)


def wait_for_batch(api: CheckedApi, batch_id: str) -> dict:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        batch = api.json("GET", f"/batches/{batch_id}")
        if batch["status"] == "finished":
            return batch
        time.sleep(0.02)
    raise AssertionError(f"batch {batch_id} did not finish")


def test_every_route_we_use_answers_as_documented(mailchimp_emulator, conformance):
    api = CheckedApi(mailchimp_emulator, conformance)
    control = mailchimp_emulator.control

    assert api.json("GET", "/ping")["health_status"]
    assert api.json("GET", "/lists")["total_items"] == 1
    new_list = api.json("POST", "/lists", {
        "name": "Second", "permission_reminder": "You asked.", "email_type_option": False,
        "contact": {"company": "P", "address1": "1 St", "city": "London", "state": "",
                    "zip": "N1", "country": "GB"},
        "campaign_defaults": {"from_name": "P", "from_email": "p@example.com", "subject": "",
                              "language": "en"}})
    list_id = new_list["id"]
    assert api.json("GET", f"/lists/{list_id}")["name"] == "Second"

    # Merge fields, interests.
    assert api.json("GET", f"/lists/{list_id}/merge-fields")["total_items"] == 2
    api.json("POST", f"/lists/{list_id}/merge-fields", {"name": "Series", "type": "text",
                                                        "tag": "SERIES"})
    category = api.json("POST", f"/lists/{list_id}/interest-categories",
                        {"title": "Series", "type": "checkboxes"})
    assert api.json("GET", f"/lists/{list_id}/interest-categories")["total_items"] == 1
    interests_path = f"/lists/{list_id}/interest-categories/{category['id']}/interests"
    sleep_series = api.json("POST", interests_path, {"name": "Sleep"})
    running_series = api.json("POST", interests_path, {"name": "Running"})
    assert api.json("GET", interests_path)["total_items"] == 2

    # Members: upsert, add, read, update, tags, archive, forget.
    ann = "Ann@Example.com"
    ann_hash = subscriber_hash(ann)
    member = api.json("PUT", f"/lists/{list_id}/members/{ann_hash}", {
        "email_address": ann, "status_if_new": "subscribed",
        "merge_fields": {"FNAME": "Ann"}, "interests": {sleep_series["id"]: True}})
    assert member["id"] == ann_hash and member["status"] == "subscribed"
    api.json("POST", f"/lists/{list_id}/members",
             {"email_address": "bob@example.com", "status": "pending"})
    api("POST", f"/lists/{list_id}/members", {"email_address": ann, "status": "subscribed"},
        expect=400)
    api("POST", f"/lists/{list_id}/members", {"email_address": "not-an-email",
                                              "status": "subscribed"}, expect=400)
    assert api.json("GET", f"/lists/{list_id}/members/{ann_hash}")["email_address"] == ann
    assert api.json("GET", f"/lists/{list_id}/members")["total_items"] == 2
    api.json("PATCH", f"/lists/{list_id}/members/{subscriber_hash('bob@example.com')}",
             {"status": "subscribed"})
    # A preference change: the member's interests, one on and one off, in one PATCH.
    patched = api.json("PATCH", f"/lists/{list_id}/members/{ann_hash}",
                       {"interests": {sleep_series["id"]: False, running_series["id"]: True}})
    assert patched["interests"] == {sleep_series["id"]: False, running_series["id"]: True}
    patched = api.json("PATCH", f"/lists/{list_id}/members/{ann_hash}",
                       {"interests": {sleep_series["id"]: True, running_series["id"]: False}})
    assert patched["interests"] == {sleep_series["id"]: True, running_series["id"]: False}
    api("PATCH", f"/lists/{list_id}/members/{ann_hash}", {"interests": {"nope": True}},
        expect=400)
    api("POST", f"/lists/{list_id}/members/{ann_hash}/tags",
        {"tags": [{"name": "vip-readers", "status": "active"}]}, expect=204)
    assert api.json("GET", f"/lists/{list_id}/members/{ann_hash}/tags")["total_items"] == 1
    api("GET", f"/lists/{list_id}/members/{subscriber_hash('nobody@example.com')}", expect=404)

    carol, dave = "carol@example.com", "dave@example.com"
    batch = api.json("POST", f"/lists/{list_id}", {"update_existing": False, "members": [
        {"email_address": carol, "status": "subscribed"},
        {"email_address": dave, "status": "subscribed"},
        {"email_address": ann, "status": "subscribed"},
        {"email_address": "bad@", "status": "subscribed"}]})
    assert (batch["total_created"], batch["error_count"]) == (2, 2)
    assert {e["error_code"] for e in batch["errors"]} == {"ERROR_CONTACT_EXISTS",
                                                         "ERROR_GENERIC"}
    api("DELETE", f"/lists/{list_id}/members/{subscriber_hash(dave)}", expect=204)
    api("POST", f"/lists/{list_id}/members/{subscriber_hash(dave)}/actions/delete-permanent",
        expect=204)
    # Permanently deleted: every way of adding the address back is refused, as Mailchimp
    # refuses it ("Forgotten Email Not Subscribed"; only the person's own signup brings it back),
    # and a second delete-permanent finds nobody.
    forgotten = api.json("PUT", f"/lists/{list_id}/members/{subscriber_hash(dave)}",
                         {"email_address": dave, "status_if_new": "subscribed"}, expect=400)
    assert forgotten["title"] == "Forgotten Email Not Subscribed"
    assert api.json("POST", f"/lists/{list_id}/members",
                    {"email_address": dave, "status": "subscribed"}, expect=400
                    )["title"] == "Forgotten Email Not Subscribed"
    readd = api.json("POST", f"/lists/{list_id}", {"update_existing": True, "members": [
        {"email_address": dave, "status_if_new": "subscribed"}]})
    assert (readd["total_created"], readd["error_count"]) == (0, 1)
    assert "permanently deleted" in readd["errors"][0]["error"]
    api("POST", f"/lists/{list_id}/members/{subscriber_hash(dave)}/actions/delete-permanent",
        expect=404)
    control.mark_member(carol, list_id=list_id, status="unsubscribed", compliance=True)
    api("PUT", f"/lists/{list_id}/members/{subscriber_hash(carol)}",
        {"email_address": carol, "status": "subscribed"}, expect=400)

    # Segments: static and saved (conditions on interests and tags).
    static = api.json("POST", f"/lists/{list_id}/segments",
                      {"name": "Early readers", "static_segment": [ann]})
    assert static["member_count"] == 1
    saved = api.json("POST", f"/lists/{list_id}/segments", {"name": "Sleep", "options": {
        "match": "any", "conditions": [{
            "condition_type": "Interests", "field": f"interests-{category['id']}",
            "op": "interestcontains", "value": [sleep_series["id"]]}]}})
    assert saved["member_count"] == 1
    assert api.json("GET", f"/lists/{list_id}/segments")["total_items"] == 3  # + the tag
    assert api.json("GET", f"/lists/{list_id}/segments/{saved['id']}")["type"] == "saved"
    api.json("PATCH", f"/lists/{list_id}/segments/{static['id']}", {"name": "Early"})
    moved = api.json("POST", f"/lists/{list_id}/segments/{static['id']}",
                     {"members_to_add": ["bob@example.com"], "members_to_remove": [ann]})
    assert (moved["total_added"], moved["total_removed"]) == (1, 1)
    scratch = api.json("POST", f"/lists/{list_id}/segments", {"name": "Scratch",
                                                               "static_segment": []})
    api("DELETE", f"/lists/{list_id}/segments/{scratch['id']}", expect=204)
    api("GET", f"/lists/{list_id}/segments/{scratch['id']}", expect=404)

    # Webhooks.
    hook = api.json("POST", f"/lists/{list_id}/webhooks", {
        "url": "http://127.0.0.1:9/hooks/secret", "events": {"subscribe": True},
        "sources": {"user": True, "admin": True, "api": False}})
    assert api.json("GET", f"/lists/{list_id}/webhooks")["total_items"] == 1
    api("DELETE", f"/lists/{list_id}/webhooks/{hook['id']}", expect=204)

    # Campaigns: create, update, content, checklist, test, schedule, send, report.
    campaign = api.json("POST", "/campaigns", {
        "type": "regular",
        "recipients": {"list_id": list_id, "segment_opts": {"saved_segment_id": saved["id"]}},
        "settings": {"subject_line": "Part 2 is out", "from_name": "Partwork",
                     "reply_to": "news@example.com", "title": "Part 2"}})
    campaign_id = campaign["id"]
    assert campaign["status"] == "save"
    assert api.json("GET", "/campaigns")["total_items"] == 1
    api.json("PATCH", f"/campaigns/{campaign_id}", {"settings": {"preview_text": "Sleep"}})
    api.json("PUT", f"/campaigns/{campaign_id}/content", {"html": "<p>No footer</p>"})
    checklist = api.json("GET", f"/campaigns/{campaign_id}/send-checklist")
    assert checklist["is_ready"] is False
    refused = api("POST", f"/campaigns/{campaign_id}/actions/send", expect=400).json()
    assert refused["detail"] == "Your Campaign is not ready to send."
    content = api.json("PUT", f"/campaigns/{campaign_id}/content", {
        "html": "<p>Hi</p><a href='*|UNSUB|*'>Unsubscribe</a> *|LIST:ADDRESS|*",
        "plain_text": "Hi\nUnsubscribe: *|UNSUB|*\n*|LIST:ADDRESS|*"})
    assert "*|UNSUB|*" in content["html"]
    assert api.json("GET", f"/campaigns/{campaign_id}/content")["plain_text"].startswith("Hi")
    assert api.json("GET", f"/campaigns/{campaign_id}/send-checklist")["is_ready"] is True
    api("POST", f"/campaigns/{campaign_id}/actions/test",
        {"test_emails": ["editor@example.com"], "send_type": "html"}, expect=204)
    later = next_quarter_hour(datetime.now(UTC) + timedelta(hours=1))
    api("POST", f"/campaigns/{campaign_id}/actions/schedule",
        {"schedule_time": (later + timedelta(minutes=7)).isoformat()}, expect=400)
    api("POST", f"/campaigns/{campaign_id}/actions/schedule",
        {"schedule_time": later.isoformat()}, expect=204)
    assert api.json("GET", f"/campaigns/{campaign_id}")["status"] == "schedule"
    api("POST", f"/campaigns/{campaign_id}/actions/unschedule", expect=204)
    api("GET", f"/reports/{campaign_id}", expect=404)
    api("POST", f"/campaigns/{campaign_id}/actions/send", expect=204)
    api("POST", f"/campaigns/{campaign_id}/actions/send", expect=400)
    assert api.json("GET", f"/campaigns/{campaign_id}")["status"] == "sent"
    control.set_report(campaign_id, opens=3, unique_opens=1, clicks=2, unique_clicks=1)
    report = api.json("GET", f"/reports/{campaign_id}")
    assert (report["emails_sent"], report["opens"]["opens_total"]) == (1, 3)

    control.configure(sending_seconds=3600)
    second = api.json("POST", "/campaigns", {"type": "plaintext",
                                              "recipients": {"list_id": list_id},
                                              "settings": {"subject_line": "Offer",
                                                           "from_name": "Partwork",
                                                           "reply_to": "news@example.com"}})
    api.json("PUT", f"/campaigns/{second['id']}/content",
             {"plain_text": "35% off\n*|UNSUB|*\n*|LIST:ADDRESS|*"})
    api("POST", f"/campaigns/{second['id']}/actions/send", expect=204)
    assert api.json("GET", f"/campaigns/{second['id']}")["status"] == "sending"
    api("POST", f"/campaigns/{second['id']}/actions/cancel-send", expect=204)
    api("DELETE", f"/campaigns/{second['id']}", expect=204)
    api("GET", f"/campaigns/{second['id']}", expect=404)

    # Batches, with results as a gzipped tar served by the emulator.
    started = api.json("POST", "/batches", {"operations": [
        {"method": "PUT", "path": f"/lists/{list_id}/members/{subscriber_hash('eve@example.com')}",
         "operation_id": "eve", "body": json.dumps({"email_address": "eve@example.com",
                                                    "status_if_new": "subscribed"})},
        {"method": "POST", "path": f"/lists/{list_id}/members", "operation_id": "ann-again",
         "body": json.dumps({"email_address": ann, "status": "subscribed"})}]})
    finished = wait_for_batch(api, started["id"])
    assert (finished["total_operations"], finished["errored_operations"]) == (2, 1)
    assert api.json("GET", "/batches")["total_items"] == 1
    archive = requests.get(finished["response_body_url"], timeout=10)
    with tarfile.open(fileobj=io.BytesIO(archive.content), mode="r:gz") as tar:
        results = [r for m in tar.getmembers() if m.isfile()
                   for r in json.load(tar.extractfile(m))]
    assert {r["operation_id"]: r["status_code"] for r in results} == {"eve": 200,
                                                                       "ann-again": 400}
    api("DELETE", f"/batches/{started['id']}", expect=204)
    api.json("POST", "/batch-webhooks", {"url": "http://127.0.0.1:9/batch-done"})
    assert api.json("GET", "/batch-webhooks")["total_items"] == 1

    # Errors every route can give: a wrong key, the connection limit, injected faults.
    api("GET", "/ping", key="wrong-us1", expect=401)
    control.configure(max_in_flight=0)
    api("GET", "/ping", expect=429)
    control.configure(max_in_flight=10)
    control.add_fault("429", r"/lists$", count=1)
    control.add_fault("5xx", r"/lists$", count=1, status=503)
    api("GET", "/lists", expect=429)
    api("GET", "/lists", expect=503)

    assert api.errors == [], "\n".join(api.errors)
    missing = conformance.trimmed_operations() - conformance.checked
    assert not missing, f"operations never exercised: {sorted(missing)}"
    print(f"\nchecked {len(conformance.checked)} operations of the trimmed description and "
          f"{len(conformance.checked_in_full)} more of the full one, "
          f"{conformance.answers} answers")


def test_the_check_catches_answers_that_break_the_description(conformance):
    """The checker is not a rubber stamp: wrong statuses, types and fields are reported."""
    member_path = "/3.0/lists/a1b2c3d4e5/members/" + subscriber_hash("a@example.com")
    good = json.dumps({"id": "x", "status": "subscribed", "email_address": "a@example.com"})
    assert conformance.check("GET", member_path, 200, "application/json", good.encode()) == []
    cases = [
        (200, "application/json", {"status": "unknown-status"}),
        (200, "application/json", {"web_id": "not-an-integer"}),
        (200, "application/json", {"made_up_field": 1}),
        (200, "application/json", {"last_changed": "yesterday"}),
        (201, "application/json", {}),
        (200, "text/html", {}),
        (400, "application/problem+json", {"title": "Bad", "status": "400"}),
    ]
    for status, content_type, body in cases:
        errors = conformance.check("GET", member_path, status, content_type,
                                   json.dumps(body).encode())
        assert errors, f"{status} {content_type} {body} passed"
    assert conformance.check("POST", "/3.0/campaigns/abc/actions/send", 204, None, b"x")
    assert conformance.check("GET", "/3.0/no/such/route", 200, "application/json", b"{}")
