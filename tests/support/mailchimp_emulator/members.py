"""Members: add, upsert, patch, archive, delete for good, bulk subscribe, tags.
Part of ``AccountState`` (state.py).
"""

from datetime import datetime

from .problems import Problem, invalid, not_found
from .records import (
    MEMBER_STATUSES,
    SETTABLE_STATUSES,
    Audience,
    Member,
    Segment,
    is_valid_email,
    iso,
    now,
    subscriber_hash,
)


class MemberState:
    """Part of ``AccountState``: the members of its lists and their tags (static segments)."""

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
