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

Every call here returns a dict (``{}`` for 204) or raises one of the typed errors of
``mailchimp_errors``, so callers can back off (RateLimited, TransientError) or record a per-member
outcome (MemberError). Idempotent calls are retried with exponential backoff and full jitter;
``send_campaign`` never is: after a timeout the caller reads the campaign's status and trusts it.
A ``RetryPolicy`` may also carry a time budget for one call, retries included, for callers that
must finish within a lease.

This module holds the client and its one call path; the calls themselves are grouped by what
they reach: ``mailchimp_lists`` (account, lists, members, interests, segments, webhooks),
``mailchimp_campaigns`` and ``mailchimp_batches``.

Callers: the audience sync (pipeline/audience/services/sync.py) and the campaigns' provider
(pipeline/providers/mailchimp.py, which turns these errors into ProviderErrors).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable

import mailchimp_marketing
import requests
from django.conf import settings
from mailchimp_marketing.api_client import ApiClientError

from pipeline.providers.mailchimp_batches import BatchCalls
from pipeline.providers.mailchimp_campaigns import CampaignCalls
from pipeline.providers.mailchimp_errors import (
    RETRY_REJECTED,
    RETRY_TRANSIENT,
    MailchimpConfigurationError,
    MailchimpError,
    NotFound,
    RateLimited,
    RetryableError,
    RetryPolicy,
    TransientError,
    error_for,
    json_object,
)
from pipeline.providers.mailchimp_lists import ListCalls

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 30.0


class MailchimpClient(ListCalls, CampaignCalls, BatchCalls):
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
                return json_object(result.text) if result.content else {}
            raise error_for(result.status_code, json_object(result.text), operation=operation,
                            response=result, member_call=member_call)
        if isinstance(result, dict):
            return result
        if isinstance(result, str):  # a 2xx body that was not application/json
            return json_object(result)
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
        return error_for(error.status_code, json_object(cause), operation=operation,
                         member_call=member_call)
