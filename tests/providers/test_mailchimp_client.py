"""The Mailchimp wrapper: the real mailchimp-marketing client over real HTTP to the emulator."""

import hashlib
import time
from datetime import UTC, datetime, timedelta

import mailchimp_marketing
import pytest
import requests
from mailchimp_marketing.api_client import ApiClientError

from pipeline.providers.mailchimp_client import MailchimpClient
from pipeline.providers.mailchimp_errors import (
    AuthError,
    CampaignNotReady,
    InvalidRequest,
    MailchimpConfigurationError,
    MemberError,
    NotFound,
    TransientError,
)
from pipeline.providers.mailchimp_lists import subscriber_hash
from tests.support.mailchimp import READY_HTML, ready_campaign, route_count
from tests.support.mailchimp_emulator.openapi_check import conformance_or_skip


# -- building the client ---------------------------------------------------------------------
def test_from_settings_points_the_real_client_at_the_api_url(mailchimp_settings):
    mailchimp_emulator = mailchimp_settings
    client = MailchimpClient.from_settings()
    assert client.host == mailchimp_emulator.url
    assert client.client.api_client.server == ""
    assert client.ping()["health_status"] == "Everything's Chimpy!"
    assert client.get_list()["id"] == mailchimp_emulator.list_id
    second = client.create_list({
        "name": "Second", "permission_reminder": "You asked.", "email_type_option": False,
        "contact": {"company": "P", "address1": "1 St", "city": "London", "state": "",
                    "zip": "N1", "country": "GB"},
        "campaign_defaults": {"from_name": "P", "from_email": "p@example.com", "subject": "",
                              "language": "en"}})
    assert [audience["id"] for audience in client.all_lists(count=1)] == [
        mailchimp_emulator.list_id, second["id"]]  # two pages of one


def test_settings_without_key_or_list_are_refused(settings):
    settings.MAILCHIMP = {"API_KEY": None, "SERVER": None, "API_URL": None, "LIST_ID": None}
    with pytest.raises(MailchimpConfigurationError):
        MailchimpClient.from_settings()
    client = MailchimpClient(api_key="abc-us21")
    assert client.client.api_client.server == "us21"
    with pytest.raises(MailchimpConfigurationError):
        client.get_list()


def test_the_word_server_in_a_path_survives(mailchimp_emulator, client):
    """The client replaces "server" anywhere in the URL unless the server is empty."""
    mailchimp_emulator.emulator.reset(list_id="myserverlist")
    assert client.get_list("myserverlist")["id"] == "myserverlist"
    raw = mailchimp_marketing.Client({"api_key": mailchimp_emulator.api_key, "server": "us1"})
    raw.api_client.host = mailchimp_emulator.url
    with pytest.raises(ApiClientError) as caught:  # the path became /lists/myus1list
        raw.lists.get_list("myserverlist")
    assert caught.value.status_code == 404


def test_changing_the_timeout_keeps_the_key(mailchimp_emulator, client):
    client.set_timeout(2)
    assert client.client.api_client.timeout == 2
    assert client.ping()
    # What a bare set_config({"timeout": ...}) does: the key is gone, every call is refused.
    client.client.api_client.set_config({"timeout": 2})
    with pytest.raises(AuthError):
        client.ping()


def test_a_wrong_key_is_an_auth_error_and_not_retried(mailchimp_emulator, sleeps):
    client = MailchimpClient(api_key="wrong-us1", api_url=mailchimp_emulator.url, sleep=sleeps)
    with pytest.raises(AuthError) as caught:
        client.ping()
    assert (caught.value.status, caught.value.title) == (401, "API Key Invalid")
    assert client.calls == 1 and sleeps == []


def test_the_raw_client_quirks_the_wrapper_exists_for(mailchimp_emulator, client):
    """What mailchimp-marketing 3.0.80 itself does against the emulator (DESIGN.md)."""
    raw = client.client
    email_hash = subscriber_hash("ann@example.com")
    raw.lists.set_list_member(client.list_id, email_hash, {"email_address": "ann@example.com",
                                                           "status_if_new": "subscribed"})
    with pytest.raises(ApiClientError) as caught:
        raw.lists.add_list_member(client.list_id, {"email_address": "ann@example.com",
                                                   "status": "subscribed"})
    assert str(caught.value) == "" and caught.value.status_code == 400
    assert isinstance(caught.value.text, str)  # the problem+json, unparsed
    assert '"title": "Member Exists"' in caught.value.text
    tagged = raw.lists.update_list_member_tags(client.list_id, email_hash, {"tags": []})
    assert tagged.status_code == 204 and tagged.content == b""  # a bare Response
    mailchimp_emulator.control.add_fault("5xx", r"/ping$", count=1, status=500,
                                         empty_body=True)
    assert raw.ping.get().status_code == 500  # no exception for an empty-bodied error
    client.set_timeout(0.2)
    mailchimp_emulator.control.add_fault("timeout", r"/ping$", count=1, hang_seconds=2)
    with pytest.raises(ApiClientError) as timed_out:
        raw.ping.get()
    assert timed_out.value.status_code is None
    assert isinstance(timed_out.value.text, requests.Timeout)


# -- members ---------------------------------------------------------------------------------
def test_subscriber_hash_is_md5_of_the_lower_cased_address():
    assert subscriber_hash(" Ann@Example.COM ") == hashlib.md5(b"ann@example.com").hexdigest()


def test_upsert_creates_then_updates_the_same_member(mailchimp_emulator, client):
    created = client.upsert_member("Ann@Example.com", status_if_new="pending",
                                   merge_fields={"FNAME": "Ann"})
    assert created["status"] == "pending"
    updated = client.upsert_member("ann@example.com", status="subscribed")
    assert updated["id"] == created["id"] and updated["status"] == "subscribed"
    assert client.get_member("ANN@example.com")["merge_fields"]["FNAME"] == "Ann"
    assert mailchimp_emulator.control.state()["lists"][client.list_id]["members"] == 1


def test_member_errors_carry_mailchimps_titles(mailchimp_emulator, client):
    client.add_member("ann@example.com", status="subscribed")
    with pytest.raises(MemberError) as exists:
        client.add_member("ann@example.com", status="subscribed")
    assert exists.value.title == "Member Exists" and exists.value.status == 400

    client.upsert_member("gone@example.com", status_if_new="subscribed")
    assert client.delete_member_permanently("gone@example.com") == {}
    with pytest.raises(MemberError) as forgotten:
        client.upsert_member("gone@example.com", status_if_new="subscribed")
    assert forgotten.value.title == "Forgotten Email Not Subscribed"

    client.upsert_member("bounced@example.com", status_if_new="subscribed")
    mailchimp_emulator.control.mark_member("bounced@example.com", status="cleaned",
                                           compliance=True)
    with pytest.raises(MemberError) as compliance:
        client.upsert_member("bounced@example.com", status="subscribed")
    assert compliance.value.title == "Member In Compliance State"

    with pytest.raises(MemberError) as invalid:
        client.upsert_member("not-an-address", status_if_new="subscribed")
    assert invalid.value.title == "Invalid Resource"

    with pytest.raises(NotFound):
        client.get_member("nobody@example.com")


def test_tags_answer_204_and_come_back_empty(client):
    client.upsert_member("ann@example.com", status_if_new="subscribed")
    assert client.set_member_tags("ann@example.com", active=["sleep", "offers"]) == {}
    assert client.set_member_tags("ann@example.com", inactive=["offers"]) == {}
    assert client.member_tags("ann@example.com") == ["sleep"]
    assert client.archive_member("ann@example.com") == {}
    assert client.get_member("ann@example.com")["status"] == "archived"


def test_batch_subscribe_reports_per_member_errors(mailchimp_emulator, client):
    client.upsert_member("old@example.com", status_if_new="subscribed")
    members = [{"email_address": f"reader{i}@example.com", "status": "subscribed"}
               for i in range(498)]
    members += [{"email_address": "old@example.com", "status": "subscribed"},
                {"email_address": "broken@", "status": "subscribed"}]
    result = client.batch_subscribe(members, update_existing=False)
    assert (result["total_created"], result["total_updated"]) == (498, 0)
    assert sorted(e["error_code"] for e in result["errors"]) == ["ERROR_CONTACT_EXISTS",
                                                                "ERROR_GENERIC"]
    again = client.batch_subscribe(members[:10], update_existing=True)
    assert (again["total_created"], again["total_updated"]) == (0, 10)
    with pytest.raises(ValueError):
        client.batch_subscribe(members + [{"email_address": "x@example.com"}])
    assert route_count(mailchimp_emulator, "POST /lists/{list_id}") == 2


# -- interests and segments ------------------------------------------------------------------
def test_interests_and_segments_count_members(client):
    category = client.ensure_interest_category("Series")
    assert client.ensure_interest_category("Series")["id"] == category["id"]
    sleep = client.ensure_interest(category["id"], "Sleep")
    assert client.ensure_interest(category["id"], "Sleep")["id"] == sleep["id"]
    client.upsert_member("ann@example.com", status_if_new="subscribed",
                         interests={sleep["id"]: True})
    client.upsert_member("bob@example.com", status_if_new="subscribed")
    client.set_member_tags("bob@example.com", active=["vip"])
    saved = client.create_segment("Sleep readers", conditions=[{
        "condition_type": "Interests", "field": f"interests-{category['id']}",
        "op": "interestcontains", "value": [sleep["id"]]}])
    assert saved["member_count"] == 1
    tag = next(s for s in client.segments() if s["name"] == "vip")
    either = client.create_segment("Sleep or VIP", match="any", conditions=[
        {"condition_type": "Interests", "field": f"interests-{category['id']}",
         "op": "interestcontains", "value": [sleep["id"]]},
        {"condition_type": "StaticSegment", "field": "static_segment", "op": "static_is",
         "value": tag["id"]}])
    assert either["member_count"] == 2
    static = client.create_segment("Hand picked", static_emails=["bob@example.com"])
    assert client.get_segment(static["id"])["member_count"] == 1
    changed = client.segment_members_change(static["id"], add=["ann@example.com",
                                                               "nobody@example.com"])
    assert changed["total_added"] == 1  # not a list member: named in the errors, not added
    assert changed["errors"][0]["email_addresses"] == ["nobody@example.com"]
    assert client.segment_members_change(static["id"], add=["ann@example.com"]
                                         )["total_added"] == 1  # again: harmless
    assert client.get_segment(static["id"])["member_count"] == 2
    with pytest.raises(ValueError):
        client.segment_members_change(static["id"], add=["x@example.com"] * 501)
    assert client.delete_segment(static["id"]) == {}
    with pytest.raises(NotFound):
        client.get_segment(static["id"])


def test_merge_fields_and_webhooks(client):
    assert [f["tag"] for f in client.merge_fields()] == ["FNAME", "LNAME"]
    client.add_merge_field(name="Source", tag="SOURCE")
    assert "SOURCE" in [f["tag"] for f in client.merge_fields()]
    hook = client.create_webhook("http://127.0.0.1:9/hooks/s3cret",
                                 events=["subscribe", "unsubscribe"])
    assert hook["events"]["subscribe"] and not hook["events"]["cleaned"]
    assert [h["id"] for h in client.webhooks()] == [hook["id"]]


# -- campaigns -------------------------------------------------------------------------------
def test_campaign_lifecycle(mailchimp_emulator, client):
    campaign_id = ready_campaign(client)
    client.set_campaign_content(campaign_id, html="<p>No footer</p>")
    checklist = client.send_checklist(campaign_id)
    assert checklist["is_ready"] is False
    with pytest.raises(CampaignNotReady):
        client.send_campaign(campaign_id)
    client.set_campaign_content(campaign_id, html=READY_HTML, plain_text="Part 3 *|UNSUB|*")
    assert client.campaign_content(campaign_id)["plain_text"] == "Part 3 *|UNSUB|*"
    assert client.send_checklist(campaign_id)["is_ready"] is True
    assert client.send_test(campaign_id, ["editor@example.com"]) == {}

    at = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(hours=2)
    with pytest.raises(ValueError):
        client.schedule_campaign(campaign_id, at.replace(minute=7))
    at = at.replace(minute=45)
    assert client.schedule_campaign(campaign_id, at) == {}
    assert client.campaign_status(campaign_id) == "schedule"
    with pytest.raises(InvalidRequest):
        client.update_campaign(campaign_id, {"settings": {"subject_line": "Late change"}})
    assert client.unschedule_campaign(campaign_id) == {}
    client.update_campaign(campaign_id, {"settings": {"subject_line": "Part 3, revised"}})

    assert client.send_campaign(campaign_id) == {}
    assert client.campaign_status(campaign_id) == "sent"
    with pytest.raises(InvalidRequest):
        client.send_campaign(campaign_id)
    sends = mailchimp_emulator.control.sends(campaign_id=campaign_id)
    assert [(s["kind"], s["recipient_count"]) for s in sends] == [("test", 1), ("send", 1)]
    assert sends[1]["subject"] == "Part 3, revised"
    mailchimp_emulator.control.set_report(campaign_id, opens=4, unique_opens=1, clicks=1,
                                          unique_clicks=1)
    report = client.campaign_report(campaign_id)
    assert (report["emails_sent"], report["opens"]["opens_total"],
            report["clicks"]["clicks_total"]) == (1, 4, 1)


def test_cancel_and_delete(mailchimp_emulator, client):
    mailchimp_emulator.control.configure(sending_seconds=600)
    campaign_id = ready_campaign(client)
    client.send_campaign(campaign_id)
    assert client.campaign_status(campaign_id) == "sending"
    assert client.cancel_send(campaign_id) == {}
    assert client.campaign_status(campaign_id) == "canceled"
    assert client.delete_campaign(campaign_id) == {}
    with pytest.raises(NotFound):
        client.get_campaign(campaign_id)


# -- batches ---------------------------------------------------------------------------------
def test_batch_operations_and_gzipped_results(mailchimp_emulator, client):
    operations = [{"method": "PUT", "operation_id": f"member-{i}",
                   "path": f"/lists/{client.list_id}/members/"
                           f"{subscriber_hash(f'b{i}@example.com')}",
                   "body": {"email_address": f"b{i}@example.com", "status_if_new": "subscribed"}}
                  for i in range(1200)]
    operations.append({"method": "POST", "operation_id": "duplicate",
                       "path": f"/lists/{client.list_id}/members",
                       "body": {"email_address": "b0@example.com", "status": "subscribed"}})
    started = client.start_batch(operations)
    assert started["total_operations"] == 1201
    batch = wait_for(lambda: client.batch_status(started["id"]),
                     lambda b: b["status"] == "finished")
    assert batch["errored_operations"] == 1
    results = client.batch_results(batch["response_body_url"])
    assert len(results) == 1201
    by_id = {r["operation_id"]: r for r in results}
    assert by_id["member-7"]["response"]["email_address"] == "b7@example.com"
    assert by_id["duplicate"]["status_code"] == 400
    assert by_id["duplicate"]["response"]["title"] == "Member Exists"


def wait_for(read, done, seconds: float = 10):
    """Poll a real background process for a condition, with a bounded deadline."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = read()
        if done(value):
            return value
        time.sleep(0.02)
    raise AssertionError(f"condition not reached in {seconds}s: {value}")


# -- what the wrapper sends ------------------------------------------------------------------
def test_the_wrapper_sends_bodies_the_description_accepts(mailchimp_emulator, client):
    """Every request body the wrapper builds validates against the operation's requestBody."""
    mailchimp_emulator.control.configure(record_requests=True)
    category = client.ensure_interest_category("Series")
    sleep = client.ensure_interest(category["id"], "Sleep")
    client.add_merge_field(name="Source", tag="SOURCE")
    client.upsert_member("ann@example.com", status_if_new="pending", status="subscribed",
                         merge_fields={"FNAME": "Ann"}, interests={sleep["id"]: True},
                         language="en")
    client.add_member("bob@example.com", status="subscribed", tags=["early"])
    client.update_member("bob@example.com", {"status": "unsubscribed"})
    client.set_member_tags("ann@example.com", active=["vip"], inactive=["early"])
    client.batch_subscribe([{"email_address": "c@example.com", "status_if_new": "subscribed",
                             "interests": {sleep["id"]: True}, "tags": ["imported"]}])
    saved = client.create_segment("Sleep", conditions=[{
        "condition_type": "Interests", "field": f"interests-{category['id']}",
        "op": "interestcontains", "value": [sleep["id"]]}])
    static = client.create_segment("Picked", static_emails=["ann@example.com"])
    client.update_segment(static["id"], {"name": "Picked by hand"})
    client.segment_members_change(static["id"], add=["bob@example.com"],
                                  remove=["ann@example.com"])
    client.create_webhook("http://127.0.0.1:9/hooks/x", events=["subscribe", "upemail"])
    campaign = client.create_campaign(subject="S", from_name="P", reply_to="p@example.com",
                                      preview_text="Pre", segment_opts={
                                          "saved_segment_id": saved["id"]})
    # An announcement leaving out a static segment (readers catching up), as the campaigns
    # service builds it: the series' interest AND not in the segment.
    client.create_campaign(subject="A", from_name="P", reply_to="p@example.com", segment_opts={
        "match": "all", "conditions": [
            {"condition_type": "Interests", "field": f"interests-{category['id']}",
             "op": "interestcontains", "value": [sleep["id"]]},
            {"condition_type": "StaticSegment", "field": "static_segment", "op": "static_not",
             "value": static["id"]}]})
    client.update_campaign(campaign["id"], {"settings": {"subject_line": "S2"}})
    client.set_campaign_content(campaign["id"], html=READY_HTML, plain_text="text *|UNSUB|*")
    client.send_test(campaign["id"], ["editor@example.com"])
    at = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=3)
    client.schedule_campaign(campaign["id"], at)
    client.unschedule_campaign(campaign["id"])
    client.send_campaign(campaign["id"])
    client.start_batch([{"method": "PATCH", "operation_id": "x",
                         "path": f"/lists/{client.list_id}/members/"
                                 f"{subscriber_hash('c@example.com')}",
                         "body": {"vip": True}}])

    conformance = conformance_or_skip()
    errors = []
    for method, path, body in mailchimp_emulator.emulator.recorded:
        errors += conformance.check_request(method, path, body)
    assert errors == [], "\n".join(errors)
    assert len(conformance.requests_checked) >= 20
    print(f"\nrequest bodies checked for {len(conformance.requests_checked)} operations")


def test_iter_members_pages_and_filters(client):
    client.batch_subscribe([{"email_address": f"m{i}@example.com", "status": "subscribed"}
                            for i in range(25)])
    client.upsert_member("left@example.com", status_if_new="unsubscribed")
    assert len(list(client.iter_members(page_size=10))) == 26
    assert [m["email_address"] for m in client.iter_members(status="unsubscribed")] == [
        "left@example.com"]
    future = datetime.now(UTC) + timedelta(days=1)
    assert list(client.iter_members(since_last_changed=future)) == []


def test_wait_for_batch_polls_within_a_deadline(mailchimp_emulator, client, sleeps):
    mailchimp_emulator.control.configure(batch_autorun=False)
    started = client.start_batch([{"method": "GET", "path": "/ping"}])
    ticks = iter(range(100))
    with pytest.raises(TransientError):
        client.wait_for_batch(started["id"], timeout_seconds=3, poll_seconds=1,
                              clock=lambda: next(ticks))
    assert sleeps == [1, 1]  # polled at t=1 and t=2, gave up at t=3
    mailchimp_emulator.control.run_batches()
    assert client.wait_for_batch(started["id"])["status"] == "finished"


def test_a_delete_whose_answer_was_lost_is_done_on_retry(mailchimp_emulator, client, sleeps):
    client.upsert_member("gone@example.com", status_if_new="subscribed")
    mailchimp_emulator.control.add_fault("answer-lost", r"/actions/delete-permanent$", count=1)
    assert client.delete_member_permanently("gone@example.com") == {}
    assert client.calls == 3 and len(sleeps) == 1  # the retry met a 404: already deleted
    with pytest.raises(NotFound):
        client.delete_member_permanently("gone@example.com")
