"""The audience calls of ``MailchimpClient``: the account, lists, members, merge fields,
interests, segments and webhooks.

``ListCalls`` is mixed into ``MailchimpClient`` (pipeline/providers/mailchimp_client.py), whose
``call`` runs each request with the retry rule named here and whose ``_list`` supplies the
configured list id. Members are addressed by ``subscriber_hash``, Mailchimp's own member id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime

from pipeline.providers.mailchimp_errors import RETRY_REJECTED, RETRY_TRANSIENT

BATCH_SUBSCRIBE_LIMIT = 500
SEGMENT_MEMBERS_LIMIT = 500  # per list, per static-segment members call


def subscriber_hash(email: str) -> str:
    """Mailchimp's member id: the MD5 of the lower-cased address."""
    return hashlib.md5(email.strip().lower().encode()).hexdigest()  # noqa: S324 (Mailchimp's id)


class ListCalls:
    """Mixed into ``MailchimpClient``; uses its ``call``, ``_list`` and ``client``."""

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

    def delete_member_permanently_by_hash(self, member_hash: str, *,
                                          list_id: str | None = None) -> dict:
        """The same, for a member known only by its hash (after our copy of the address is
        erased). A 404 on a retry after a lost answer counts as done."""
        return self.call("delete_member_permanently",
                         self.client.lists.delete_list_member_permanent, self._list(list_id),
                         member_hash, member_call=True, deletes=True)

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

    def segment_members_change(self, segment_id: int, *, add: list[str] = (),
                               remove: list[str] = (), list_id: str | None = None) -> dict:
        """POST /lists/{id}/segments/{segment_id}: add and remove members of a static segment,
        at most 500 addresses each. Adding a member already in, or removing one already out,
        changes nothing, so the call is safe to repeat after a timeout. Addresses that are not
        list members are ignored (the answer's ``errors`` names them)."""
        if len(add) > SEGMENT_MEMBERS_LIMIT or len(remove) > SEGMENT_MEMBERS_LIMIT:
            raise ValueError(f"at most {SEGMENT_MEMBERS_LIMIT} addresses to add and to remove "
                             "per call")
        body = {"members_to_add": list(add), "members_to_remove": list(remove)}
        return self.call("segment_members_change",
                         lambda lid, sid: self.client.lists.batch_segment_members(body, lid, sid),
                         self._list(list_id), str(segment_id))

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
