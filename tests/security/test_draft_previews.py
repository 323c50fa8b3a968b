"""Issue 17, item 5: draft previews for front ends, attacked over real HTTP (live_server).

An editor who may edit a part mints a signed, short-lived token from the admin and the front end
reads ``GET /api/preview/{token}``: the part's latest revision in the schema of a live part.
Tampered, expired, re-pointed or foreign tokens answer 404; a user who may not edit the part
gets no token at all."""

import base64
import json
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import requests
import time_machine
from django.conf import settings as django_settings
from django.contrib.auth.models import Group, Permission
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.test import Client
from wagtail.models import GroupPagePermission

from cms.previews import preview_token_make
from tests.support.admin_users import admin_user
from tests.support.factories import make_part, make_series
from tests.support.pages import page_form

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
FRONT = "https://front.example.org/preview/{token}"


@pytest.fixture
def site(settings, live_server):
    settings.BASE_URL = live_server.url
    settings.FRONTEND_PREVIEW_URL = FRONT
    return live_server.url


def session_for(user) -> requests.Session:
    """A browser session of ``user`` in the admin (a real session cookie, sent over HTTP)."""
    client = Client()
    client.force_login(user)
    session = requests.Session()
    name = django_settings.SESSION_COOKIE_NAME
    session.cookies.set(name, client.cookies[name].value)
    return session


def mint(session: requests.Session, site: str, page) -> requests.Response:
    return session.get(f"{site}/admin/front-end-preview/{page.pk}/", allow_redirects=False,
                       timeout=10)


def token_of(answer: requests.Response) -> str:
    assert answer.status_code == 302, answer.text[:300]
    location = answer.headers["Location"]
    assert location.startswith("https://front.example.org/preview/")
    return urlsplit(location).path.rsplit("/", 1)[1]


def preview(site: str, token: str) -> requests.Response:
    return requests.get(f"{site}/api/preview/{token}", timeout=10)


@pytest.fixture
def draft(series):
    part = make_part(series, title="Live title", standfirst="Live standfirst.")
    revision_part = part.get_latest_revision_as_object()
    revision_part.title = "Draft title"
    revision_part.standfirst = "Draft standfirst."
    revision_part.save_revision()
    return part


@pytest.fixture
def editor_session(site):
    return session_for(admin_user("ed", groups=["Editors"]))


def test_an_editor_opens_the_front_end_with_a_token_for_the_draft(site, draft, series,
                                                                  editor_session):
    token = token_of(mint(editor_session, site, draft))
    answer = preview(site, token)
    assert answer.status_code == 200
    data = answer.json()
    assert data["title"] == "Draft title" and data["standfirst"] == "Draft standfirst."
    assert answer.headers["Cache-Control"] == "private, no-store"
    live = requests.get(f"{site}/api/series/{series.slug}/parts/{draft.part_number}",
                        timeout=10).json()
    assert live["title"] == "Live title"
    assert set(data) == set(live)  # the schema of a live part, field for field
    assert data["series"] == live["series"] and data["number"] == live["number"]


def test_a_never_published_part_previews_too(site, series, editor_session):
    part = make_part(series, title="Not yet", live=False)
    data = preview(site, token_of(mint(editor_session, site, part))).json()
    assert data["title"] == "Not yet" and data["first_published_at"] is None


def test_tampered_tokens_answer_404(site, draft, editor_session):
    token = token_of(mint(editor_session, site, draft))
    assert preview(site, token).status_code == 200
    last = token[-1]
    assert preview(site, token[:-1] + ("A" if last != "A" else "B")).status_code == 404
    assert preview(site, token[:-4]).status_code == 404
    assert preview(site, "x" + token).status_code == 404
    assert preview(site, "not-a-token").status_code == 404
    assert preview(site, "").status_code == 404


def test_a_token_never_opens_another_page(site, series, draft, editor_session):
    other = make_part(series, title="Other part")
    token = token_of(mint(editor_session, site, draft))
    payload, stamp, signature = token.split(":")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims == {"page": draft.pk}
    repointed = base64.urlsafe_b64encode(json.dumps({"page": other.pk}).encode()).decode()
    assert preview(site, f"{repointed.rstrip('=')}:{stamp}:{signature}").status_code == 404
    # Signed with the same key for another purpose: not a preview token.
    foreign = signing.TimestampSigner(salt="partwork.other").sign_object({"page": other.pk})
    assert preview(site, foreign).status_code == 404
    assert preview(site, signing.dumps({"page": other.pk})).status_code == 404
    # The real token still opens only its own part.
    assert preview(site, token).json()["title"] == "Draft title"


def test_expired_tokens_answer_404(site, draft, editor_session, settings):
    settings.PREVIEW_TOKEN_MAX_AGE = timedelta(minutes=30)
    with time_machine.travel("2026-06-01 12:00:00Z", tick=False) as clock:
        token = token_of(mint(editor_session, site, draft))
        clock.move_to("2026-06-01 12:29:59Z")
        assert preview(site, token).status_code == 200
        clock.move_to("2026-06-01 12:30:01Z")
        assert preview(site, token).status_code == 404


def refused(answer: requests.Response) -> bool:
    """Wagtail's admin answers a PermissionDenied with a redirect to the dashboard (and a
    "Sorry" message), never with the front end's address and its token."""
    location = answer.headers.get("Location", "")
    return (answer.status_code == 403 or (
        answer.status_code == 302 and urlsplit(location).path.rstrip("/") == "/admin"))


def test_only_users_who_may_edit_the_part_get_a_token(site, draft, series):
    # Admin access and nothing else.
    bystander = session_for(admin_user("bystander"))
    assert refused(mint(bystander, site, draft))
    # May edit another series only.
    elsewhere = make_series(title="Elsewhere", slug="elsewhere")
    group = Group.objects.create(name="Elsewhere editors")
    GroupPagePermission.objects.create(
        group=group, page=elsewhere,
        permission=Permission.objects.get(content_type__app_label="wagtailcore",
                                          codename="change_page"))
    neighbour = admin_user("neighbour")
    neighbour.groups.add(group)
    assert refused(mint(session_for(neighbour), site, draft))
    assert mint(session_for(neighbour), site, make_part(elsewhere, title="Theirs")).status_code \
        == 302
    # Not logged in: the admin's login page, no token.
    anonymous = requests.get(f"{site}/admin/front-end-preview/{draft.pk}/",
                             allow_redirects=False, timeout=10)
    assert anonymous.status_code == 302 and "/admin/login/" in anonymous.headers["Location"]
    # A series is not a part: nothing to preview here.
    editor = session_for(admin_user("ed2", groups=["Editors"]))
    assert mint(editor, site, series).status_code == 404
    with pytest.raises(PermissionDenied):
        preview_token_make(user=admin_user("plain"), page=draft)


def test_the_editors_preview_has_a_front_end_mode(site, draft, series):
    client = Client()
    client.force_login(admin_user("moderator", groups=["Moderators"]))
    url = f"/admin/pages/{draft.pk}/edit/preview/"
    assert client.post(url, page_form(draft, title="Draft title")).json()["is_valid"]
    answer = client.get(url, {"mode": "frontend"})
    assert answer.status_code == 302
    assert answer["Location"] == f"/admin/front-end-preview/{draft.pk}/"
    onward = client.get(answer["Location"])
    token = urlsplit(onward["Location"]).path.rsplit("/", 1)[1]
    assert preview(site, token).json()["title"] == "Draft title"
    edit_page = client.get(f"/admin/pages/{draft.pk}/edit/").content.decode()
    assert "Front end (last saved draft)" in edit_page

