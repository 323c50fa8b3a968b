from datetime import timedelta
from xml.etree import ElementTree

import pytest
from django.utils import timezone

from tests.support.factories import make_part, make_series

pytestmark = pytest.mark.django_db


def test_rss_feed_lists_live_parts_only(client):
    series = make_series(title="Strong Back", slug="strong-back")
    make_part(series, title="One")
    make_part(series, title="Draft", live=False)
    make_part(series, title="Soon", go_live_at=timezone.now() + timedelta(days=1))
    make_part(series, title="Four")
    response = client.get("/feeds/strong-back/rss/")
    assert response.status_code == 200
    titles = [t.text for t in ElementTree.fromstring(response.content).iter("title")]
    assert titles == ["Strong Back", "Part 4: Four", "Part 1: One"]


def test_atom_feed_and_unknown_series(client):
    series = make_series(slug="strong-back")
    make_part(series, title="One")
    atom = client.get("/feeds/strong-back/atom/")
    assert atom.status_code == 200
    entries = ElementTree.fromstring(atom.content).findall("{http://www.w3.org/2005/Atom}entry")
    assert len(entries) == 1
    assert client.get("/feeds/nope/rss/").status_code == 404
