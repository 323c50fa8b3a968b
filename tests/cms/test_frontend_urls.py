"""Issue 17, item 9: every public link leads to the front end when FRONTEND_URL and
FRONTEND_SERIES_URL are set (the API's urls, part links and callouts, feeds, emails), and to
Wagtail's page under BASE_URL when they are not."""

import os
import xml.etree.ElementTree as ET

import pytest
from django.core import mail
from django.utils import timezone

from cms.links import public_url
from config.settings.env import ConfigurationError, env_url_pattern
from pipeline.campaigns.services.announcements import announcement_campaign_create
from pipeline.campaigns.services.campaigns import campaign_schedule
from pipeline.campaigns.services.sending import campaign_send
from pipeline.publishing.models import Announcement
from tests.support.factories import make_part
from tests.support.subscribers import make_subscribers

pytestmark = pytest.mark.django_db
PART = "https://read.example.org/s/{series}/p/{part}/"
SERIES = "https://read.example.org/s/{series}/"


@pytest.fixture
def front_end(settings):
    settings.FRONTEND_URL = PART
    settings.FRONTEND_SERIES_URL = SERIES


def parts(series):
    one = make_part(series, title="One")
    two = make_part(series, title="Two", body=[
        ("paragraph", "<p>Text.</p>"), ("callout", {"text": "Read part 1", "part": one})])
    return one, two


def front(series, number=None):
    if number is None:
        return f"https://read.example.org/s/{series.slug}/"
    return f"https://read.example.org/s/{series.slug}/p/{number}/"


def test_the_api_links_the_front_end(client, series, front_end):
    one, two = parts(series)
    listing = client.get("/api/series").json()
    assert listing[0]["url"] == front(series)
    detail = client.get(f"/api/series/{series.slug}").json()
    assert detail["url"] == front(series)
    assert [p["url"] for p in detail["parts"]] == [front(series, 1), front(series, 2)]
    part = client.get(f"/api/series/{series.slug}/parts/2").json()
    assert part["url"] == front(series, 2) and part["series"]["url"] == front(series)
    assert part["previous"]["url"] == front(series, 1)
    callout = next(b for b in part["body"] if b["type"] == "callout")
    assert callout["value"]["part"]["url"] == front(series, 1)
    assert detail["api_url"].endswith(f"/api/series/{series.slug}")  # the API's own: ours


def test_feeds_link_the_front_end(client, series, front_end):
    parts(series)
    rss = ET.fromstring(client.get(f"/feeds/{series.slug}/rss/").content)
    assert rss.find("channel/link").text == front(series)
    assert [i.find("link").text for i in rss.iter("item")] == [front(series, 2), front(series, 1)]
    atom = client.get(f"/feeds/{series.slug}/atom/").content.decode()
    assert f'href="{front(series, 1)}"' in atom


def test_announcement_emails_link_the_front_end(series, front_end, settings):
    settings.EMAIL_PROVIDER = "local"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    make_subscribers(1, series=[series])
    one, two = parts(series)
    campaign = announcement_campaign_create(
        announcement_id=Announcement.objects.get(part=two).pk)
    if campaign.status == "draft":
        assert campaign_schedule(campaign=campaign, send_at=timezone.now(), actor="t").ok
    assert campaign_send(campaign_id=campaign.pk) == "sent"
    html_part = mail.outbox[0].alternatives[0][0]
    assert f'href="{front(series, 2)}"' in html_part  # "Read part 2"
    assert front(series, 1) in html_part  # the callout in the body
    assert front(series, 2) in mail.outbox[0].body
    assert two.get_full_url() not in html_part


def test_unset_keeps_wagtail_pages_under_base_url(client, series, settings):
    settings.FRONTEND_URL = settings.FRONTEND_SERIES_URL = None
    one, two = parts(series)
    part = client.get(f"/api/series/{series.slug}/parts/2").json()
    assert part["url"] == two.get_full_url() == public_url(two)
    assert part["series"]["url"] == series.get_full_url()
    assert part["previous"]["url"] == one.get_full_url()
    callout = next(b for b in part["body"] if b["type"] == "callout")
    assert callout["value"]["part"]["url"] == one.get_full_url()


def test_only_the_part_pattern_set_leaves_series_on_wagtail(client, series, settings):
    settings.FRONTEND_URL, settings.FRONTEND_SERIES_URL = PART, None
    parts(series)
    detail = client.get(f"/api/series/{series.slug}").json()
    assert detail["url"] == series.get_full_url()
    assert detail["parts"][0]["url"] == front(series, 1)


def test_placeholders_are_url_quoted(series, settings):
    settings.FRONTEND_URL = "https://read.example.org/?s={series}&p={part}"
    part = make_part(series, title="One")
    assert public_url(part) == f"https://read.example.org/?s={series.slug}&p=1"
    series.slug = "a&b"  # never saved: only what the helper does with odd characters
    assert public_url(series) == series.get_full_url()
    part.series = series
    assert public_url(part) == "https://read.example.org/?s=a%26b&p=1"


@pytest.mark.parametrize(
    ("name", "value", "placeholders"),
    [
        ("FRONTEND_URL", "https://read.example.org/{series}/", ("series", "part")),
        ("FRONTEND_URL", "read.example.org/{series}/{part}", ("series", "part")),
        ("FRONTEND_SERIES_URL", "https://read.example.org/", ("series",)),
        ("FRONTEND_PREVIEW_URL", "https://read.example.org/preview/", ("token",)),
    ],
)
def test_a_pattern_without_its_placeholders_stops_the_start(monkeypatch, name, value,
                                                            placeholders):
    monkeypatch.setitem(os.environ, name, value)
    with pytest.raises(ConfigurationError, match=name):
        env_url_pattern(name, *placeholders)


def test_a_good_pattern_is_read(monkeypatch):
    monkeypatch.setitem(os.environ, "FRONTEND_URL", PART)
    assert env_url_pattern("FRONTEND_URL", "series", "part") == PART
    monkeypatch.delitem(os.environ, "FRONTEND_URL")
    assert env_url_pattern("FRONTEND_URL", "series", "part") is None
