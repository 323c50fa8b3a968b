"""Issue 12, item 2: an offer's code never shows before its start, after its end or while the
offer is a draft: not on the part's public page, not in the admin's preview of the part, not in
Wagtail's stock API (which production does not route at all). The offer block's headline goes
with it: an imported headline is the discount line itself ("35% off with code …")."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.urls import path, reverse
from django.utils import timezone
from wagtail.api.v2.router import WagtailAPIRouter
from wagtail.api.v2.views import PagesAPIViewSet

from tests.support.factories import OfferFactory, make_part, make_series

pytestmark = pytest.mark.django_db

CODE = "corrective"
HEADLINE = f"35% off this week with code {CODE}"
DAY = timedelta(days=1)

# Wagtail's stock API v2 mounted on its own, as a project (or the benchmark) might mount it.
_stock_api = WagtailAPIRouter("wagtailapi")
_stock_api.register_endpoint("pages", PagesAPIViewSet)
urlpatterns = [path("wagtail-api/v2/", _stock_api.urls)]

INACTIVE = {
    "draft": lambda now: {"live": False, "starts_at": now - DAY, "ends_at": now + DAY},
    "not started": lambda now: {"starts_at": now + DAY, "ends_at": now + 3 * DAY},
    "ended": lambda now: {"starts_at": now - 3 * DAY, "ends_at": now - DAY},
}


@pytest.fixture(params=sorted(INACTIVE))
def part(request):
    offer = OfferFactory(code=CODE, percent_off=35, **INACTIVE[request.param](timezone.now()))
    series = make_series(title="Strong Back", slug="strong-back")
    body = [("paragraph", "<p>Hinge at the hips.</p>"),
            ("offer", {"offer": offer, "headline": HEADLINE})]
    return make_part(series, title="Hips", body=body)


def test_inactive_offer_code_not_in_part_page(client, part):
    response = client.get(part.url)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Hinge at the hips." in page
    assert CODE not in page


def test_inactive_offer_code_not_in_admin_preview(admin_client, part):
    response = admin_client.get(reverse("wagtailadmin_pages:view_draft", args=[part.pk]))
    assert response.status_code == 200
    preview = response.content.decode()
    assert "Hinge at the hips." in preview
    assert CODE not in preview
    assert "Offer block hidden from readers" in preview  # the editor is told why


@override_settings(ROOT_URLCONF=__name__)
def test_offer_code_not_in_stock_wagtail_api(client, part):
    response = client.get(f"/wagtail-api/v2/pages/{part.pk}/")
    assert response.status_code == 200
    assert "Hinge at the hips." in response.content.decode()
    assert CODE not in response.content.decode()


def test_stock_wagtail_api_is_not_routed(client, part):
    for url in ("/wagtail-api/v2/pages/", f"/wagtail-api/v2/pages/{part.pk}/",
                f"/wagtail-api/v2/pages/?type=cms.PartPage&fields=body&search={CODE}"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert CODE not in response.content.decode()
