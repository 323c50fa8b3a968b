"""The emulated Marketing API routes: (method, path pattern) -> a call into the account state.

Paths here are relative to /3.0, as in a /batches operation. A handler returns (status, body);
body None means an empty 204 answer.
"""

import re
from collections.abc import Callable
from datetime import UTC, datetime

from .problems import Problem, invalid, not_found
from .state import AccountState

Handler = Callable[[AccountState, dict, dict, dict], tuple[int, dict | None]]
ROUTES: list[tuple[str, re.Pattern, Handler, str]] = []

_SEGMENT = r"(?P<{}>[^/]+)"


def route(method: str, template: str):
    """Register a handler for a path template written like the OpenAPI one."""
    pattern = re.sub(r"\{(\w+)\}", lambda m: _SEGMENT.format(m.group(1)), template)
    compiled = re.compile(f"^{pattern}/?$")

    def register(handler: Handler) -> Handler:
        ROUTES.append((method, compiled, handler, template))
        return handler

    return register


def page(query: dict) -> tuple[int, int]:
    try:
        count = min(int(query.get("count", 10)), 1000)
        offset = int(query.get("offset", 0))
    except ValueError:
        raise invalid("count and offset must be integers.") from None
    return offset, count


def ok(body):
    return 200, body


def paged(body: dict, key: str, query: dict) -> tuple[int, dict]:
    """Apply count/offset to a collection answer; total_items stays the full count."""
    offset, count = page(query)
    return ok({**body, key: body[key][offset: offset + count]})


def no_content(_=None):
    return 204, None


@route("GET", "/ping")
def ping(state, p, q, b):
    return ok({"health_status": "Everything's Chimpy!"})


@route("GET", "/lists")
def get_lists(state, p, q, b):
    offset, count = page(q)
    lists = state.all_lists()
    return ok({"lists": lists[offset: offset + count], "total_items": len(lists),
               "constraints": {
        "may_create": True, "max_instances": 100, "current_total_instances": len(lists)}})


@route("POST", "/lists")
def post_list(state, p, q, b):
    return ok(state.create_list(b))


@route("GET", "/lists/{list_id}")
def get_list(state, p, q, b):
    return ok(state.list_json(p["list_id"]))


@route("POST", "/lists/{list_id}")
def batch_subscribe(state, p, q, b):
    return ok(state.batch_subscribe(p["list_id"], b))


@route("GET", "/lists/{list_id}/members")
def list_members(state, p, q, b):
    offset, count = page(q)
    since = None
    if q.get("since_last_changed"):
        try:
            since = datetime.fromisoformat(q["since_last_changed"].replace("Z", "+00:00"))
        except ValueError:
            raise invalid("since_last_changed must be an ISO 8601 time.") from None
        since = since if since.tzinfo else since.replace(tzinfo=UTC)
    return ok(state.list_members(p["list_id"], status=q.get("status"), offset=offset,
                                 count=count, since_last_changed=since))


@route("POST", "/lists/{list_id}/members")
def add_member(state, p, q, b):
    return ok(state.add_member(p["list_id"], b))


@route("GET", "/lists/{list_id}/members/{subscriber_hash}")
def get_member(state, p, q, b):
    return ok(state.get_member(p["list_id"], p["subscriber_hash"]))


@route("PUT", "/lists/{list_id}/members/{subscriber_hash}")
def put_member(state, p, q, b):
    return ok(state.upsert_member(p["list_id"], p["subscriber_hash"], b))


@route("PATCH", "/lists/{list_id}/members/{subscriber_hash}")
def patch_member(state, p, q, b):
    return ok(state.patch_member(p["list_id"], p["subscriber_hash"], b))


@route("DELETE", "/lists/{list_id}/members/{subscriber_hash}")
def archive_member(state, p, q, b):
    return no_content(state.archive_member(p["list_id"], p["subscriber_hash"]))


@route("POST", "/lists/{list_id}/members/{subscriber_hash}/actions/delete-permanent")
def delete_member_permanent(state, p, q, b):
    return no_content(state.delete_member_permanently(p["list_id"], p["subscriber_hash"]))


@route("GET", "/lists/{list_id}/members/{subscriber_hash}/tags")
def get_member_tags(state, p, q, b):
    return paged(state.member_tags(p["list_id"], p["subscriber_hash"]), "tags", q)


@route("POST", "/lists/{list_id}/members/{subscriber_hash}/tags")
def post_member_tags(state, p, q, b):
    return no_content(state.set_member_tags(p["list_id"], p["subscriber_hash"], b))


@route("GET", "/lists/{list_id}/merge-fields")
def get_merge_fields(state, p, q, b):
    return paged(state.list_merge_fields(p["list_id"]), "merge_fields", q)


@route("POST", "/lists/{list_id}/merge-fields")
def post_merge_field(state, p, q, b):
    return ok(state.add_merge_field(p["list_id"], b))


@route("GET", "/lists/{list_id}/interest-categories")
def get_categories(state, p, q, b):
    return paged(state.list_categories(p["list_id"]), "categories", q)


@route("POST", "/lists/{list_id}/interest-categories")
def post_category(state, p, q, b):
    return ok(state.add_category(p["list_id"], b))


@route("GET", "/lists/{list_id}/interest-categories/{interest_category_id}/interests")
def get_interests(state, p, q, b):
    return paged(state.list_interests(p["list_id"], p["interest_category_id"]), "interests", q)


@route("POST", "/lists/{list_id}/interest-categories/{interest_category_id}/interests")
def post_interest(state, p, q, b):
    return ok(state.add_interest(p["list_id"], p["interest_category_id"], b))


@route("GET", "/lists/{list_id}/segments")
def get_segments(state, p, q, b):
    return paged(state.list_segments(p["list_id"], type_=q.get("type")), "segments", q)


@route("POST", "/lists/{list_id}/segments")
def post_segment(state, p, q, b):
    return ok(state.create_segment(p["list_id"], b))


@route("GET", "/lists/{list_id}/segments/{segment_id}")
def get_segment(state, p, q, b):
    return ok(state.get_segment(p["list_id"], p["segment_id"]))


@route("PATCH", "/lists/{list_id}/segments/{segment_id}")
def patch_segment(state, p, q, b):
    return ok(state.update_segment(p["list_id"], p["segment_id"], b))


@route("POST", "/lists/{list_id}/segments/{segment_id}")
def post_segment_members(state, p, q, b):
    return ok(state.batch_segment_members(p["list_id"], p["segment_id"], b))


@route("DELETE", "/lists/{list_id}/segments/{segment_id}")
def delete_segment(state, p, q, b):
    return no_content(state.delete_segment(p["list_id"], p["segment_id"]))


@route("GET", "/lists/{list_id}/webhooks")
def get_webhooks(state, p, q, b):
    return ok(state.list_webhooks(p["list_id"]))  # not paged at Mailchimp either


@route("POST", "/lists/{list_id}/webhooks")
def post_webhook(state, p, q, b):
    return ok(state.add_webhook(p["list_id"], b))


@route("DELETE", "/lists/{list_id}/webhooks/{webhook_id}")
def delete_webhook(state, p, q, b):
    return no_content(state.delete_webhook(p["list_id"], p["webhook_id"]))


@route("GET", "/campaigns")
def get_campaigns(state, p, q, b):
    offset, count = page(q)
    state.advance()
    return ok(state.list_campaigns(status=q.get("status"), offset=offset, count=count))


@route("POST", "/campaigns")
def post_campaign(state, p, q, b):
    return ok(state.create_campaign(b))


@route("GET", "/campaigns/{campaign_id}")
def get_campaign(state, p, q, b):
    state.advance()
    return ok(state.get_campaign(p["campaign_id"]))


@route("PATCH", "/campaigns/{campaign_id}")
def patch_campaign(state, p, q, b):
    state.advance()
    return ok(state.update_campaign(p["campaign_id"], b))


@route("DELETE", "/campaigns/{campaign_id}")
def delete_campaign(state, p, q, b):
    state.advance()
    return no_content(state.delete_campaign(p["campaign_id"]))


@route("GET", "/campaigns/{campaign_id}/content")
def get_content(state, p, q, b):
    return ok(state.get_content(p["campaign_id"]))


@route("PUT", "/campaigns/{campaign_id}/content")
def put_content(state, p, q, b):
    state.advance()
    return ok(state.set_content(p["campaign_id"], b))


@route("GET", "/campaigns/{campaign_id}/send-checklist")
def get_checklist(state, p, q, b):
    return ok(state.checklist(p["campaign_id"]))


@route("POST", "/campaigns/{campaign_id}/actions/test")
def post_test(state, p, q, b):
    return no_content(state.send_test(p["campaign_id"], b))


@route("POST", "/campaigns/{campaign_id}/actions/send")
def post_send(state, p, q, b):
    return no_content(state.send(p["campaign_id"]))


@route("POST", "/campaigns/{campaign_id}/actions/schedule")
def post_schedule(state, p, q, b):
    state.advance()
    return no_content(state.schedule(p["campaign_id"], b))


@route("POST", "/campaigns/{campaign_id}/actions/unschedule")
def post_unschedule(state, p, q, b):
    return no_content(state.unschedule(p["campaign_id"]))


@route("POST", "/campaigns/{campaign_id}/actions/cancel-send")
def post_cancel(state, p, q, b):
    return no_content(state.cancel_send(p["campaign_id"]))


@route("GET", "/reports/{campaign_id}")
def get_report(state, p, q, b):
    return ok(state.report(p["campaign_id"]))


@route("GET", "/batch-webhooks")
def get_batch_webhooks(state, p, q, b):
    return paged(state.list_batch_webhooks(), "webhooks", q)


@route("POST", "/batch-webhooks")
def post_batch_webhook(state, p, q, b):
    return ok(state.add_batch_webhook(b))


def resolve(method: str, path: str) -> tuple[Handler, dict, str]:
    """Find the handler for a request; 404 (or 405) as Mailchimp answers otherwise."""
    path_matched = False
    for route_method, pattern, handler, template in ROUTES:
        match = pattern.match(path)
        if match:
            path_matched = True
            if route_method == method:
                return handler, match.groupdict(), template
    if path_matched:
        raise Problem(405, "Method Not Allowed",
                      "The requested method and resource are not compatible. See the Allow "
                      "header for this resource's available methods.")
    raise not_found()


def select_fields(body, fields: list[list[str]] | None, exclude: list[list[str]]):
    """Mailchimp's ``fields`` / ``exclude_fields``: dotted paths; lists apply to each item."""
    if isinstance(body, list):
        return [select_fields(item, fields, exclude) for item in body]
    if not isinstance(body, dict):
        return body
    result = {}
    for key, value in body.items():
        if [key] in exclude:
            continue
        if fields is not None and not any(f[0] == key for f in fields):
            continue
        deeper = None if fields is None or [key] in fields else [
            f[1:] for f in fields if f[0] == key and len(f) > 1]
        result[key] = select_fields(value, deeper, [e[1:] for e in exclude
                                                    if e[0] == key and len(e) > 1])
    return result


def _paths(text: str | None) -> list[list[str]] | None:
    if not text:
        return None
    return [item.strip().split(".") for item in text.split(",") if item.strip()]


def dispatch(state: AccountState, method: str, path: str, query: dict,
             body: dict) -> tuple[int, dict | None]:
    """Run one API call; Problems become (status, problem body)."""
    try:
        handler, params, _ = resolve(method, path)
        status, answer = handler(state, params, query, body)
    except Problem as problem:
        return problem.status, problem.body()
    if answer is not None and ("fields" in query or "exclude_fields" in query):
        answer = select_fields(answer, _paths(query.get("fields")),
                               _paths(query.get("exclude_fields")) or [])
    return status, answer
