"""The emulator's records and small helpers: members, segments, audiences, times, hashes.

Shared by every part of the account state (state.py and the modules it is made of) and by the
batch runner.
"""

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

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


def default_merge_fields(list_id: str) -> list:
    return [
        {"merge_id": 1, "tag": "FNAME", "name": "First Name", "type": "text", "required": False,
         "default_value": "", "public": True, "display_order": 2, "help_text": "",
         "list_id": list_id},
        {"merge_id": 2, "tag": "LNAME", "name": "Last Name", "type": "text", "required": False,
         "default_value": "", "public": True, "display_order": 3, "help_text": "",
         "list_id": list_id},
    ]
