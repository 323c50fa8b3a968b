"""Pages as an attacker or an editor meets them: a view restriction, the part editor's form."""

import json

from django.contrib.auth.models import Group
from wagtail.models import PageViewRestriction

RESTRICTION_TYPES = ["password", "login", "groups"]


def restrict(page, kind: str = "password") -> PageViewRestriction:
    """Put a Wagtail view restriction of ``kind`` on ``page`` (password "letmein", any logged-in
    user, or the group "Members")."""
    restriction = PageViewRestriction.objects.create(
        page=page, restriction_type=kind, password="letmein" if kind == "password" else ""
    )
    if kind == "groups":
        restriction.groups.add(Group.objects.get_or_create(name="Members")[0])
    return restriction


def page_form(part, *, text: str = "Text of the part.", **changes) -> dict:
    """The part editor's form as a browser sends it on "Save draft", with one paragraph."""
    paragraph = {"blocks": [{"key": "a", "type": "unstyled", "text": text, "depth": 0,
                             "inlineStyleRanges": [], "entityRanges": []}], "entityMap": {}}
    return {
        "title": part.title, "slug": part.slug, "part_number": part.part_number,
        "standfirst": part.standfirst, "seo_title": "", "search_description": "",
        "go_live_at": "", "expire_at": "",
        "body-count": "1", "body-0-type": "paragraph", "body-0-deleted": "",
        "body-0-order": "0", "body-0-id": "", "body-0-value": json.dumps(paragraph),
        "comments-TOTAL_FORMS": "0", "comments-INITIAL_FORMS": "0",
        "comments-MIN_NUM_FORMS": "0", "comments-MAX_NUM_FORMS": "1000",
        **changes,
    }
