"""The one place the official ``mailchimp-marketing`` client is built and called.

mailchimp-marketing 3.0.80 has quirks (DESIGN.md) that every caller would otherwise meet:
- errors are ``ApiClientError`` whose ``.text`` is the raw problem+json string (``str()`` is
  empty), or the ``requests`` exception itself for timeouts and connection errors;
- a non-2xx answer with an empty body (429, 403, 500 are seen) does not raise: the call returns
  a ``requests.Response``, and so do 204 answers (send, schedule, test, tags);
- ``url.replace("server", <server>)`` runs over the whole URL, so with our own ``API_URL`` the
  server is the empty string;
- ``set_config`` replaces the whole configuration (key included), so key, server and timeout
  are always given together.

Every call here returns a dict (``{}`` for 204) or raises one of the typed errors below, so callers
can back off (RateLimited, TransientError) or record a per-member outcome (MemberError). Idempotent
calls are retried with exponential backoff and full jitter; ``send_campaign`` never is: after a
timeout the caller reads the campaign's status and trusts it. A ``RetryPolicy`` may also carry a
time budget for one call, retries included, for callers that must finish within a lease.

Callers: the audience sync (pipeline/audience/services/sync.py) and the campaigns' provider
(pipeline/providers/mailchimp.py, which turns these errors into ProviderErrors).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import random
import tarfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import mailchimp_marketing
import requests
from django.conf import settings
from mailchimp_marketing.api_client import ApiClientError

logger = logging.getLogger(__name__)

BATCH_SUBSCRIBE_LIMIT = 500
DEFAULT_TIMEOUT = 30.0


# -- errors ---------------------------------------------------------------------------------
class MailchimpError(Exception):
    """Any failed Mailchimp call, with what the problem+json answer said."""

    def __init__(self, message: str = "", *, status: int | None = None, title: str = "",
                 detail: str = "", problem: dict | None = None, operation: str = ""):
        self.status = status
        self.title = title
        self.detail = detail
        self.problem = problem or {}
        self.operation = operation
        super().__init__(message or f"{operation}: {status} {title}: {detail}".strip(": "))


class MailchimpConfigurationError(MailchimpError):
    """The settings cannot make a working client (no key, no list)."""


class AuthError(MailchimpError):
    """401/403: a wrong key or a forbidden resource; retrying will not help."""


class NotFound(MailchimpError):
    """404: the list, member, campaign or batch does not exist."""


class InvalidRequest(MailchimpError):
    """A 4xx the caller must fix; retrying the same request gives the same answer."""


class MemberError(InvalidRequest):
    """A per-member refusal: "Member Exists", "Forgotten Email Not Subscribed",
    "Member In Compliance State", "Invalid Resource" for a bad address. Never fatal to a sync."""


class CampaignNotReady(InvalidRequest):
    """400 "Your Campaign is not ready to send." (the send checklist has errors)."""


class RetryableError(MailchimpError):
    """The call may succeed later."""


class RateLimited(RetryableError):
    """429: over the connection limit; nothing was applied."""

    def __init__(self, *args, retry_after: float | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.retry_after = retry_after


class TransientError(RetryableError):
    """5xx, a timeout or a dropped connection. After a timeout the request may have been applied
    (``outcome_unknown``): read the state back before doing anything that is not idempotent."""

    def __init__(self, *args, outcome_unknown: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.outcome_unknown = outcome_unknown


MEMBER_TITLES = {"Member Exists", "Forgotten Email Not Subscribed", "Member In Compliance State",
                 "Invalid Resource"}


def _json_object(text) -> dict:
    if isinstance(text, dict):
        return text
    if isinstance(text, (str, bytes)) and text:
        try:
            parsed = json.loads(text)
        except (TypeError, ValueError):
            return {"detail": str(text)[:500]}
        return parsed if isinstance(parsed, dict) else {"detail": str(parsed)[:500]}
    return {}


def _retry_after(response: requests.Response | None) -> float | None:
    if response is None:
        return None
    try:
        return float(response.headers.get("Retry-After"))
    except (TypeError, ValueError):
        return None


def error_for(status: int | None, problem: dict, *, operation: str,
              response: requests.Response | None = None, member_call: bool = False
              ) -> MailchimpError:
    """The typed error for an HTTP status and its problem+json body (possibly empty)."""
    title = str(problem.get("title") or "")
    detail = str(problem.get("detail") or "")
    fields = {"status": status, "title": title, "detail": detail, "problem": problem,
              "operation": operation}
    if status == 429:
        return RateLimited(retry_after=_retry_after(response), **fields)
    if status is not None and status >= 500:
        return TransientError(**fields)
    if status in (401, 403):
        return AuthError(**fields)
    if status == 404:
        return NotFound(**fields)
    if status == 400 and detail == "Your Campaign is not ready to send.":
        return CampaignNotReady(**fields)
    if member_call and title in MEMBER_TITLES:
        return MemberError(**fields)
    if status is not None and 400 <= status < 500:
        return InvalidRequest(**fields)
    return MailchimpError(**fields)


# -- helpers --------------------------------------------------------------------------------
def subscriber_hash(email: str) -> str:
    """Mailchimp's member id: the MD5 of the lower-cased address."""
    return hashlib.md5(email.strip().lower().encode()).hexdigest()  # noqa: S324 (Mailchimp's id)


def is_quarter_hour(moment: datetime) -> bool:
    moment = moment.astimezone(UTC)
    return moment.minute % 15 == 0 and moment.second == 0 and moment.microsecond == 0


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff with full jitter (sleep a random time up to the cap).

    ``budget_seconds`` bounds one call, retries included: a retry is made only if the time
    spent so far, the sleep before it and one more full timeout all fit in the budget. None:
    no bound but ``max_attempts``."""

    max_attempts: int = 4
    base_seconds: float = 0.5
    cap_seconds: float = 8.0
    budget_seconds: float | None = None

    def delay(self, attempt: int, error: RetryableError, rng: Callable[[], float]) -> float:
        if isinstance(error, RateLimited) and error.retry_after is not None:
            return min(error.retry_after, self.cap_seconds)
        return rng() * min(self.cap_seconds, self.base_seconds * 2 ** attempt)

    def fits(self, *, spent: float, delay: float, timeout: float) -> bool:
        """Whether a retry after ``delay`` can still end, even by timing out, within budget."""
        return self.budget_seconds is None or spent + delay + timeout <= self.budget_seconds


# What a call may retry: everything transient, only rejections (429, nothing applied), nothing.
RETRY_TRANSIENT = "transient"
RETRY_REJECTED = "rejected"
RETRY_NEVER = "never"


class MailchimpClient:
    """Our wrapper around ``mailchimp_marketing.Client``; build it with ``from_settings()``."""

    def __init__(self, *, api_key: str, server: str | None = None, api_url: str | None = None,
                 list_id: str | None = None, timeout: float = DEFAULT_TIMEOUT,
                 retry: RetryPolicy | None = None, sleep: Callable[[float], None] = time.sleep,
                 rng: Callable[[], float] = random.random,
                 clock: Callable[[], float] = time.monotonic):
        if not api_key:
            raise MailchimpConfigurationError("MAILCHIMP_API_KEY is not set")
        self.list_id = list_id
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._rng = rng
        self._clock = clock
        if api_url:
            # Our own base URL: an empty server stops the client's url.replace("server", ...).
            server = ""
        elif not server:
            server = api_key.rsplit("-", 1)[-1] if "-" in api_key else ""
            if not server:
                raise MailchimpConfigurationError(
                    "set MAILCHIMP_SERVER or use a key ending in -<data centre>")
        self._config = {"api_key": api_key, "server": server, "timeout": timeout}
        self.client = mailchimp_marketing.Client(dict(self._config))
        if api_url:
            self.client.api_client.host = api_url.rstrip("/")
        self.calls = 0  # HTTP requests made, retries included

    @classmethod
    def from_settings(cls, **overrides) -> MailchimpClient:
        return cls.from_config(settings.MAILCHIMP, **overrides)

    @classmethod
    def from_config(cls, config: dict, **overrides) -> MailchimpClient:
        """From a dict shaped like ``settings.MAILCHIMP`` (API_KEY, SERVER, API_URL, LIST_ID)."""
        arguments = {"api_key": config.get("API_KEY"), "server": config.get("SERVER"),
                     "api_url": config.get("API_URL"), "list_id": config.get("LIST_ID")}
        arguments.update(overrides)
        return cls(**arguments)

    @property
    def host(self) -> str:
        return self.client.api_client.host

    def set_timeout(self, seconds: float) -> None:
        """Change the timeout; set_config replaces everything, so the key goes along."""
        self._config["timeout"] = seconds
        host = self.client.api_client.host
        self.client.api_client.set_config(dict(self._config))
        self.client.api_client.host = host
        self.timeout = seconds

    def _list(self, list_id: str | None) -> str:
        list_id = list_id or self.list_id
        if not list_id:
            raise MailchimpConfigurationError("no list id given and MAILCHIMP_LIST_ID is unset")
        return list_id

    # -- the one call path ---------------------------------------------------------------------
    def call(self, operation: str, function: Callable, *args, retry: str = RETRY_TRANSIENT,
             member_call: bool = False, deletes: bool = False) -> dict:
        """Run one client method with normalisation and the retry rule; returns a dict.

        For a delete (``deletes``), a 404 on a retry after a lost answer means the first try
        worked, so it counts as done."""
        attempt = 0
        outcome_unknown = False
        started = self._clock()
        while True:
            try:
                return self._call_once(operation, function, args, member_call)
            except NotFound:
                if deletes and outcome_unknown:
                    return {}
                raise
            except RetryableError as error:
                outcome_unknown = outcome_unknown or (
                    isinstance(error, TransientError) and error.outcome_unknown)
                may_retry = retry == RETRY_TRANSIENT or (
                    retry == RETRY_REJECTED and isinstance(error, RateLimited))
                attempt += 1
                if not may_retry or attempt >= self.retry.max_attempts:
                    raise
                delay = self.retry.delay(attempt - 1, error, self._rng)
                if not self.retry.fits(spent=self._clock() - started, delay=delay,
                                       timeout=self.timeout):
                    raise
                logger.info("mailchimp %s: %s; retry %d in %.2fs", operation, error, attempt,
                            delay)
                self._sleep(delay)

    def _call_once(self, operation: str, function: Callable, args: tuple,
                   member_call: bool) -> dict:
        self.calls += 1
        try:
            result = function(*args)
        except ApiClientError as error:
            raise self._from_api_error(error, operation, member_call) from error
        if isinstance(result, requests.Response):
            if result.ok:  # 204, or a 2xx with a body the client could not read
                return _json_object(result.text) if result.content else {}
            raise error_for(result.status_code, _json_object(result.text), operation=operation,
                            response=result, member_call=member_call)
        if isinstance(result, dict):
            return result
        if isinstance(result, str):  # a 2xx body that was not application/json
            return _json_object(result)
        return {"result": result}

    @staticmethod
    def _from_api_error(error: ApiClientError, operation: str,
                        member_call: bool) -> MailchimpError:
        cause = error.text
        if isinstance(cause, requests.Timeout):
            # A read timeout may come after Mailchimp applied the request.
            return TransientError(f"{operation}: timed out ({cause})", operation=operation,
                                  outcome_unknown=not isinstance(cause,
                                                                 requests.ConnectTimeout))
        if isinstance(cause, requests.ConnectionError):
            return TransientError(f"{operation}: connection failed ({cause})",
                                  operation=operation, outcome_unknown=True)
        if isinstance(cause, (requests.exceptions.ChunkedEncodingError,
                              requests.exceptions.ContentDecodingError)):
            # The request went out and the answer broke off: it may have been applied.
            return TransientError(f"{operation}: the answer broke off ({cause})",
                                  operation=operation, outcome_unknown=True)
        if isinstance(cause, BaseException):
            return MailchimpError(f"{operation}: {cause!r}", operation=operation)
        return error_for(error.status_code, _json_object(cause), operation=operation,
                         member_call=member_call)

    # -- account and lists ---------------------------------------------------------------------
    def ping(self) -> dict:
        return self.call("ping", self.client.ping.get)

    def get_list(self, list_id: str | None = None) -> dict:
        return self.call("get_list", self.client.lists.get_list, self._list(list_id))

    def all_lists(self, *, count: int = 1000) -> list[dict]:
        """Every audience, not just the first page (a gap of wagtail-newsletter)."""
        lists, offset = [], 0
        while True:
            page = self.call("all_lists", lambda o=offset: self.client.lists.get_all_lists(
                count=count, offset=o))
            lists += page.get("lists", [])
            offset += count
            if offset >= page.get("total_items", 0) or not page.get("lists"):
                return lists

    def create_list(self, body: dict) -> dict:
        return self.call("create_list", self.client.lists.create_list, body,
                         retry=RETRY_REJECTED)

    # -- members -------------------------------------------------------------------------------
    def upsert_member(self, email: str, *, list_id: str | None = None,
                      status_if_new: str = "pending", status: str | None = None,
                      merge_fields: dict | None = None, interests: dict | None = None,
                      language: str | None = None) -> dict:
        """PUT by hash: creates with ``status_if_new`` or updates; safe to repeat.

        With ``status`` the member gets that status whether new or not, and ``status_if_new``
        is left out: the description's oneOf accepts one or the other, not both."""
        body = {"email_address": email}
        if status is None:
            body["status_if_new"] = status_if_new
        for key, value in (("status", status), ("merge_fields", merge_fields),
                           ("interests", interests), ("language", language)):
            if value is not None:
                body[key] = value
        return self.call("upsert_member", self.client.lists.set_list_member,
                         self._list(list_id), subscriber_hash(email), body, member_call=True)

    def iter_members(self, *, list_id: str | None = None, status: str | None = None,
                     since_last_changed: datetime | None = None, page_size: int = 1000):
        """Every member, page by page (for pulling statuses back into our list)."""
        list_id = self._list(list_id)
        filters = {"count": page_size}
        if status:
            filters["status"] = status
        if since_last_changed:
            filters["since_last_changed"] = since_last_changed.astimezone(UTC).isoformat()
        offset = 0
        while True:
            page = self.call("iter_members", lambda o=offset: self.client.lists.
                             get_list_members_info(list_id, offset=o, **filters))
            members = page.get("members", [])
            yield from members
            offset += len(members)
            if not members or offset >= page.get("total_items", 0):
                return

    def add_member(self, email: str, *, status: str, list_id: str | None = None,
                   **fields) -> dict:
        """POST: refuses an existing member ("Member Exists"), so not retried after a timeout."""
        return self.call("add_member", self.client.lists.add_list_member, self._list(list_id),
                         {"email_address": email, "status": status, **fields},
                         retry=RETRY_REJECTED, member_call=True)

    def get_member(self, email: str, *, list_id: str | None = None) -> dict:
        return self.call("get_member", self.client.lists.get_list_member, self._list(list_id),
                         subscriber_hash(email), member_call=True)

    def update_member(self, email: str, changes: dict, *, list_id: str | None = None) -> dict:
        return self.call("update_member", self.client.lists.update_list_member,
                         self._list(list_id), subscriber_hash(email), changes, member_call=True)

    def archive_member(self, email: str, *, list_id: str | None = None) -> dict:
        return self.call("archive_member", self.client.lists.delete_list_member,
                         self._list(list_id), subscriber_hash(email), member_call=True,
                         deletes=True)

    def delete_member_permanently(self, email: str, *, list_id: str | None = None) -> dict:
        """GDPR erase: the address can never be re-imported, only re-subscribe itself."""
        return self.call("delete_member_permanently",
                         self.client.lists.delete_list_member_permanent, self._list(list_id),
                         subscriber_hash(email), member_call=True, deletes=True)

    def set_member_tags(self, email: str, *, active: Iterable[str] = (),
                        inactive: Iterable[str] = (), list_id: str | None = None) -> dict:
        tags = [{"name": name, "status": "active"} for name in active]
        tags += [{"name": name, "status": "inactive"} for name in inactive]
        return self.call("set_member_tags", self.client.lists.update_list_member_tags,
                         self._list(list_id), subscriber_hash(email), {"tags": tags},
                         member_call=True)

    def member_tags(self, email: str, *, list_id: str | None = None) -> list[str]:
        answer = self.call("member_tags", lambda lid, h: self.client.lists.get_list_member_tags(
            lid, h, count=1000), self._list(list_id), subscriber_hash(email), member_call=True)
        return [tag["name"] for tag in answer.get("tags", [])]

    def batch_subscribe(self, members: list[dict], *, update_existing: bool = True,
                        list_id: str | None = None) -> dict:
        """POST /lists/{id} with up to 500 members; per-member errors come back in ``errors``.

        With ``update_existing`` the call is an upsert and safe to repeat after a timeout."""
        if len(members) > BATCH_SUBSCRIBE_LIMIT:
            raise ValueError(f"at most {BATCH_SUBSCRIBE_LIMIT} members per call, "
                             f"got {len(members)}")
        body = {"members": members, "update_existing": update_existing}
        return self.call("batch_subscribe", self.client.lists.batch_list_members,
                         self._list(list_id), body,
                         retry=RETRY_TRANSIENT if update_existing else RETRY_REJECTED)

    # -- merge fields, interests, segments, webhooks ---------------------------------------
    def merge_fields(self, *, list_id: str | None = None) -> list[dict]:
        return self.call("merge_fields", lambda lid: self.client.lists.get_list_merge_fields(
            lid, count=1000), self._list(list_id)).get("merge_fields", [])

    def add_merge_field(self, *, name: str, tag: str, type_: str = "text",
                        list_id: str | None = None) -> dict:
        return self.call("add_merge_field", self.client.lists.add_list_merge_field,
                         self._list(list_id), {"name": name, "tag": tag, "type": type_},
                         retry=RETRY_REJECTED)

    def interest_categories(self, *, list_id: str | None = None) -> list[dict]:
        return self.call("interest_categories",
                         lambda lid: self.client.lists.get_list_interest_categories(
                             lid, count=1000), self._list(list_id)).get("categories", [])

    def interests(self, category_id: str, *, list_id: str | None = None) -> list[dict]:
        return self.call("interests",
                         lambda lid: self.client.lists.list_interest_category_interests(
                             lid, category_id, count=1000), self._list(list_id)
                         ).get("interests", [])

    def ensure_interest_category(self, title: str, *, type_: str = "checkboxes",
                                 list_id: str | None = None) -> dict:
        """The category with this title, created when missing (read first: create is a POST)."""
        for category in self.interest_categories(list_id=list_id):
            if category["title"] == title:
                return category
        return self.call("create_interest_category",
                         self.client.lists.create_list_interest_category, self._list(list_id),
                         {"title": title, "type": type_}, retry=RETRY_REJECTED)

    def ensure_interest(self, category_id: str, name: str, *,
                        list_id: str | None = None) -> dict:
        for interest in self.interests(category_id, list_id=list_id):
            if interest["name"] == name:
                return interest
        return self.call("create_interest", self.client.lists.create_interest_category_interest,
                         self._list(list_id), category_id, {"name": name},
                         retry=RETRY_REJECTED)

    def create_segment(self, name: str, *, static_emails: list[str] | None = None,
                       match: str = "all", conditions: list[dict] | None = None,
                       list_id: str | None = None) -> dict:
        if static_emails is not None:
            body = {"name": name, "static_segment": static_emails}
        else:
            body = {"name": name, "options": {"match": match, "conditions": conditions or []}}
        return self.call("create_segment", self.client.lists.create_segment,
                         self._list(list_id), body, retry=RETRY_REJECTED)

    def get_segment(self, segment_id: int, *, list_id: str | None = None) -> dict:
        return self.call("get_segment", self.client.lists.get_segment, self._list(list_id),
                         str(segment_id))

    def segments(self, *, list_id: str | None = None) -> list[dict]:
        return self.call("segments", lambda lid: self.client.lists.list_segments(
            lid, count=1000), self._list(list_id)).get("segments", [])

    def update_segment(self, segment_id: int, changes: dict, *,
                       list_id: str | None = None) -> dict:
        return self.call("update_segment", self.client.lists.update_segment,
                         self._list(list_id), str(segment_id), changes)

    def delete_segment(self, segment_id: int, *, list_id: str | None = None) -> dict:
        return self.call("delete_segment", self.client.lists.delete_segment,
                         self._list(list_id), str(segment_id), deletes=True)

    def webhooks(self, *, list_id: str | None = None) -> list[dict]:
        return self.call("webhooks", self.client.lists.get_list_webhooks,
                         self._list(list_id)).get("webhooks", [])

    def create_webhook(self, url: str, *, events: Iterable[str], sources: Iterable[str] = (
            "user", "admin"), list_id: str | None = None) -> dict:
        body = {"url": url, "events": {event: True for event in events},
                "sources": {source: True for source in sources}}
        return self.call("create_webhook", self.client.lists.create_list_webhook,
                         self._list(list_id), body, retry=RETRY_REJECTED)

    # -- campaigns -----------------------------------------------------------------------------
    def create_campaign(self, *, subject: str, from_name: str, reply_to: str,
                        title: str = "", preview_text: str = "", type_: str = "regular",
                        segment_opts: dict | None = None, list_id: str | None = None,
                        auto_footer: bool | None = None,
                        inline_css: bool | None = None) -> dict:
        """POST /campaigns. Not retried after a timeout (it would make a second campaign):
        persist the returned id at once. ``auto_footer``/``inline_css`` are sent only when
        given (Mailchimp's defaults otherwise)."""
        recipients = {"list_id": self._list(list_id)}
        if segment_opts:
            recipients["segment_opts"] = segment_opts
        campaign_settings = {"subject_line": subject, "from_name": from_name,
                             "reply_to": reply_to, "title": title or subject,
                             "preview_text": preview_text}
        for key, value in (("auto_footer", auto_footer), ("inline_css", inline_css)):
            if value is not None:
                campaign_settings[key] = value
        body = {"type": type_, "recipients": recipients, "settings": campaign_settings}
        return self.call("create_campaign", self.client.campaigns.create, body,
                         retry=RETRY_REJECTED)

    def get_campaign(self, campaign_id: str, *, fields: list[str] | None = None) -> dict:
        """The campaign, or only ``fields`` of it (e.g. ["status", "emails_sent"])."""
        if fields:
            return self.call("get_campaign", lambda cid: self.client.campaigns.get(
                cid, fields=fields), campaign_id)
        return self.call("get_campaign", self.client.campaigns.get, campaign_id)

    def campaign_status(self, campaign_id: str) -> str:
        """save, paused, schedule, sending, sent, canceled...: what to trust after a doubt."""
        return self.get_campaign(campaign_id)["status"]

    def update_campaign(self, campaign_id: str, changes: dict) -> dict:
        return self.call("update_campaign", self.client.campaigns.update, campaign_id, changes)

    def delete_campaign(self, campaign_id: str) -> dict:
        return self.call("delete_campaign", self.client.campaigns.remove, campaign_id,
                         deletes=True)

    def set_campaign_content(self, campaign_id: str, *, html: str,
                             plain_text: str | None = None) -> dict:
        body = {"html": html}
        if plain_text is not None:
            body["plain_text"] = plain_text
        return self.call("set_campaign_content", self.client.campaigns.set_content,
                         campaign_id, body)

    def campaign_content(self, campaign_id: str) -> dict:
        return self.call("campaign_content", self.client.campaigns.get_content, campaign_id)

    def send_checklist(self, campaign_id: str) -> dict:
        return self.call("send_checklist", self.client.campaigns.get_send_checklist,
                         campaign_id)

    def send_test(self, campaign_id: str, emails: list[str], *, send_type: str = "html") -> dict:
        return self.call("send_test", self.client.campaigns.send_test_email, campaign_id,
                         {"test_emails": emails, "send_type": send_type}, retry=RETRY_REJECTED)

    def send_campaign(self, campaign_id: str) -> dict:
        """actions/send, exactly one HTTP request. On TransientError the send may have happened:
        the caller reads ``campaign_status`` and trusts it, never resends blindly."""
        return self.call("send_campaign", self.client.campaigns.send, campaign_id,
                         retry=RETRY_NEVER)

    def schedule_campaign(self, campaign_id: str, at: datetime) -> dict:
        if at.tzinfo is None:
            raise ValueError("schedule time must be timezone-aware")
        if not is_quarter_hour(at):
            raise ValueError("Mailchimp schedules only on quarter hours (UTC :00 :15 :30 :45)")
        body = {"schedule_time": at.astimezone(UTC).isoformat()}
        return self.call("schedule_campaign", self.client.campaigns.schedule, campaign_id, body,
                         retry=RETRY_REJECTED)

    def unschedule_campaign(self, campaign_id: str) -> dict:
        return self.call("unschedule_campaign", self.client.campaigns.unschedule, campaign_id,
                         retry=RETRY_REJECTED)

    def cancel_send(self, campaign_id: str) -> dict:
        return self.call("cancel_send", self.client.campaigns.cancel_send, campaign_id,
                         retry=RETRY_REJECTED)

    def campaign_report(self, campaign_id: str) -> dict:
        return self.call("campaign_report", self.client.reports.get_campaign_report,
                         campaign_id)

    # -- batches -------------------------------------------------------------------------------
    def start_batch(self, operations: list[dict]) -> dict:
        """POST /batches. Each operation: method, path (relative to /3.0), optional params,
        body (a dict, serialised here as Mailchimp wants) and operation_id."""
        prepared = []
        for operation in operations:
            item = {key: operation[key] for key in ("method", "path", "params", "operation_id")
                    if key in operation}
            if "body" in operation:
                body = operation["body"]
                item["body"] = body if isinstance(body, str) else json.dumps(body)
            prepared.append(item)
        return self.call("start_batch", self.client.batches.start, {"operations": prepared},
                         retry=RETRY_REJECTED)

    def batch_status(self, batch_id: str) -> dict:
        return self.call("batch_status", self.client.batches.status, batch_id)

    def wait_for_batch(self, batch_id: str, *, timeout_seconds: float = 600,
                       poll_seconds: float = 2.0,
                       clock: Callable[[], float] = time.monotonic) -> dict:
        """Poll a batch until it is finished, within a bounded time; returns its status."""
        deadline = clock() + timeout_seconds
        while True:
            batch = self.batch_status(batch_id)
            if batch.get("status") == "finished":
                return batch
            if clock() >= deadline:
                raise TransientError(f"batch {batch_id} still {batch.get('status')} after "
                                     f"{timeout_seconds:.0f}s", operation="wait_for_batch",
                                     outcome_unknown=True)
            self._sleep(poll_seconds)

    def batch_results(self, response_body_url: str) -> list[dict]:
        """Download a finished batch's gzipped tar and return every operation's result, with
        ``response`` parsed from its JSON string."""
        try:
            answer = requests.get(response_body_url, timeout=self.timeout)
        except requests.RequestException as error:
            raise TransientError(f"batch results: {error}", operation="batch_results",
                                 outcome_unknown=False) from error
        if answer.status_code != 200:
            raise error_for(answer.status_code, _json_object(answer.text),
                            operation="batch_results", response=answer)
        return parse_batch_results(answer.content)


def parse_batch_results(archive: bytes) -> list[dict]:
    results = []
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        for member in tar.getmembers():
            if not member.isfile() or not member.name.endswith(".json"):
                continue
            for item in json.load(tar.extractfile(member)):
                item = dict(item)
                item["response"] = _json_object(item.get("response"))
                results.append(item)
    return results
