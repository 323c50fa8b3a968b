"""The campaign calls of ``MailchimpClient``: create, fill, test, send, schedule, report.

``CampaignCalls`` is mixed into ``MailchimpClient`` (pipeline/providers/mailchimp_client.py).
Creating and sending are never retried after a doubt (DESIGN.md): the caller persists the
campaign id at once, and after a timeout reads the campaign's status and trusts it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pipeline.providers.mailchimp_errors import RETRY_NEVER, RETRY_REJECTED


def is_quarter_hour(moment: datetime) -> bool:
    moment = moment.astimezone(UTC)
    return moment.minute % 15 == 0 and moment.second == 0 and moment.microsecond == 0


class CampaignCalls:
    """Mixed into ``MailchimpClient``; uses its ``call``, ``_list`` and ``client``."""

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
