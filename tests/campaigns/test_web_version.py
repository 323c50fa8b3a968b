"""Issue 17, item 4: the web version of every sent campaign and a series' archive of emails,
read over real HTTP (live_server) as a reader's browser or a front end reads them."""

import re
from datetime import timedelta

import pytest
import requests
import time_machine
from django.core import mail
from django.utils import timezone

from pipeline.campaigns.models import Campaign, CampaignStatus
from pipeline.campaigns.services.announcements import announcement_campaign_create
from pipeline.campaigns.services.campaigns import campaign_create_discount, campaign_schedule
from pipeline.campaigns.services.sending import campaign_send
from pipeline.campaigns.services.web_version import web_version_url
from pipeline.publishing.models import Announcement
from pipeline.subscribers.tokens import (
    CONFIRM,
    absolute_url,
    make_token,
    preferences_url,
    unsubscribe_url,
)
from tests.support.factories import make_offer, make_part, make_series
from tests.support.mailchimp import add_members, real_sends, use_emulator
from tests.support.pages import restrict
from tests.support.subscribers import make_subscribers

S = CampaignStatus
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
CODE = "BENDWELL35"
WEB_LINK = re.compile(r"https?://[^\"'\s<>]+/email/[A-Za-z0-9_-]{20,64}/")


@pytest.fixture
def site(settings, live_server):
    settings.BASE_URL = live_server.url
    settings.EMAIL_PROVIDER = "local"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return live_server.url


def sent_discount(**offer_fields) -> Campaign:
    offer = make_offer(code=CODE, percent_off=35, **offer_fields)
    campaign = campaign_create_discount(offer=offer, name="Bend well week", send_at=None)
    answer = campaign_schedule(campaign=campaign, send_at=timezone.now(), actor="editor")
    assert answer.ok, answer.message
    assert campaign_send(campaign_id=campaign.pk) == S.SENT
    campaign.refresh_from_db()
    return campaign


def sent_announcement(part) -> Campaign:
    campaign = announcement_campaign_create(
        announcement_id=Announcement.objects.get(part=part).pk)
    if campaign.status == S.DRAFT:
        assert campaign_schedule(campaign=campaign, send_at=timezone.now(), actor="editor").ok
    assert campaign_send(campaign_id=campaign.pk) == S.SENT
    campaign.refresh_from_db()
    return campaign


def get(url: str) -> requests.Response:
    return requests.get(url, timeout=10, allow_redirects=False)


def test_the_sent_email_links_its_web_version_which_shows_nothing_personal(site, series):
    readers = make_subscribers(2, series=[series])
    campaign = sent_discount()

    message = mail.outbox[0]
    html_part = message.alternatives[0][0]
    link = WEB_LINK.search(html_part).group(0)
    assert link == web_version_url(campaign) and link in message.body  # text part too
    assert link in campaign.sent_html and link in campaign.sent_text  # the approved copy
    token = link.rsplit("/email/", 1)[1].strip("/")
    assert token == campaign.web_token and len(token) >= 43  # 256 random bits, not the id

    page = get(link)
    assert page.status_code == 200, page.text
    body = page.text
    assert CODE in body and "35% off" in body and "1 Example Street" in body
    assert "/api/subscribers/" not in body and "*|" not in body and "%7C" not in body.upper()
    for reader in readers:
        token_url = unsubscribe_url(subscriber_id=reader.pk, email=reader.email)
        assert token_url not in body and token_url.rsplit("/", 1)[1] not in body
        assert reader.email not in body
    assert "View this email in your browser" not in body  # the page does not link itself
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "noindex" in page.headers["X-Robots-Tag"]


def test_every_kind_of_personal_link_is_taken_out(site, series):
    (reader,) = make_subscribers(1, series=[series])
    campaign = sent_discount()
    personal = {
        "unsubscribe merge tag": '<a href="*|UNSUB|*">Unsubscribe</a>',
        "preferences merge tag": '<a href="*|UPDATE_PROFILE|*">Update your preferences</a>',
        "signed preferences link": f'<a href="{preferences_url(subscriber_id=reader.pk, email=reader.email)}">Manage preferences</a>',  # noqa: E501
        "signed unsubscribe link": f'<a href="{unsubscribe_url(subscriber_id=reader.pk, email=reader.email)}">Leave</a>',  # noqa: E501
        "confirmation link": '<a href="{}">Confirm</a>'.format(
            absolute_url("subscriber_confirm", make_token(CONFIRM, subscriber_id=reader.pk,
                                                          email=reader.email))),
        "series opt-out": '<a href="/api/subscribers/series/stop/abc.def">Stop emails about '
                          "this series</a>",
        "url-encoded merge tag": '<a href="https://example.org/r?e=%2A%7CEMAIL%7C%2A">Track</a>',
        "tracking pixel": '<img src="https://example.org/open.gif?u=*|UNIQID|*" alt="">',
        "marked footer line": '<p class="footer pw-personal">You follow Moving Well. '
                              '<a href="https://example.org/x">Stop</a></p>',
        "first-name merge tag": "<p>Dear *|FNAME|*,</p>",
        "address merge tag": "<p>Sent to *|EMAIL|*</p>",
    }
    injected = "".join(f"<div>{markup}</div>" for markup in personal.values())
    Campaign.objects.filter(pk=campaign.pk).update(
        sent_html=campaign.sent_html.replace("</body>", injected + "</body>"))

    body = get(web_version_url(campaign)).text
    assert CODE in body  # the page is still the email
    for kind, needle in {
        "unsubscribe merge tag": "*|UNSUB|*",
        "preferences merge tag": "UPDATE_PROFILE",
        "signed preferences link": "Manage preferences",
        "signed unsubscribe link": "/unsubscribe/",
        "confirmation link": "/confirm/",
        "series opt-out": "Stop emails about this series",
        "url-encoded merge tag": "%7CEMAIL",
        "tracking pixel": "UNIQID",
        "marked footer line": "You follow Moving Well",
        "first-name merge tag": "FNAME",
        "address merge tag": "EMAIL|",
    }.items():
        assert needle not in body, kind
    assert "/api/subscribers/" not in body and "*|" not in body
    assert "Dear ," in body  # the words around a merge tag stay; the tag goes


def test_a_discount_shows_its_code_only_while_the_offer_is_active(site, series):
    make_subscribers(1, series=[series])
    campaign = sent_discount(starts_in=timedelta(minutes=-30), ends_in=timedelta(days=1))
    offer = campaign.offer
    url = web_version_url(campaign)

    active = get(url).text
    assert CODE in active and "has ended" not in active

    with time_machine.travel(offer.ends_at + timedelta(seconds=1), tick=False):
        ended = get(url)
    assert ended.status_code == 200
    assert CODE not in ended.text and CODE.lower() not in ended.text.lower()
    assert "This offer has ended" in ended.text and "no longer works" in ended.text
    assert "(offer ended)" in ended.text  # where the code stood

    with time_machine.travel(offer.starts_at - timedelta(minutes=5), tick=False):
        early = get(url).text
    assert CODE.lower() not in early.lower() and "has not started yet" in early
    assert "(not started yet)" in early and "(offer ended)" not in early

    with time_machine.travel(offer.ends_at - timedelta(minutes=1), tick=False):
        assert CODE in get(url).text  # the last minute still shows it

    offer.unpublish()
    withdrawn = get(url).text
    assert CODE.lower() not in withdrawn.lower() and "This offer has ended" in withdrawn


def test_unknown_unsent_and_guessed_addresses_answer_404(site, series):
    make_subscribers(1, series=[series])
    sent = sent_discount()
    offer = make_offer(code="LATER10", percent_off=10, starts_in=timedelta(hours=-1),
                       ends_in=timedelta(days=3))
    scheduled = campaign_create_discount(offer=offer, name="Later", send_at=None)
    assert campaign_schedule(campaign=scheduled, send_at=timezone.now() + timedelta(hours=1),
                             actor="editor").ok
    scheduled.refresh_from_db()
    assert web_version_url(scheduled) in scheduled.sent_html  # its copy links it already…
    assert get(web_version_url(scheduled)).status_code == 404  # …but nothing is public yet

    assert get(f"{site}/email/{sent.pk}/").status_code == 404
    assert get(f"{site}/email/{'A' * 43}/").status_code == 404
    tampered = sent.web_token[:-1] + ("A" if sent.web_token[-1] != "A" else "B")
    assert get(f"{site}/email/{tampered}/").status_code == 404
    assert requests.post(web_version_url(sent), timeout=10).status_code in (403, 405)


def test_announcements_web_versions_and_archive_show_only_public_parts(site, series):
    make_subscribers(2, series=[series])
    first = make_part(series, title="Hips first")
    second = make_part(series, title="Knees next")
    hidden = make_part(series, title="Members only")
    restrict(hidden, "password")
    campaigns = {p.title: sent_announcement(p) for p in (first, second)}
    # The restriction came after the send: the copy exists, but it must not be shown.
    hidden_campaign = Campaign.objects.create(
        kind="announcement", name="hidden", part=hidden, status=S.SENT,
        sent_subject="Members only", sent_html="<html><body>Members only</body></html>",
        send_requested_at=timezone.now(), sent_at=timezone.now())

    page = get(web_version_url(campaigns["Hips first"]))
    assert page.status_code == 200 and "Hips first" in page.text
    assert "Read part 1" in page.text and first.get_full_url() in page.text
    assert get(web_version_url(hidden_campaign)).status_code == 404

    api = get(f"{site}/api/series/{series.slug}/emails")
    assert api.status_code == 200
    data = api.json()
    assert [e["part_title"] for e in data["emails"]] == ["Knees next", "Hips first"]
    assert data["emails"][1]["web_version_url"] == web_version_url(campaigns["Hips first"])
    assert data["emails"][1]["part_url"] == first.get_full_url()
    archive = get(data["archive_url"])
    assert archive.status_code == 200
    assert web_version_url(campaigns["Knees next"]) in archive.text
    assert "Members only" not in archive.text and "Members only" not in api.text

    second.unpublish()
    assert get(web_version_url(campaigns["Knees next"])).status_code == 404
    assert "Knees next" not in get(f"{site}/api/series/{series.slug}/emails").text


@pytest.mark.parametrize("how", ["password", "login", "groups", "unpublished"])
def test_a_private_series_has_no_archive_and_no_web_versions(site, how):
    series = make_series(title="Closed circle", slug="closed-circle")
    make_subscribers(1, series=[series])
    part = make_part(series, title="Inside")
    campaign = sent_announcement(part)
    assert get(web_version_url(campaign)).status_code == 200
    if how == "unpublished":
        series.unpublish()  # its parts stay live
    else:
        restrict(series, how)
    assert get(web_version_url(campaign)).status_code == 404
    assert get(f"{site}/api/series/closed-circle/emails").status_code == 404
    assert get(f"{site}/email/series/closed-circle/").status_code == 404


def test_front_end_urls_reach_the_email_and_its_web_version(site, series, settings):
    settings.FRONTEND_URL = "https://read.example.org/{series}/{part}/"
    make_subscribers(1, series=[series])
    part = make_part(series, title="Shoulders")
    campaign = sent_announcement(part)
    front = f"https://read.example.org/{series.slug}/{part.part_number}/"
    assert front in mail.outbox[0].alternatives[0][0] and front in mail.outbox[0].body
    assert front in get(web_version_url(campaign)).text
    entry = get(f"{site}/api/series/{series.slug}/emails").json()["emails"][0]
    assert entry["part_url"] == front


def test_mailchimp_campaigns_carry_the_link_and_have_a_web_version(
    site, series, settings, mailchimp_emulator
):
    use_emulator(settings, mailchimp_emulator)
    add_members(mailchimp_emulator, ["m0@example.com", "m1@example.com"])
    campaign = sent_discount()
    (sent,) = real_sends(mailchimp_emulator)
    link = web_version_url(campaign)
    assert link in sent["html"] and link in sent["plain_text"]
    page = get(link)
    assert page.status_code == 200 and CODE in page.text
    assert "*|UNSUB|*" not in page.text and "*|" not in page.text
