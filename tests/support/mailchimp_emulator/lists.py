"""Lists (audiences) and what hangs off them: merge fields, interest categories, interests,
list webhooks. Part of ``AccountState`` (state.py).
"""

from .problems import invalid, not_found
from .records import Audience, default_merge_fields, iso, now


class ListState:
    """Part of ``AccountState``: its lists and their settings."""

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
                merge_fields=default_merge_fields(list_id),
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
