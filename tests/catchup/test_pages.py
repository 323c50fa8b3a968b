"""The reader's pages over HTTP (Django's test client): the confirmation page's catch-up offer,
the preference page, "stop emails about this series", catch-up, and leave everything. GET never
changes anything; every change is a consent record."""

import re

import pytest

from pipeline.catchup.models import CatchupProgress, ProgressState
from pipeline.subscribers.models import ConsentKind, SubscriberStatus
from pipeline.subscribers.services import subscriber_preferences_page_url
from pipeline.subscribers.tokens import reader_links
from tests.support.catchup import series_with_parts
from tests.support.factories import make_series
from tests.support.subscribers import confirm_path_from_outbox, link_path, make_member, subscribe

pytestmark = pytest.mark.django_db


def test_the_confirmation_page_offers_catch_up_on_a_series_with_earlier_parts(client):
    series_with_parts()
    assert subscribe(client, "ann@example.com").status_code == 202
    page = client.post(confirm_path_from_outbox(), HTTP_ACCEPT="text/html")
    html = page.content.decode()
    assert page.status_code == 200, html
    assert "3 earlier parts" in html, html
    action = re.search(r'<form method="post" action="([^"]+)">\s*<p>Moving Well', html).group(1)
    assert action.endswith("/catchup/moving-well/")
    assert not CatchupProgress.objects.exists()
    assert client.post(link_path(action)).status_code == 200
    assert CatchupProgress.objects.get().state == ProgressState.ACTIVE


def test_preference_page_follow_unfollow_and_catch_up_each_a_consent_record(client):
    series, _parts = series_with_parts()
    other = make_series(title="Eating Well", slug="eating-well")
    ann = make_member("ann@example.com", series)
    path = link_path(subscriber_preferences_page_url(ann))
    page = client.get(path)
    html = page.content.decode()
    assert page.status_code == 200
    assert page["Cache-Control"].startswith("max-age=0") or "no-store" in page["Cache-Control"]
    assert '<legend>Series you follow</legend>' in html
    assert '<label for="series-eating-well">Eating Well</label>' in html
    assert '<label for="catchup-moving-well">' in html
    assert ann.consents.count() == 0  # GET changed nothing
    answer = client.post(path, {"series": ["moving-well", "eating-well"],
                                "catchup": ["moving-well"]})
    assert answer.status_code == 302 and answer["Location"].endswith("?saved=1")
    assert set(ann.series.values_list("slug", flat=True)) == {"moving-well", "eating-well"}
    assert CatchupProgress.objects.get(subscriber=ann).state == ProgressState.ACTIVE
    client.post(path, {"series": ["eating-well"]})
    assert list(ann.series.values_list("pk", flat=True)) == [other.pk]
    assert CatchupProgress.objects.get(subscriber=ann).state == ProgressState.STOPPED
    kinds = list(ann.consents.values_list("kind", "requested_series"))
    assert kinds == [(ConsentKind.PREFERENCES, ["eating-well", "moving-well"]),
                     (ConsentKind.PREFERENCES, ["eating-well"])]
    assert "Your preferences are saved." in client.get(path + "?saved=1").content.decode()


def test_stop_series_get_changes_nothing_post_stops(client):
    series, _parts = series_with_parts()
    ann = make_member("ann@example.com", series)
    stop = link_path(reader_links(subscriber_id=ann.pk, email=ann.email,
                                  series_slug="moving-well").stop_series)
    page = client.get(stop)
    assert page.status_code == 200 and "Stop emails about Moving Well" in page.content.decode()
    assert ann.series.exists() and not ann.consents.exists()
    assert client.post(stop).status_code == 200
    assert not ann.series.exists()
    assert ann.consents.get().kind == ConsentKind.PREFERENCES


def test_leave_everything_unsubscribes_with_a_withdrawal(client):
    series, _parts = series_with_parts()
    ann = make_member("ann@example.com", series)
    path = link_path(subscriber_preferences_page_url(ann))
    assert client.get(path + "leave/").status_code == 200
    ann.refresh_from_db()
    assert ann.status == SubscriberStatus.SUBSCRIBED
    assert client.post(path + "leave/").status_code == 200
    ann.refresh_from_db()
    assert ann.status == SubscriberStatus.UNSUBSCRIBED
    assert ann.consents.get().kind == ConsentKind.WITHDRAWN


def test_a_forged_or_foreign_token_gets_400_and_changes_nothing(client):
    series, _parts = series_with_parts()
    ann = make_member("ann@example.com", series)
    path = link_path(subscriber_preferences_page_url(ann))
    token = path.split("/")[2]
    forged = path.replace(token, token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb"))
    assert client.post(forged, {"series": []}).status_code == 400
    assert client.post(forged + "leave/").status_code == 400
    ann.refresh_from_db()
    assert ann.status == SubscriberStatus.SUBSCRIBED and ann.series.exists()


def test_the_preference_page_links_the_readers_own_data(client):
    """Data rights from the reader's side: the page's signed link answers their data as JSON."""
    series, _parts = series_with_parts()
    ann = make_member("ann@example.com", series)
    make_member("bob@example.com", series)
    html = client.get(link_path(subscriber_preferences_page_url(ann))).content.decode()
    data_link = re.search(r'<h2>Your data</h2>\s*<p><a href="([^"]+)"', html).group(1)
    answer = client.get(link_path(data_link))
    assert answer.status_code == 200
    body = answer.content.decode()
    assert "ann@example.com" in body and "bob@example.com" not in body
