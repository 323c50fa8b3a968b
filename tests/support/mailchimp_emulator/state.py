"""The emulator's in-memory Mailchimp account: audiences, members, segments, campaigns, sends.

Every public method takes the one lock, so the threaded server can call them concurrently. Clocks
are wall-clock datetimes (``datetime.now``) so tests can move time with time-machine.
"""

import hashlib
import itertools
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from .problems import Problem, bad_request, invalid, not_found

EMAIL_RE = re.compile(
    r"^[^@\s\"<>(),;:]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$")
MEMBER_STATUSES = {"subscribed", "unsubscribed", "cleaned", "pending", "transactional"}
# What the API lets a caller set; "cleaned" and "archived" come only from Mailchimp itself.
SETTABLE_STATUSES = {"subscribed", "unsubscribed", "pending", "transactional"}
UNSUB_TAGS = ("*|UNSUB|*", "*|UNSUB:")
ADDRESS_TAGS = ("*|LIST:ADDRESS|*", "*|LIST:ADDRESSLINE|*", "*|HTML:LIST_ADDRESS_HTML|*",
                "*|LIST_ADDRESS_HTML|*")


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def iso(moment: datetime | None) -> str:
    return moment.isoformat() if moment else ""


def subscriber_hash(email: str) -> str:
    return hashlib.md5(email.strip().lower().encode()).hexdigest()  # noqa: S324 (Mailchimp's id)


def is_valid_email(email) -> bool:
    return isinstance(email, str) and len(email) <= 254 and bool(EMAIL_RE.match(email))


@dataclass
class Member:
    email: str
    status: str
    web_id: int
    merge_fields: dict = field(default_factory=dict)
    interests: dict = field(default_factory=dict)
    language: str = ""
    vip: bool = False
    email_type: str = "html"
    source: str = "API - Generic"
    ip_signup: str = ""
    timestamp_signup: datetime | None = None
    timestamp_opt: datetime | None = None
    last_changed: datetime | None = None
    unsubscribe_reason: str = ""
    archived: bool = False
    compliance: bool = False

    @property
    def id(self) -> str:
        return subscriber_hash(self.email)

    @property
    def visible_status(self) -> str:
        return "archived" if self.archived else self.status


@dataclass
class Segment:
    id: int
    name: str
    type: str  # "static" (tags are static segments) or "saved"
    created_at: datetime
    updated_at: datetime
    members: set = field(default_factory=set)  # member hashes, static only
    options: dict | None = None  # match + conditions, saved only


@dataclass
class Audience:
    id: str
    web_id: int
    name: str
    contact: dict
    permission_reminder: str
    campaign_defaults: dict
    email_type_option: bool
    double_optin: bool
    date_created: datetime
    members: dict = field(default_factory=dict)  # hash -> Member
    forgotten: set = field(default_factory=set)  # hashes deleted permanently
    merge_fields: list = field(default_factory=list)
    categories: dict = field(default_factory=dict)  # id -> category dict
    interests: dict = field(default_factory=dict)  # id -> interest dict
    segments: dict = field(default_factory=dict)  # int id -> Segment
    webhooks: dict = field(default_factory=dict)  # id -> webhook dict


def _default_merge_fields(list_id: str) -> list:
    return [
        {"merge_id": 1, "tag": "FNAME", "name": "First Name", "type": "text", "required": False,
         "default_value": "", "public": True, "display_order": 2, "help_text": "",
         "list_id": list_id},
        {"merge_id": 2, "tag": "LNAME", "name": "Last Name", "type": "text", "required": False,
         "default_value": "", "public": True, "display_order": 3, "help_text": "",
         "list_id": list_id},
    ]


class AccountState:
    """One Mailchimp account as the emulator sees it."""

    def __init__(self, *, default_list_id: str | None = "a1b2c3d4e5"):
        self.lock = threading.RLock()
        self.default_list_id = default_list_id
        self.reset()

    # -- bookkeeping -------------------------------------------------------------------------
    def reset(self, *, default_list_id: str | None = None) -> None:
        with self.lock:
            if default_list_id is not None:
                self.default_list_id = default_list_id
            self._ids = itertools.count(1)
            self.lists: dict[str, Audience] = {}
            self.campaigns: dict[str, dict] = {}
            self.sends: list[dict] = []
            self.batches: dict[str, dict] = {}
            self.batch_webhooks: dict[str, dict] = {}
            # How long a sent campaign stays in "sending" before it reads "sent".
            self.sending_seconds = 0.0
            # Mailchimp GETs a new webhook URL and wants a 200; off unless configured.
            self.verify_url = None
            if self.default_list_id:
                self.create_list(
                    {
                        "name": "Partwork",
                        "contact": {"company": "Partwork", "address1": "1 Example Street",
                                    "city": "London", "zip": "N1 1AA", "country": "GB",
                                    "state": ""},
                        "permission_reminder": "You signed up on our site.",
                        "campaign_defaults": {"from_name": "Partwork",
                                              "from_email": "news@partwork.localhost",
                                              "subject": "", "language": "en"},
                        "email_type_option": False,
                    },
                    list_id=self.default_list_id,
                )

    def new_id(self) -> str:
        return f"{next(self._ids):010x}"

    def new_number(self) -> int:
        return next(self._ids)

    # -- lists -------------------------------------------------------------------------------
    def audience(self, list_id: str) -> Audience:
        audience = self.lists.get(list_id)
        if audience is None:
            raise not_found()
        return audience

    def create_list(self, body: dict, *, list_id: str | None = None) -> dict:
        with self.lock:
            for key in ("name", "contact", "permission_reminder", "campaign_defaults"):
                if not body.get(key):
                    raise invalid(f"The resource submitted could not be validated: {key} "
                                  "is required.")
            if "email_type_option" not in body:
                raise invalid("The resource submitted could not be validated: "
                              "email_type_option is required.")
            list_id = list_id or self.new_id()
            self.lists[list_id] = Audience(
                id=list_id, web_id=self.new_number(), name=body["name"],
                contact=dict(body["contact"]), permission_reminder=body["permission_reminder"],
                campaign_defaults=dict(body["campaign_defaults"]),
                email_type_option=bool(body["email_type_option"]),
                double_optin=bool(body.get("double_optin", False)), date_created=now(),
                merge_fields=_default_merge_fields(list_id),
            )
            return self.list_json(list_id)

    def list_json(self, list_id: str) -> dict:
        with self.lock:
            a = self.audience(list_id)
            counts = {"subscribed": 0, "unsubscribed": 0, "cleaned": 0}
            for member in a.members.values():
                if not member.archived and member.status in counts:
                    counts[member.status] += 1
            return {
                "id": a.id, "web_id": a.web_id, "name": a.name, "contact": a.contact,
                "permission_reminder": a.permission_reminder, "use_archive_bar": True,
                "campaign_defaults": a.campaign_defaults, "notify_on_subscribe": "",
                "notify_on_unsubscribe": "", "date_created": iso(a.date_created),
                "list_rating": 0, "email_type_option": a.email_type_option,
                "subscribe_url_short": f"http://eepurl.localhost/{a.id}",
                "subscribe_url_long": f"http://list-manage.localhost/subscribe?id={a.id}",
                "beamer_address": f"{a.id}@inbound.localhost", "visibility": "prv",
                "double_optin": a.double_optin, "has_welcome": False,
                "marketing_permissions": False, "modules": [],
                "stats": {
                    "member_count": counts["subscribed"],
                    "unsubscribe_count": counts["unsubscribed"],
                    "cleaned_count": counts["cleaned"],
                    "total_contacts": sum(1 for m in a.members.values() if not m.archived),
                    "merge_field_count": len(a.merge_fields),
                    "campaign_count": sum(1 for c in self.campaigns.values()
                                          if c["recipients"]["list_id"] == a.id),
                },
            }

    def all_lists(self) -> list[dict]:
        with self.lock:
            return [self.list_json(list_id) for list_id in self.lists]

    # -- members -----------------------------------------------------------------------------
    def new_member_json(self, audience: Audience, member: Member) -> dict:
        """The shorter member shape bulk answers use (ListsNewMembers)."""
        body = self.member_json(audience, member)
        for key in ("source", "unsubscribe_reason", "web_id"):
            body.pop(key)
        return body

    def member_json(self, audience: Audience, member: Member) -> dict:
        tags = [{"id": s.id, "name": s.name} for s in audience.segments.values()
                if s.type == "static" and member.id in s.members]
        return {
            "id": member.id, "email_address": member.email,
            "unique_email_id": member.id[:10], "contact_id": member.id,
            "email_type": member.email_type, "status": member.visible_status,
            "merge_fields": member.merge_fields,
            "interests": {iid: bool(member.interests.get(iid, False))
                          for iid in audience.interests},
            "stats": {"avg_open_rate": 0, "avg_click_rate": 0},
            "ip_signup": member.ip_signup, "timestamp_signup": iso(member.timestamp_signup),
            "ip_opt": "", "member_rating": 2,
            "last_changed": iso(member.last_changed), "language": member.language,
            "vip": member.vip, "email_client": "", "location": {"latitude": 0, "longitude": 0},
            "source": member.source, "tags_count": len(tags), "tags": tags,
            "list_id": audience.id, "unsubscribe_reason": member.unsubscribe_reason,
            "web_id": member.web_id,
        } | ({"timestamp_opt": iso(member.timestamp_opt)} if member.timestamp_opt else {})

    def _check_email(self, email) -> str:
        if not is_valid_email(email):
            raise invalid(f"{email} looks fake or invalid, please enter a real email address."
                          if email else "Please provide a valid email address.")
        return email.strip()

    def _refuse_blocked(self, audience: Audience, member_hash: str, email: str,
                        status: str | None) -> None:
        if member_hash in audience.forgotten and member_hash not in audience.members:
            raise Problem(400, "Forgotten Email Not Subscribed",
                          f"{email} was permanently deleted and cannot be re-imported. The "
                          "contact must re-subscribe to get back on the list.")
        member = audience.members.get(member_hash)
        if member and member.compliance and status in ("subscribed", "pending"):
            raise Problem(400, "Member In Compliance State",
                          f"{email} is already a list member in compliance state due to "
                          "unsubscribe, bounce, or compliance review.")

    def _apply(self, audience: Audience, member: Member, body: dict) -> None:
        if "merge_fields" in body and body["merge_fields"] is not None:
            if not isinstance(body["merge_fields"], dict):
                raise invalid("merge_fields must be an object.")
            member.merge_fields = {**member.merge_fields, **body["merge_fields"]}
        if body.get("interests"):
            for interest_id, value in body["interests"].items():
                if interest_id not in audience.interests:
                    raise invalid(f"Invalid interest ID: '{interest_id}'.")
                member.interests[interest_id] = bool(value)
        for key in ("language", "vip", "email_type", "ip_signup"):
            if key in body:
                setattr(member, key, body[key])
        member.last_changed = now()

    def _set_status(self, member: Member, status: str) -> None:
        if status not in SETTABLE_STATUSES:
            raise invalid(f"Invalid status: '{status}'.")
        if status != member.status or member.archived:
            member.status = status
            member.timestamp_opt = now() if status == "subscribed" else member.timestamp_opt
        member.archived = False

    def _new_member(self, audience: Audience, email: str, status: str, body: dict) -> Member:
        if status not in SETTABLE_STATUSES:
            raise invalid(f"Invalid status: '{status}'.")
        moment = now()
        member = Member(email=email, status=status, web_id=self.new_number(),
                        timestamp_signup=moment, last_changed=moment,
                        timestamp_opt=moment if status == "subscribed" else None)
        audience.members[member.id] = member
        audience.forgotten.discard(member.id)
        self._apply(audience, member, body)
        return member

    def add_member(self, list_id: str, body: dict) -> dict:
        with self.lock:
            audience = self.audience(list_id)
            email = self._check_email(body.get("email_address"))
            member_hash = subscriber_hash(email)
            status = body.get("status")
            if not status:
                raise invalid("The resource submitted could not be validated: status is "
                              "required.")
            existing = audience.members.get(member_hash)
            if existing and not existing.archived:
                raise Problem(400, "Member Exists",
                              f"{email} is already a list member. Use PUT to insert or update "
                              "list members.")
            self._refuse_blocked(audience, member_hash, email, status)
            if existing:  # re-adding an archived contact
                self._set_status(existing, status)
                self._apply(audience, existing, body)
                member = existing
            else:
                member = self._new_member(audience, email, status, body)
            self._tag(audience, member, [{"name": t, "status": "active"}
                                         for t in body.get("tags") or []])
            return self.member_json(audience, member)

    def upsert_member(self, list_id: str, member_hash: str, body: dict) -> dict:
        with self.lock:
            audience = self.audience(list_id)
            existing = audience.members.get(member_hash.lower())
            email = body.get("email_address") or (existing.email if existing else None)
            email = self._check_email(email)
            if subscriber_hash(email) != member_hash.lower():
                raise invalid("The subscriber hash does not match the email address.")
            if existing:
                status = body.get("status")
                self._refuse_blocked(audience, member_hash, email, status)
                if status:
                    self._set_status(existing, status)
                elif existing.archived:
                    self._set_status(existing, body.get("status_if_new") or existing.status)
                existing.email = email
                self._apply(audience, existing, body)
                member = existing
            else:
                status = body.get("status_if_new") or body.get("status")
                if not status:
                    raise invalid("The resource submitted could not be validated: "
                                  "status_if_new is required for new members.")
                self._refuse_blocked(audience, member_hash, email, status)
                member = self._new_member(audience, email, status, body)
            return self.member_json(audience, member)

    def patch_member(self, list_id: str, member_hash: str, body: dict) -> dict:
        with self.lock:
            audience = self.audience(list_id)
            member = audience.members.get(member_hash.lower())
            if member is None:
                raise not_found()
            self._refuse_blocked(audience, member.id, member.email, body.get("status"))
            if body.get("email_address") and body["email_address"] != member.email:
                new_email = self._check_email(body["email_address"])
                new_hash = subscriber_hash(new_email)
                if new_hash != member.id and new_hash in audience.members:
                    raise Problem(400, "Member Exists", f"{new_email} is already a list member.")
                del audience.members[member.id]
                for segment in audience.segments.values():
                    if member.id in segment.members:
                        segment.members.discard(member.id)
                        segment.members.add(new_hash)
                member.email = new_email
                audience.members[new_hash] = member
            if body.get("status"):
                self._set_status(member, body["status"])
            self._apply(audience, member, body)
            return self.member_json(audience, member)

    def get_member(self, list_id: str, member_hash: str) -> dict:
        with self.lock:
            audience = self.audience(list_id)
            member = audience.members.get(member_hash.lower())
            if member is None:
                raise not_found()
            return self.member_json(audience, member)

    def list_members(self, list_id: str, *, status: str | None, offset: int,
                     count: int, since_last_changed: datetime | None = None) -> dict:
        with self.lock:
            audience = self.audience(list_id)
            members = [m for m in audience.members.values()
                       if (status is None or m.visible_status == status)
                       and (since_last_changed is None or m.last_changed >= since_last_changed)]
            page = members[offset: offset + count]
            return {"members": [self.member_json(audience, m) for m in page],
                    "list_id": list_id, "total_items": len(members)}

    def archive_member(self, list_id: str, member_hash: str) -> None:
        with self.lock:
            member = self.audience(list_id).members.get(member_hash.lower())
            if member is None or member.archived:
                raise not_found()
            member.archived = True
            member.last_changed = now()

    def delete_member_permanently(self, list_id: str, member_hash: str) -> None:
        with self.lock:
            audience = self.audience(list_id)
            member = audience.members.pop(member_hash.lower(), None)
            if member is None:
                raise not_found()
            audience.forgotten.add(member.id)
            for segment in audience.segments.values():
                segment.members.discard(member.id)

    def mark_member(self, list_id: str, email: str, *, status: str | None = None,
                    compliance: bool | None = None) -> dict:
        """Control API: what only Mailchimp can do (clean a bounce, flag compliance)."""
        with self.lock:
            audience = self.audience(list_id)
            member = audience.members.get(subscriber_hash(email))
            if member is None:
                raise not_found()
            if status:
                if status not in MEMBER_STATUSES:
                    raise invalid(f"Invalid status: '{status}'.")
                member.status = status
            if compliance is not None:
                member.compliance = compliance
            member.last_changed = now()
            return self.member_json(audience, member)

    def batch_subscribe(self, list_id: str, body: dict) -> dict:
        with self.lock:
            audience = self.audience(list_id)
            entries = body.get("members")
            if not isinstance(entries, list):
                raise invalid("The resource submitted could not be validated: members is "
                              "required.")
            if len(entries) > 500:
                raise invalid("You can only add up to 500 members per batch.")
            update_existing = bool(body.get("update_existing", False))
            created, updated, errors = [], [], []
            for entry in entries:
                email = (entry or {}).get("email_address")
                try:
                    email = self._check_email(email)
                    member_hash = subscriber_hash(email)
                    existing = audience.members.get(member_hash)
                    if existing and not existing.archived and not update_existing:
                        errors.append(self._batch_error(
                            email, "ERROR_CONTACT_EXISTS",
                            f"{email} is already a list member, do you want to update? please "
                            "provide update_existing:true in the request body"))
                        continue
                    status = entry.get("status") or entry.get("status_if_new")
                    self._refuse_blocked(audience, member_hash, email,
                                         entry.get("status") if existing else status)
                    if existing:
                        if entry.get("status"):
                            self._set_status(existing, entry["status"])
                        self._apply(audience, existing, entry)
                        member = existing
                        updated.append(existing)
                    else:
                        if not status:
                            raise invalid("Status is required for new members.")
                        member = self._new_member(audience, email, status, entry)
                        created.append(member)
                    self._batch_tags(audience, member, entry.get("tags"),
                                     sync=bool(body.get("sync_tags")))
                except Problem as problem:
                    errors.append(self._batch_error(email, "ERROR_GENERIC", problem.detail))
            return {
                "new_members": [self.new_member_json(audience, m) for m in created],
                "updated_members": [self.new_member_json(audience, m) for m in updated],
                "errors": errors, "total_created": len(created),
                "total_updated": len(updated), "error_count": len(errors),
            }

    def _batch_tags(self, audience: Audience, member: Member, names, *, sync: bool) -> None:
        names = [n for n in (names or []) if isinstance(n, str)]
        changes = [{"name": n, "status": "active"} for n in names]
        if sync:  # sync_tags: the given tags replace the member's others
            changes += [{"name": s.name, "status": "inactive"} for s in audience.segments.values()
                        if s.type == "static" and member.id in s.members and s.name not in names]
        self._tag(audience, member, changes)

    @staticmethod
    def _batch_error(email, code: str, message: str) -> dict:
        return {"email_address": email if isinstance(email, str) else "", "error": message,
                "error_code": code, "field": "", "field_message": ""}

    # -- tags and segments -------------------------------------------------------------------
    def _tag(self, audience: Audience, member: Member, tags: list) -> None:
        for tag in tags:
            name = (tag or {}).get("name")
            if not name:
                raise invalid("Tag names must not be empty.")
            segment = next((s for s in audience.segments.values()
                            if s.type == "static" and s.name == name), None)
            if tag.get("status", "active") == "active":
                if segment is None:
                    moment = now()
                    segment = Segment(id=self.new_number(), name=name, type="static",
                                      created_at=moment, updated_at=moment)
                    audience.segments[segment.id] = segment
                segment.members.add(member.id)
            elif tag.get("status") == "inactive":
                if segment is not None:
                    segment.members.discard(member.id)
            else:
                raise invalid(f"Invalid tag status: '{tag.get('status')}'.")

    def set_member_tags(self, list_id: str, member_hash: str, body: dict) -> None:
        with self.lock:
            audience = self.audience(list_id)
            member = audience.members.get(member_hash.lower())
            if member is None:
                raise not_found()
            if not isinstance(body.get("tags"), list):
                raise invalid("The resource submitted could not be validated: tags is "
                              "required.")
            self._tag(audience, member, body["tags"])

    def member_tags(self, list_id: str, member_hash: str) -> dict:
        with self.lock:
            audience = self.audience(list_id)
            member = audience.members.get(member_hash.lower())
            if member is None:
                raise not_found()
            tags = [{"id": s.id, "name": s.name, "date_added": iso(s.created_at)}
                    for s in audience.segments.values()
                    if s.type == "static" and member.id in s.members]
            return {"tags": tags, "total_items": len(tags)}

    def _condition_matches(self, audience: Audience, member: Member, condition: dict) -> bool:
        kind, op, value = condition.get("condition_type"), condition.get("op"), condition.get(
            "value")
        if kind == "Interests":
            chosen = {iid for iid, on in member.interests.items() if on}
            wanted = set(value or [])
            if op == "interestcontains":
                return bool(chosen & wanted)
            if op == "interestcontainsall":
                return wanted <= chosen
            if op == "interestnotcontains":
                return not chosen & wanted
        elif kind == "StaticSegment":
            segment = audience.segments.get(int(value))
            inside = segment is not None and member.id in segment.members
            if op == "static_is":
                return inside
            if op == "static_not":
                return not inside
        elif kind == "EmailAddress":
            email, text = member.email.lower(), str(value or "").lower()
            tests = {"is": email == text, "not": email != text, "contains": text in email,
                     "notcontain": text not in email, "starts": email.startswith(text),
                     "ends": email.endswith(text)}
            if op in tests:
                return tests[op]
        raise invalid(f"The emulator does not support the condition {kind}/{op}.")

    def _validate_conditions(self, audience: Audience, options: dict) -> None:
        if options.get("match", "all") not in ("any", "all"):
            raise invalid("match must be 'any' or 'all'.")
        probe = Member(email="probe@example.com", status="subscribed", web_id=0)
        for condition in options.get("conditions") or []:
            if condition.get("condition_type") == "Interests":
                category = str(condition.get("field", "")).removeprefix("interests-")
                if category not in audience.categories:
                    raise invalid(f"Invalid interest category: {condition.get('field')}")
            self._condition_matches(audience, probe, condition)

    def _matches(self, audience: Audience, member: Member, options: dict | None) -> bool:
        if not options or not options.get("conditions"):
            return True
        results = (self._condition_matches(audience, member, c) for c in options["conditions"])
        return any(results) if options.get("match", "all") == "any" else all(results)

    def recipients(self, list_id: str, segment_opts: dict | None) -> list[Member]:
        """Subscribed members a campaign with these segment options reaches."""
        with self.lock:
            audience = self.audience(list_id)
            members = [m for m in audience.members.values()
                       if m.status == "subscribed" and not m.archived]
            segment_opts = segment_opts or {}
            saved_id = segment_opts.get("saved_segment_id")
            if saved_id:
                segment = audience.segments.get(int(saved_id))
                if segment is None:
                    raise invalid(f"Invalid saved_segment_id: {saved_id}")
                members = [m for m in members if self._in_segment(audience, segment, m)]
            if segment_opts.get("conditions"):
                members = [m for m in members if self._matches(audience, m, segment_opts)]
            return members

    def _in_segment(self, audience: Audience, segment: Segment, member: Member) -> bool:
        if segment.type == "static":
            return member.id in segment.members
        return self._matches(audience, member, segment.options)

    def segment_json(self, audience: Audience, segment: Segment) -> dict:
        count = sum(1 for m in audience.members.values()
                    if m.status == "subscribed" and not m.archived
                    and self._in_segment(audience, segment, m))
        body = {"id": segment.id, "name": segment.name, "member_count": count,
                "type": segment.type, "created_at": iso(segment.created_at),
                "updated_at": iso(segment.updated_at), "list_id": audience.id}
        if segment.options:
            body["options"] = segment.options
        return body

    def _static_members(self, audience: Audience, emails) -> set:
        if not isinstance(emails, list):
            raise invalid("static_segment must be a list of email addresses.")
        return {subscriber_hash(e) for e in emails
                if isinstance(e, str) and subscriber_hash(e) in audience.members}

    def create_segment(self, list_id: str, body: dict) -> dict:
        with self.lock:
            audience = self.audience(list_id)
            if not body.get("name"):
                raise invalid("The resource submitted could not be validated: name is "
                              "required.")
            moment = now()
            if "static_segment" in body:
                segment = Segment(id=self.new_number(), name=body["name"], type="static",
                                  created_at=moment, updated_at=moment,
                                  members=self._static_members(audience, body["static_segment"]))
            elif body.get("options"):
                self._validate_conditions(audience, body["options"])
                segment = Segment(id=self.new_number(), name=body["name"], type="saved",
                                  created_at=moment, updated_at=moment,
                                  options={"match": body["options"].get("match", "all"),
                                           "conditions": body["options"].get("conditions", [])})
            else:
                raise invalid("Provide static_segment or options with conditions.")
            audience.segments[segment.id] = segment
            return self.segment_json(audience, segment)

    def segment(self, list_id: str, segment_id: str) -> tuple[Audience, Segment]:
        audience = self.audience(list_id)
        try:
            segment = audience.segments[int(segment_id)]
        except (KeyError, ValueError):
            raise not_found() from None
        return audience, segment

    def get_segment(self, list_id: str, segment_id: str) -> dict:
        with self.lock:
            return self.segment_json(*self.segment(list_id, segment_id))

    def list_segments(self, list_id: str, *, type_: str | None) -> dict:
        with self.lock:
            audience = self.audience(list_id)
            segments = [self.segment_json(audience, s) for s in audience.segments.values()
                        if type_ is None or s.type == type_]
            return {"segments": segments, "list_id": list_id, "total_items": len(segments)}

    def update_segment(self, list_id: str, segment_id: str, body: dict) -> dict:
        with self.lock:
            audience, segment = self.segment(list_id, segment_id)
            if body.get("name"):
                segment.name = body["name"]
            if "static_segment" in body:
                if segment.type != "static":
                    raise invalid("Only static segments take static_segment.")
                segment.members = self._static_members(audience, body["static_segment"])
            if body.get("options"):
                if segment.type != "saved":
                    raise invalid("Static segments have no conditions.")
                self._validate_conditions(audience, body["options"])
                segment.options = {"match": body["options"].get("match", "all"),
                                   "conditions": body["options"].get("conditions", [])}
            segment.updated_at = now()
            return self.segment_json(audience, segment)

    def batch_segment_members(self, list_id: str, segment_id: str, body: dict) -> dict:
        with self.lock:
            audience, segment = self.segment(list_id, segment_id)
            if segment.type != "static":
                raise bad_request("Members can only be added to static segments.")
            added, removed, errors = [], [], []
            for key, target in (("members_to_add", added), ("members_to_remove", removed)):
                missing = []
                for email in body.get(key) or []:
                    member = audience.members.get(subscriber_hash(str(email)))
                    if member is None:
                        missing.append(email)
                        continue
                    if key == "members_to_add":
                        segment.members.add(member.id)
                    else:
                        segment.members.discard(member.id)
                    target.append(member)
                if missing:
                    errors.append({"email_addresses": missing,
                                   "error": "Email addresses are not list members."})
            return {
                "members_added": [self.new_member_json(audience, m) for m in added],
                "members_removed": [self.new_member_json(audience, m) for m in removed],
                "errors": errors, "total_added": len(added), "total_removed": len(removed),
                "error_count": len(errors),
            }

    def delete_segment(self, list_id: str, segment_id: str) -> None:
        with self.lock:
            audience, segment = self.segment(list_id, segment_id)
            del audience.segments[segment.id]

    # -- merge fields, interests, webhooks ---------------------------------------------------
    def list_merge_fields(self, list_id: str) -> dict:
        with self.lock:
            fields = list(self.audience(list_id).merge_fields)
            return {"merge_fields": fields, "list_id": list_id, "total_items": len(fields)}

    def add_merge_field(self, list_id: str, body: dict) -> dict:
        with self.lock:
            audience = self.audience(list_id)
            kinds = {"text", "number", "address", "phone", "date", "url", "imageurl", "radio",
                     "dropdown", "birthday", "zip"}
            if not body.get("name") or body.get("type") not in kinds:
                raise invalid("The resource submitted could not be validated: name and a valid "
                              "type are required.")
            tag = (body.get("tag") or body["name"]).upper()[:10]
            if any(f["tag"] == tag for f in audience.merge_fields):
                raise invalid(f"A Merge Field with the tag \"{tag}\" already exists for this "
                              "list.")
            merge_field = {
                "merge_id": max(f["merge_id"] for f in audience.merge_fields) + 1
                if audience.merge_fields else 1,
                "tag": tag, "name": body["name"], "type": body["type"],
                "required": bool(body.get("required", False)),
                "default_value": body.get("default_value", ""),
                "public": bool(body.get("public", False)),
                "display_order": len(audience.merge_fields) + 2,
                "help_text": body.get("help_text", ""), "list_id": list_id,
            }
            audience.merge_fields.append(merge_field)
            return merge_field

    def list_categories(self, list_id: str) -> dict:
        with self.lock:
            categories = list(self.audience(list_id).categories.values())
            return {"categories": categories, "list_id": list_id,
                    "total_items": len(categories)}

    def add_category(self, list_id: str, body: dict) -> dict:
        with self.lock:
            audience = self.audience(list_id)
            if not body.get("title") or body.get("type") not in (
                    "checkboxes", "dropdown", "radio", "hidden"):
                raise invalid("The resource submitted could not be validated: title and type "
                              "are required.")
            if any(c["title"] == body["title"] for c in audience.categories.values()):
                raise invalid(f"Cannot add \"{body['title']}\" because it already exists on the "
                              "list.")
            category = {"list_id": list_id, "id": self.new_id(), "title": body["title"],
                        "display_order": int(body.get("display_order", len(
                            audience.categories))), "type": body["type"]}
            audience.categories[category["id"]] = category
            return category

    def _category(self, audience: Audience, category_id: str) -> dict:
        category = audience.categories.get(category_id)
        if category is None:
            raise not_found()
        return category

    def _interest_json(self, audience: Audience, interest: dict) -> dict:
        count = sum(1 for m in audience.members.values()
                    if m.status == "subscribed" and not m.archived
                    and m.interests.get(interest["id"]))
        return {**interest, "subscriber_count": str(count)}

    def list_interests(self, list_id: str, category_id: str) -> dict:
        with self.lock:
            audience = self.audience(list_id)
            self._category(audience, category_id)
            interests = [self._interest_json(audience, i) for i in audience.interests.values()
                         if i["category_id"] == category_id]
            return {"interests": interests, "list_id": list_id, "category_id": category_id,
                    "total_items": len(interests)}

    def add_interest(self, list_id: str, category_id: str, body: dict) -> dict:
        with self.lock:
            audience = self.audience(list_id)
            self._category(audience, category_id)
            if not body.get("name"):
                raise invalid("The resource submitted could not be validated: name is "
                              "required.")
            if any(i["name"] == body["name"] and i["category_id"] == category_id
                   for i in audience.interests.values()):
                raise invalid(f"Cannot add \"{body['name']}\" because it already exists on the "
                              "list.")
            interest = {"category_id": category_id, "list_id": list_id, "id": self.new_id(),
                        "name": body["name"],
                        "display_order": int(body.get("display_order", len(
                            audience.interests)))}
            audience.interests[interest["id"]] = interest
            return self._interest_json(audience, interest)

    def list_webhooks(self, list_id: str) -> dict:
        with self.lock:
            hooks = list(self.audience(list_id).webhooks.values())
            return {"webhooks": hooks, "list_id": list_id, "total_items": len(hooks)}

    def add_webhook(self, list_id: str, body: dict) -> dict:
        url = body.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise invalid("The resource submitted could not be validated: url is required.")
        if self.verify_url and not self.verify_url(url):  # outside the lock: it is a GET
            raise invalid(f"The resource submitted could not be validated: {url} did not "
                          "return 200 to a GET.")
        with self.lock:
            audience = self.audience(list_id)
            events = {k: bool((body.get("events") or {}).get(k, False)) for k in (
                "subscribe", "unsubscribe", "profile", "cleaned", "upemail", "campaign")}
            sources = {k: bool((body.get("sources") or {}).get(k, False))
                       for k in ("user", "admin", "api")}
            hook = {"id": self.new_id(), "url": url, "events": events, "sources": sources,
                    "list_id": list_id}
            audience.webhooks[hook["id"]] = hook
            return hook

    def delete_webhook(self, list_id: str, webhook_id: str) -> None:
        with self.lock:
            if self.audience(list_id).webhooks.pop(webhook_id, None) is None:
                raise not_found()

    # -- campaigns ---------------------------------------------------------------------------
    def campaign(self, campaign_id: str) -> dict:
        campaign = self.campaigns.get(campaign_id)
        if campaign is None:
            raise not_found()
        return campaign

    def advance(self) -> None:
        """Move campaigns along: due schedules are sent, finished sendings read "sent"."""
        with self.lock:
            moment = now()
            for campaign in self.campaigns.values():
                if campaign["status"] == "schedule" and campaign["send_time"] <= moment:
                    self._deliver(campaign, kind="scheduled")
                if (campaign["status"] == "sending" and campaign["send_time"]
                        + timedelta(seconds=self.sending_seconds) <= moment):
                    campaign["status"] = "sent"

    def campaign_json(self, campaign: dict) -> dict:
        audience = self.lists.get(campaign["recipients"]["list_id"])
        recipients = dict(campaign["recipients"])
        if audience is not None:
            recipients["list_name"] = audience.name
            if campaign["status"] in ("save", "paused"):
                try:
                    count = len(self.recipients(audience.id, recipients.get("segment_opts")))
                except Problem:
                    count = 0
            else:
                count = campaign["emails_sent"]
            recipients["recipient_count"] = count
        body = {
            "id": campaign["id"], "web_id": campaign["web_id"], "type": campaign["type"],
            "create_time": iso(campaign["create_time"]), "status": campaign["status"],
            "emails_sent": campaign["emails_sent"], "content_type": "html",
            "needs_block_refresh": False, "resendable": False,
            "archive_url": f"http://eepurl.localhost/{campaign['id']}",
            "long_archive_url": f"http://list-manage.localhost/campaign/{campaign['id']}",
            "recipients": recipients, "settings": campaign["settings"],
            "tracking": {"opens": True, "html_clicks": True, "text_clicks": False},
            "delivery_status": {"enabled": False},
        }
        if campaign["send_time"]:
            body["send_time"] = iso(campaign["send_time"])
        return body

    def _campaign_fields(self, campaign: dict, body: dict) -> None:
        if "recipients" in body:
            recipients = body["recipients"] or {}
            list_id = recipients.get("list_id")
            if list_id not in self.lists:
                raise invalid("The resource submitted could not be validated: "
                              "recipients.list_id is not a valid list.")
            segment_opts = recipients.get("segment_opts")
            if segment_opts:
                if segment_opts.get("conditions"):
                    self._validate_conditions(self.lists[list_id], segment_opts)
                self.recipients(list_id, segment_opts)  # raises on a bad saved segment
            campaign["recipients"] = {"list_id": list_id}
            if segment_opts:
                campaign["recipients"]["segment_opts"] = segment_opts
        if "settings" in body:
            allowed = ("subject_line", "preview_text", "title", "from_name", "reply_to",
                       "to_name", "auto_footer", "inline_css", "folder_id")
            campaign["settings"].update({k: v for k, v in (body["settings"] or {}).items()
                                         if k in allowed})

    def create_campaign(self, body: dict) -> dict:
        with self.lock:
            if body.get("type") not in ("regular", "plaintext"):
                raise invalid("The resource submitted could not be validated: type must be "
                              "regular or plaintext.")
            campaign = {
                "id": self.new_id(), "web_id": self.new_number(), "type": body["type"],
                "create_time": now(), "status": "save", "emails_sent": 0, "send_time": None,
                "recipients": {"list_id": ""}, "settings": {"title": "", "subject_line": "",
                                                            "from_name": "", "reply_to": ""},
                "content": {"html": "", "plain_text": ""},
                "report": {"opens": 0, "unique_opens": 0, "clicks": 0, "unique_clicks": 0},
            }
            if not body.get("recipients"):
                raise invalid("The resource submitted could not be validated: recipients is "
                              "required.")
            self._campaign_fields(campaign, body)
            self.campaigns[campaign["id"]] = campaign
            return self.campaign_json(campaign)

    def get_campaign(self, campaign_id: str) -> dict:
        with self.lock:
            return self.campaign_json(self.campaign(campaign_id))

    def list_campaigns(self, *, status: str | None, offset: int, count: int) -> dict:
        with self.lock:
            found = [c for c in self.campaigns.values() if status is None or c["status"] == status]
            return {"campaigns": [self.campaign_json(c) for c in found[offset: offset + count]],
                    "total_items": len(found)}

    def _editable(self, campaign: dict) -> None:
        if campaign["status"] not in ("save", "paused"):
            raise bad_request(f"This campaign cannot be updated because its status is "
                              f"'{campaign['status']}'.")

    def update_campaign(self, campaign_id: str, body: dict) -> dict:
        with self.lock:
            campaign = self.campaign(campaign_id)
            self._editable(campaign)
            self._campaign_fields(campaign, body)
            return self.campaign_json(campaign)

    def delete_campaign(self, campaign_id: str) -> None:
        with self.lock:
            campaign = self.campaign(campaign_id)
            if campaign["status"] == "sending":
                raise bad_request("A campaign that is sending cannot be deleted.")
            del self.campaigns[campaign_id]

    def content_json(self, campaign: dict) -> dict:
        return {"html": campaign["content"]["html"],
                "plain_text": campaign["content"]["plain_text"],
                "archive_html": campaign["content"]["html"]}

    def get_content(self, campaign_id: str) -> dict:
        with self.lock:
            return self.content_json(self.campaign(campaign_id))

    def set_content(self, campaign_id: str, body: dict) -> dict:
        with self.lock:
            campaign = self.campaign(campaign_id)
            self._editable(campaign)
            if "html" not in body and "plain_text" not in body:
                raise invalid("The emulator accepts html and plain_text content only.")
            html = body.get("html", campaign["content"]["html"]) or ""
            plain = body.get("plain_text")
            if plain is None:  # Mailchimp derives a text part when none is given
                plain = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()
            campaign["content"] = {"html": html, "plain_text": plain}
            return self.content_json(campaign)

    def checklist(self, campaign_id: str) -> dict:
        with self.lock:
            campaign = self.campaign(campaign_id)
            settings, content = campaign["settings"], campaign["content"]
            body = content["html"] if campaign["type"] == "regular" else content["plain_text"]
            checks = [
                (1, "Subject line", bool(settings.get("subject_line")),
                 "Your campaign has a subject line.", "Add a subject line."),
                (2, "From name", bool(settings.get("from_name")),
                 "You have a from name.", "Add a from name."),
                (3, "Reply-to address", bool(settings.get("reply_to")),
                 "You have a reply-to address.", "Add a reply-to address."),
                (4, "Content", bool(body.strip()),
                 "Your campaign has content.", "Add content to your campaign."),
                (5, "Unsubscribe link", any(tag in body for tag in UNSUB_TAGS),
                 "Your content has an unsubscribe link.",
                 "Your content must include an unsubscribe link (*|UNSUB|*)."),
                (6, "Postal address", any(tag in body for tag in ADDRESS_TAGS),
                 "Your content includes the list's postal address.",
                 "Your content must include the postal address (*|LIST:ADDRESS|*)."),
            ]
            try:
                audience_ok = bool(self.recipients(
                    campaign["recipients"]["list_id"],
                    campaign["recipients"].get("segment_opts")))
            except Problem:
                audience_ok = False
            checks.append((7, "Recipients", audience_ok, "Your campaign has recipients.",
                           "Your audience or segment has no subscribed contacts."))
            items = [{"type": "success" if ok else "error", "id": item_id, "heading": heading,
                      "details": good if ok else bad}
                     for item_id, heading, ok, good, bad in checks]
            return {"is_ready": all(ok for _, _, ok, _, _ in checks), "items": items}

    def _require_ready(self, campaign: dict) -> None:
        if campaign["status"] not in ("save", "paused"):
            raise bad_request(f"This campaign cannot be sent because its status is "
                              f"'{campaign['status']}'.")
        if not self.checklist(campaign["id"])["is_ready"]:
            raise bad_request("Your Campaign is not ready to send.")

    def _deliver(self, campaign: dict, *, kind: str) -> None:
        members = self.recipients(campaign["recipients"]["list_id"],
                                  campaign["recipients"].get("segment_opts"))
        moment = now() if kind == "send" else campaign["send_time"]
        campaign["status"] = "sending"
        campaign["send_time"] = moment
        campaign["emails_sent"] = len(members)
        self.sends.append(self._send_record(campaign, kind, [m.email for m in members]))

    def _send_record(self, campaign: dict, kind: str, recipients: list[str]) -> dict:
        return {
            "campaign_id": campaign["id"], "kind": kind,
            "list_id": campaign["recipients"]["list_id"],
            "segment_opts": campaign["recipients"].get("segment_opts"),
            "recipients": recipients, "recipient_count": len(recipients),
            "subject": campaign["settings"].get("subject_line", ""),
            "html": campaign["content"]["html"], "plain_text": campaign["content"]["plain_text"],
            "at": iso(now()), "canceled": False,
        }

    def send(self, campaign_id: str) -> None:
        with self.lock:
            self.advance()
            campaign = self.campaign(campaign_id)
            self._require_ready(campaign)
            self._deliver(campaign, kind="send")
            self.advance()

    def send_test(self, campaign_id: str, body: dict) -> None:
        with self.lock:
            campaign = self.campaign(campaign_id)
            emails = body.get("test_emails")
            if not emails or not all(is_valid_email(e) for e in emails):
                raise invalid("test_emails must be a list of valid email addresses.")
            if body.get("send_type") not in ("html", "plaintext"):
                raise invalid("send_type must be html or plaintext.")
            if not campaign["content"]["html"] and not campaign["content"]["plain_text"]:
                raise bad_request("Your Campaign is not ready to send.")
            self.sends.append(self._send_record(campaign, "test", list(emails)))

    def schedule(self, campaign_id: str, body: dict) -> None:
        with self.lock:
            campaign = self.campaign(campaign_id)
            raw = body.get("schedule_time")
            try:
                when = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
            except ValueError:
                raise invalid("schedule_time must be an ISO 8601 time.") from None
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            when = when.astimezone(UTC)
            if when.minute % 15 or when.second or when.microsecond:
                raise invalid("Schedule time must be on the quarter-hour (:00, :15, :30, :45).")
            if when <= now():
                raise invalid("Schedule time must be in the future.")
            self._require_ready(campaign)
            campaign["status"] = "schedule"
            campaign["send_time"] = when

    def unschedule(self, campaign_id: str) -> None:
        with self.lock:
            self.advance()
            campaign = self.campaign(campaign_id)
            if campaign["status"] != "schedule":
                raise bad_request("This campaign is not scheduled.")
            campaign["status"] = "save"
            campaign["send_time"] = None

    def cancel_send(self, campaign_id: str) -> None:
        with self.lock:
            self.advance()
            campaign = self.campaign(campaign_id)
            if campaign["status"] != "sending":
                raise bad_request("Only a campaign that is sending can be canceled.")
            campaign["status"] = "canceled"
            for record in self.sends:
                if record["campaign_id"] == campaign_id and record["kind"] != "test":
                    record["canceled"] = True

    def report(self, campaign_id: str) -> dict:
        with self.lock:
            self.advance()
            campaign = self.campaign(campaign_id)
            if campaign["status"] not in ("sending", "sent", "canceled"):
                raise not_found()
            sent, stats = campaign["emails_sent"], campaign["report"]
            audience = self.lists.get(campaign["recipients"]["list_id"])
            return {
                "id": campaign["id"], "campaign_title": campaign["settings"].get("title", ""),
                "type": campaign["type"], "list_id": campaign["recipients"]["list_id"],
                "list_is_active": audience is not None,
                "list_name": audience.name if audience else "",
                "subject_line": campaign["settings"].get("subject_line", ""),
                "preview_text": campaign["settings"].get("preview_text", ""),
                "emails_sent": sent, "abuse_reports": 0, "unsubscribed": 0,
                "send_time": iso(campaign["send_time"]),
                "opens": {"opens_total": stats["opens"], "unique_opens": stats["unique_opens"],
                          "open_rate": stats["unique_opens"] / sent if sent else 0},
                "clicks": {"clicks_total": stats["clicks"],
                           "unique_clicks": stats["unique_clicks"],
                           "unique_subscriber_clicks": stats["unique_clicks"],
                           "click_rate": stats["unique_clicks"] / sent if sent else 0},
            }

    def set_report(self, campaign_id: str, body: dict) -> dict:
        """Control API: pretend readers opened and clicked."""
        with self.lock:
            stats = self.campaign(campaign_id)["report"]
            for key in stats:
                if key in body:
                    stats[key] = int(body[key])
            return dict(stats)

    # -- batch webhooks (account level) -----------------------------------------------------
    def add_batch_webhook(self, body: dict) -> dict:
        with self.lock:
            url = body.get("url")
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                raise invalid("The resource submitted could not be validated: url is "
                              "required.")
            hook = {"id": self.new_id(), "url": url, "enabled": bool(body.get("enabled", True))}
            self.batch_webhooks[hook["id"]] = hook
            return hook

    def list_batch_webhooks(self) -> dict:
        with self.lock:
            hooks = list(self.batch_webhooks.values())
            return {"webhooks": hooks, "total_items": len(hooks)}
