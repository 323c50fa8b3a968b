"""Issue 12, item 1: a page under a Wagtail view restriction (password, login or groups, on the
page or an ancestor) is never served, counted or linked by the JSON API, the feeds or the public
pages, and never cached as public. Each test is the attack over HTTP, as an anonymous reader."""

import json

import pytest
from django.urls import reverse
from wagtail.models import PageViewRestriction

from tests.support.factories import make_part, make_series
from tests.support.pages import RESTRICTION_TYPES, restrict

pytestmark = pytest.mark.django_db

SECRET = "Secret second part"



@pytest.fixture
def series():
    series = make_series(title="Strong Back", slug="strong-back")
    make_part(series, title="Public first part")
    make_part(series, title=SECRET, standfirst="Only for members.")
    make_part(series, title="Public third part")
    return series


def secret_part(series):
    return series.parts.get(part_number=2)


@pytest.mark.parametrize("kind", RESTRICTION_TYPES)
def test_private_part_is_not_served_by_the_api(client, series, kind):
    restrict(secret_part(series), kind)
    response = client.get("/api/series/strong-back/parts/2")
    assert response.status_code == 404
    assert SECRET not in response.content.decode()
    assert "public" not in response.get("Cache-Control", "")


@pytest.mark.parametrize("kind", RESTRICTION_TYPES)
def test_private_part_is_not_counted_or_linked_by_its_series(client, series, kind):
    restrict(secret_part(series), kind)
    listing = client.get("/api/series").json()
    assert [s["part_count"] for s in listing] == [2]
    detail = client.get("/api/series/strong-back").json()
    assert [p["number"] for p in detail["parts"]] == [1, 3]
    assert detail["part_count"] == 2
    first = client.get("/api/series/strong-back/parts/1").json()
    third = client.get("/api/series/strong-back/parts/3").json()
    assert first["next"]["number"] == 3
    assert third["previous"]["number"] == 1
    for body in (listing, detail, first, third):
        assert SECRET not in json.dumps(body)


@pytest.mark.parametrize("kind", RESTRICTION_TYPES)
def test_private_part_not_in_feeds(client, series, kind):
    restrict(secret_part(series), kind)
    for feed in ("rss", "atom"):
        response = client.get(f"/feeds/strong-back/{feed}/")
        assert response.status_code == 200
        text = response.content.decode()
        assert "Public first part" in text
        assert SECRET not in text
        assert secret_part(series).url not in text


def test_restricted_series_hides_its_parts(client, series):
    restrict(series, "login")
    assert client.get("/api/series").json() == []
    paths = ["/api/series/strong-back", "/feeds/strong-back/rss/", "/feeds/strong-back/atom/"]
    paths += [f"/api/series/strong-back/parts/{n}" for n in (1, 2, 3)]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 404, path
        assert "Public first part" not in response.content.decode()
        assert "public" not in response.get("Cache-Control", "")


def test_restriction_on_the_series_index_hides_every_series(client, series):
    restrict(series.get_parent(), "password")
    assert client.get("/api/series").json() == []
    assert client.get("/api/series/strong-back/parts/1").status_code == 404


def test_callout_to_a_private_part_is_not_linked(client, series):
    secret = secret_part(series)
    callout = ("callout", {"text": "Read part 2", "part": secret})
    make_part(series, title="Fourth", body=[callout])
    restrict(secret, "groups")
    block = client.get("/api/series/strong-back/parts/4").json()["body"][0]
    assert block["value"]["part"] is None
    assert "href" not in block["html"]
    page = client.get(series.parts.get(part_number=4).url).content.decode()
    assert "Read part 2" in page
    assert secret.url not in page


def test_private_part_not_linked_from_the_public_pages(client, series):
    secret = secret_part(series)
    restrict(secret, "password")
    for page in (series, series.parts.get(part_number=1), series.parts.get(part_number=3)):
        response = client.get(page.url)
        assert response.status_code == 200
        html = response.content.decode()
        assert SECRET not in html
        assert secret.url not in html


def test_restricting_a_part_in_the_admin_takes_it_out_of_the_cached_api(
    client, admin_client, series, django_capture_on_commit_callbacks
):
    secret = secret_part(series)
    assert client.get("/api/series/strong-back/parts/2").status_code == 200  # now cached
    assert client.get("/api/series/strong-back").json()["part_count"] == 3
    privacy = reverse("wagtailadmin_pages:set_privacy", args=[secret.pk])
    with django_capture_on_commit_callbacks(execute=True):
        answer = admin_client.post(privacy, {"restriction_type": "login"})
    assert answer.status_code == 200
    assert PageViewRestriction.objects.filter(page=secret).exists()
    assert client.get("/api/series/strong-back/parts/2").status_code == 404
    assert client.get("/api/series/strong-back").json()["part_count"] == 2
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(privacy, {"restriction_type": "none"})
    assert client.get("/api/series/strong-back/parts/2").status_code == 200


def test_restricted_series_not_linked_from_the_series_index(client, series):
    restrict(series, "groups")
    index = series.get_parent()
    response = client.get(index.url)
    assert response.status_code == 200
    assert "Strong Back" not in response.content.decode()
    assert series.url not in response.content.decode()
