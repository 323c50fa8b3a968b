"""Campaigns: create, content, checklist, send, schedule, cancel, reports; and the sends
they make, kept for tests to read. Part of ``AccountState`` (state.py).
"""

import re
from datetime import UTC, datetime, timedelta

from .problems import Problem, bad_request, invalid, not_found
from .records import ADDRESS_TAGS, UNSUB_TAGS, is_valid_email, iso, now


class CampaignState:
    """Part of ``AccountState``: its campaigns and what they sent."""

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
