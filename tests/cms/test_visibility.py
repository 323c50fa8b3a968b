"""What honest readers and editors still get around the privacy and offer rules
(tests/security/ holds the attacks)."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from wagtail.models import PageViewRestriction

from cms.blocks import is_public_page, is_web_url, unsafe_links
from tests.support.factories import OfferFactory, make_part, make_series

pytestmark = pytest.mark.django_db


def test_a_reader_who_gave_the_password_sees_the_private_series_and_its_parts(client):
    series = make_series(title="Members only", slug="members")
    one, two = make_part(series, title="One"), make_part(series, title="Two")
    make_part(series, title="Draft", live=False)
    restriction = PageViewRestriction.objects.create(
        page=series, restriction_type="password", password="letmein"
    )
    assert client.get(series.url).status_code == 200  # Wagtail's password form, not the page
    assert "One" not in client.get(series.url).content.decode()
    form = reverse("wagtailcore_authenticate_with_password", args=[restriction.pk, series.pk])
    client.post(form, {"password": "letmein", "return_url": series.url})
    listing = client.get(series.url).content.decode()
    assert one.url in listing and two.url in listing and "Draft" not in listing
    assert one.url in client.get(two.url).content.decode()  # "← Part 1" on part 2
    assert client.get("/api/series/members").status_code == 404  # the API stays public-only


def test_a_logged_in_reader_sees_a_login_only_part_among_the_others(client, admin_user):
    series = make_series(slug="mixed")
    one, two, three = (make_part(series, title=t) for t in ("One", "Two", "Three"))
    PageViewRestriction.objects.create(page=two, restriction_type="login")
    assert two.url not in client.get(series.url).content.decode()
    client.force_login(admin_user)
    assert two.url in client.get(series.url).content.decode()
    assert two.url in client.get(one.url).content.decode()
    assert client.get("/api/series/mixed").json()["part_count"] == 2


def test_the_series_index_lists_a_login_only_series_to_logged_in_readers(client, admin_user):
    public, private = make_series(title="Open"), make_series(title="Closed")
    PageViewRestriction.objects.create(page=private, restriction_type="login")
    index = public.get_parent()
    assert public.url in client.get(index.url).content.decode()
    assert private.url not in client.get(index.url).content.decode()
    client.force_login(admin_user)
    assert private.url in client.get(index.url).content.decode()


def test_an_active_offer_shows_its_code_on_the_page_and_an_ended_one_in_preview_says_why(
    client, admin_client
):
    now = timezone.now()
    active = OfferFactory(code="spring", starts_at=now - timedelta(days=1))
    ended = OfferFactory(code="winter", starts_at=now - timedelta(days=9),
                         ends_at=now - timedelta(days=2))
    series = make_series(slug="offers")
    part = make_part(series, body=[("offer", {"offer": active, "headline": "Spring sale"}),
                                   ("offer", {"offer": ended, "headline": "Winter sale"})])
    page = client.get(part.url).content.decode()
    assert "spring" in page and "Spring sale" in page
    assert "winter" not in page and "Winter sale" not in page
    preview = admin_client.get(reverse("wagtailadmin_pages:view_draft", args=[part.pk]))
    assert "Offer block hidden from readers: its offer ended" in preview.content.decode()


@override_settings(ROOT_URLCONF="bench.wagtail_api_urls")
def test_the_benchmark_mounts_the_stock_api_beside_the_site(client):
    series = make_series(slug="bench")
    part = make_part(series, title="Benchmarked")
    assert client.get(f"/wagtail-api/v2/pages/{part.pk}/").json()["title"] == "Benchmarked"
    assert client.get("/api/series/bench").status_code == 200
    assert client.get(part.url).status_code == 200


@pytest.mark.parametrize(
    "url, expected",
    [("https://youtube.com/watch?v=1", True), ("http://vimeo.com/1", True),
     ("HTTPS://EXAMPLE.COM/v.mp4", True), ("javascript:alert(1)", False),
     ("javascript://youtube.com/%0aalert(1)", False), ("java\tscript:alert(1)", False),
     (" data:text/html,<b>", False), ("ftp://files.example/v.mp4", False),
     ("/relative/video.mp4", False), ("https:///no-host", False), ("", False), (None, False)],
)
def test_only_absolute_web_addresses_count_as_web_urls(url, expected):
    assert is_web_url(url) is expected


def test_unsafe_links_are_the_ones_wagtails_whitelist_drops():
    html = ('<p><a href="https://a.example">a</a> <a href="mailto:x@y.z">m</a> '
            '<a href="JaVaScRiPt:alert(1)">j</a> <a linktype="page" id="3">p</a></p>')
    assert unsafe_links(html) == ["JaVaScRiPt:alert(1)"]


def test_a_draft_part_is_not_public():
    series = make_series(slug="drafts")
    assert is_public_page(make_part(series))
    assert not is_public_page(make_part(series, live=False))
    assert not is_public_page(None)
