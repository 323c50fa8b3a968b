"""Issue 12 (leftover of items 2 and 3): Wagtail's offer chooser, open to every admin user (an
editor picks an offer for a part's offer block), never shows an offer's code: not in the list,
not in its search results, not in the chosen offer's JSON; and searching it for a guessed code
confirms nothing. Offer editors read codes in the Offers listing, which needs the permission."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.support.admin_users import admin_user
from tests.support.factories import OfferFactory

pytestmark = pytest.mark.django_db
CODE = "SPRINGSECRET"


@pytest.fixture
def offer():
    now = timezone.now()
    return OfferFactory(name="Spring sale", code=CODE, percent_off=35,
                        starts_at=now + timedelta(days=2), ends_at=now + timedelta(days=9))


@pytest.fixture
def editor(client):
    client.force_login(admin_user("editor", groups=["Editors"]))
    return client


def test_the_chooser_lists_offers_without_their_codes(editor, offer):
    for url in (reverse("wagtailsnippetchoosers_cms_offer:choose"),
                reverse("wagtailsnippetchoosers_cms_offer:choose_results")):
        response = editor.get(url)
        assert response.status_code == 200
        content = response.content.decode()
        assert "Spring sale" in content  # the editor can still choose it
        assert CODE not in content and CODE.lower() not in content.lower()


def test_the_chosen_offer_is_described_without_its_code(editor, offer):
    response = editor.get(reverse("wagtailsnippetchoosers_cms_offer:chosen", args=[offer.pk]))
    assert response.status_code == 200
    assert CODE.lower() not in response.content.decode().lower()


def test_searching_the_chooser_for_a_guessed_code_confirms_nothing(editor, offer):
    url = reverse("wagtailsnippetchoosers_cms_offer:choose_results")
    by_code = editor.get(url, {"q": CODE}).content.decode()
    by_wrong_code = editor.get(url, {"q": "NOTACODE"}).content.decode()
    assert "Spring sale" not in by_code
    assert by_code.replace(CODE, "NOTACODE") == by_wrong_code
    assert "Spring sale" in editor.get(url, {"q": "Spring"}).content.decode()
