"""The app against the Mailchimp emulator: point it there, fill the audience, read what it did.

``running`` is what the emulator fixtures yield (tests/support/mailchimp_emulator/fixtures.py).
"""

from urllib.parse import urlencode

from pipeline.audience.models import MailchimpSeriesInterest
from pipeline.providers.mailchimp_client import MailchimpClient
from pipeline.providers.mailchimp_errors import RetryPolicy

# Campaign content Mailchimp accepts as ready to send: an unsubscribe link and the postal address.
READY_HTML = "<p>Part 3 is live.</p><a href='*|UNSUB|*'>Unsubscribe</a> *|LIST:ADDRESS|*"
BATCH_ROUTE = "POST /lists/{list_id}"


WEBHOOK_SECRET = "s3cret-path-Segment"
WEBHOOK_URL = f"/hooks/mailchimp/{WEBHOOK_SECRET}/"


def use_unsigned_webhooks(settings) -> None:
    """List webhooks as Mailchimp sends them: to a secret URL, with no signing key."""
    settings.MAILCHIMP = {**settings.MAILCHIMP, "WEBHOOK_SECRET": WEBHOOK_SECRET,
                          "WEBHOOK_SIGNING_KEY": None}


def webhook_body(event_type: str, fired_at: str = "2026-11-20 10:00:00", **data) -> str:
    """A form-encoded list webhook; each ``data`` key goes in ``data[...]`` (``"merges][FNAME"``
    nests)."""
    return urlencode({"type": event_type, "fired_at": fired_at,
                      **{f"data[{key}]": value for key, value in data.items()}})


def use_emulator(settings, running) -> None:
    settings.MAILCHIMP = running.settings()
    settings.EMAIL_PROVIDER = "mailchimp"
    settings.MAILCHIMP_TIMEOUT = 5


def fast_client(**overrides) -> MailchimpClient:
    """The real wrapper from settings, with short backoffs so fault tests stay quick."""
    options = {"retry": RetryPolicy(max_attempts=4, base_seconds=0.01, cap_seconds=0.05),
               "timeout": 2.0}
    options.update(overrides)
    return MailchimpClient.from_settings(**options)


def add_members(running, emails, *, interests=None) -> None:
    state = running.emulator.state
    for email in emails:
        body = {"email_address": email, "status": "subscribed"}
        if interests:
            body["interests"] = {interest: True for interest in interests}
        state.add_member(running.list_id, body)


def map_series_to_interest(running, series, *, category_id=None) -> MailchimpSeriesInterest:
    state = running.emulator.state
    if category_id is None:
        category_id = state.add_category(running.list_id, {"title": "Series",
                                                           "type": "checkboxes"})["id"]
    interest = state.add_interest(running.list_id, category_id, {"name": series.title})
    return MailchimpSeriesInterest.objects.create(
        series=series, category_id=category_id, interest_id=interest["id"],
        interest_name=series.title,
    )


def real_sends(running, provider_campaign_id=None) -> list[dict]:
    return [s for s in running.control.sends(campaign_id=provider_campaign_id)
            if s["kind"] != "test" and not s["canceled"]]


def route_count(running, label: str) -> int:
    """Calls the emulator applied on one route, e.g. "POST /lists/{list_id}" (faulted ones are
    not counted)."""
    return running.control.stats()["by_route"].get(label, 0)


def batch_requests(running) -> int:
    """Batch-subscribe calls the emulator applied."""
    return route_count(running, BATCH_ROUTE)


def ready_campaign(client, **kwargs) -> str:
    """A campaign at the emulator that is ready to send (content set, one member)."""
    client.upsert_member("reader@example.com", status_if_new="subscribed")
    campaign = client.create_campaign(subject="Part 3", from_name="Partwork",
                                      reply_to="news@example.com", **kwargs)
    client.set_campaign_content(campaign["id"], html=READY_HTML)
    return campaign["id"]
