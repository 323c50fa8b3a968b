"""What a failed Mailchimp call raises, and how often and how long a call may be retried.

``error_for`` turns an HTTP status and its problem+json body (possibly empty) into a typed error,
so callers can back off (RateLimited, TransientError), record a per-member outcome (MemberError)
or give up. ``RetryPolicy`` is the bounded backoff with jitter that ``MailchimpClient.call``
applies; each call names what it may retry (``RETRY_*``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import requests


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


def json_object(text) -> dict:
    """A body as a dict: its JSON object, ``{"detail": text}`` when it is not one, ``{}``."""
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
