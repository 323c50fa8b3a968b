from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from tests.support.factories import OfferFactory, make_part, make_series

pytestmark = pytest.mark.django_db


@pytest.fixture
def series():
    return make_series(title="Strong Back", slug="strong-back")


def test_series_list_shows_only_live_series(client, series):
    make_series(title="Hidden", slug="hidden", live=False)
    body = client.get("/api/series").json()
    assert [s["slug"] for s in body] == ["strong-back"]


def test_series_detail_lists_live_parts_in_order_without_drafts_or_scheduled(client, series):
    make_part(series, title="One")
    make_part(series, title="Draft", live=False)
    make_part(series, title="Later", go_live_at=timezone.now() + timedelta(days=1))
    make_part(series, title="Four")
    body = client.get("/api/series/strong-back").json()
    assert [(p["number"], p["title"]) for p in body["parts"]] == [(1, "One"), (4, "Four")]
    assert body["part_count"] == 2
    assert all(p["first_published_at"] for p in body["parts"])


def test_draft_and_scheduled_parts_are_404(client, series):
    make_part(series, title="One")
    make_part(series, live=False)
    make_part(series, go_live_at=timezone.now() + timedelta(days=1))
    assert client.get("/api/series/strong-back/parts/1").status_code == 200
    for number in (2, 3):
        response = client.get(f"/api/series/strong-back/parts/{number}")
        assert response.status_code == 404
        assert response["Content-Type"].startswith("application/json")
        assert "detail" in response.json()


def test_part_detail_has_typed_blocks_with_html_and_navigation(client, series):
    one = make_part(series, title="One")
    make_part(series, live=False)  # part 2 is a draft: never linked
    body = [
        ("heading", {"text": "Hips", "level": "h2"}),
        ("citation", {"year": 2015, "source": "J", "finding": "Hips matter.", "url": ""}),
        ("callout", {"text": "Read part 1", "part": one}),
    ]
    make_part(series, title="Three", body=body)
    data = client.get("/api/series/strong-back/parts/3").json()
    assert [b["type"] for b in data["body"]] == ["heading", "citation", "callout"]
    assert data["body"][0]["value"] == {"text": "Hips", "level": "h2"}
    assert data["body"][0]["html"] == "<h2>Hips</h2>"
    assert data["body"][1]["value"]["year"] == 2015
    assert data["body"][2]["value"]["part"]["number"] == 1
    assert data["previous"]["number"] == 1
    assert data["next"] is None


def test_only_active_offers_appear_in_a_part(client, series):
    now, day = timezone.now(), timedelta(days=1)
    active = OfferFactory(code="now", starts_at=now - day, ends_at=now + day)
    expired = OfferFactory(code="old", starts_at=now - 3 * day, ends_at=now - day)
    future = OfferFactory(code="soon", starts_at=now + day, ends_at=now + 3 * day)
    body = [("offer", {"offer": o, "headline": o.code}) for o in (active, expired, future)]
    make_part(series, body=body)
    data = client.get("/api/series/strong-back/parts/1").json()
    assert [o["code"] for o in data["offers"]] == ["now"]
    assert [b["value"]["offer"]["code"] for b in data["body"]] == ["now"]
    assert [o["code"] for o in client.get("/api/offers/active").json()] == ["now"]


def test_an_offer_disappears_at_its_end_even_from_cache(client, series):
    now = timezone.now()
    offer = OfferFactory(starts_at=now - timedelta(days=1), ends_at=now + timedelta(minutes=5))
    make_part(series, body=[("offer", {"offer": offer, "headline": ""})])
    assert len(client.get("/api/offers/active").json()) == 1
    response = client.get("/api/series/strong-back/parts/1")
    assert len(response.json()["offers"]) == 1
    assert response["Cache-Control"].startswith("public, max-age=1")
    with time_machine.travel(offer.ends_at, tick=False):
        assert client.get("/api/offers/active").json() == []
        assert client.get("/api/series/strong-back/parts/1").json()["offers"] == []


def test_a_future_offer_appears_at_its_start(client):
    now = timezone.now()
    OfferFactory(starts_at=now + timedelta(minutes=1), ends_at=now + timedelta(days=1))
    assert client.get("/api/offers/active").json() == []
    with time_machine.travel(now + timedelta(minutes=1), tick=False):
        assert len(client.get("/api/offers/active").json()) == 1


def test_publish_is_seen_by_the_api_at_once(client, series, django_capture_on_commit_callbacks):
    make_part(series, title="One")
    assert client.get("/api/series/strong-back").json()["part_count"] == 1
    draft = make_part(series, title="Two", live=False)
    assert client.get("/api/series/strong-back/parts/2").status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        draft.save_revision().publish()
    assert client.get("/api/series/strong-back").json()["part_count"] == 2
    assert client.get("/api/series/strong-back/parts/2").status_code == 200


def test_etag_and_last_modified_give_304(client, series, django_capture_on_commit_callbacks):
    make_part(series)
    first = client.get("/api/series/strong-back")
    assert first.status_code == 200 and first["ETag"] and first["Last-Modified"]
    again = client.get("/api/series/strong-back", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304 and again.content == b""
    since = client.get("/api/series/strong-back", HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])
    assert since.status_code == 304
    with django_capture_on_commit_callbacks(execute=True):
        make_part(series)
    changed = client.get("/api/series/strong-back", HTTP_IF_NONE_MATCH=first["ETag"])
    assert changed.status_code == 200 and changed["ETag"] != first["ETag"]


@pytest.mark.parametrize(
    "path",
    ["/api/series/nope", "/api/series/nope/parts/1", "/api/series/strong-back/parts/99"],
)
def test_unknown_things_are_json_404(client, series, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.json()["detail"]


@pytest.mark.parametrize("number", ["0", "-1", "abc", "99999999999999999999", "1.5"])
def test_bad_part_numbers_are_json_4xx(client, series, number):
    response = client.get(f"/api/series/strong-back/parts/{number}")
    assert 400 <= response.status_code < 500
    assert response["Content-Type"].startswith("application/json")


def test_openapi_document_is_served(client):
    document = client.get("/api/openapi.json").json()
    assert "/api/series/{slug}/parts/{number}" in document["paths"]
    assert client.get("/api/docs").status_code == 200
