"""The emulator's in-memory Mailchimp account: audiences, members, segments, campaigns, sends.

Every public method takes the one lock, so the threaded server can call them concurrently. Clocks
are wall-clock datetimes (``datetime.now``) so tests can move time with time-machine.

The account's calls are grouped by what they reach, one module each: lists.py (lists, merge
fields, interests, list webhooks), members.py (members and tags), segments.py and campaigns.py;
records.py holds the records they share.
"""

import itertools
import threading

from .campaigns import CampaignState
from .lists import ListState
from .members import MemberState
from .problems import invalid
from .records import Audience
from .segments import SegmentState


class AccountState(ListState, MemberState, SegmentState, CampaignState):
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
