"""The batch calls of ``MailchimpClient`` (``/batches``) and the reading of their results.

A batch runs many operations at Mailchimp; its results come back as a gzipped tar of JSON files,
each a list of operation results whose ``response`` is itself a JSON string.
``BatchCalls`` is mixed into ``MailchimpClient`` (pipeline/providers/mailchimp_client.py).
"""

from __future__ import annotations

import io
import json
import tarfile
import time
from collections.abc import Callable

import requests

from pipeline.providers.mailchimp_errors import (
    RETRY_REJECTED,
    TransientError,
    error_for,
    json_object,
)


class BatchCalls:
    """Mixed into ``MailchimpClient``; uses its ``call``, ``client``, ``timeout`` and sleep."""

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
            raise error_for(answer.status_code, json_object(answer.text),
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
                item["response"] = json_object(item.get("response"))
                results.append(item)
    return results
