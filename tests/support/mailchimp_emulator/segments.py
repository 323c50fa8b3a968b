"""Segments: saved (conditions) and static (tags), and which members a campaign reaches.
Part of ``AccountState`` (state.py).
"""

from .problems import bad_request, invalid, not_found
from .records import Audience, Member, Segment, iso, now, subscriber_hash


class SegmentState:
    """Part of ``AccountState``: segment conditions, recipients and the segment calls."""

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
