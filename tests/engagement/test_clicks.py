"""Click counting over real HTTP (live_server): links rewritten to the signed redirect, clicks
counted per link and reader, the report in the admin, and the attacks on the redirect (tampered
token, another campaign's link, an arbitrary URL) answered 404 and never redirected elsewhere."""

import email
import email.policy
import re
from urllib.parse import urlsplit

import pytest
import requests
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from pipeline.campaigns.models import CampaignStatus
from pipeline.campaigns.services.campaigns import campaign_create_discount, campaign_schedule
from pipeline.campaigns.services.sending import campaign_send
from pipeline.engagement.models import CampaignLink, CampaignOpen, LinkClick
from pipeline.engagement.services.tokens import reader_token
from tests.support.factories import make_offer
from tests.support.smtp_sink import KeepingHandler, SmtpSink, use_smtp_server
from tests.support.subscribers import make_subscribers

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
LANDING = "https://shop.example.com/offer?utm=partwork&x=1"
TRACKED = re.compile(r"https?://[^\s\"<>]+/r/(\d+)/([\w.-]+)")


@pytest.fixture(autouse=True)
def _local(settings):
    settings.EMAIL_PROVIDER = "local"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.CAMPAIGN_RETRY_BACKOFF_SECONDS = 0


def _send(*, track: bool, readers: int = 3, prefix="reader", code="corrective"):
    subscribers = make_subscribers(readers, prefix=prefix)
    offer = make_offer(code=code, landing_url=LANDING)
    campaign = campaign_create_discount(offer=offer, name=f"Clicks {code}", send_at=None)
    campaign.track_clicks = track
    campaign.save(update_fields=["track_clicks"])
    assert campaign_schedule(campaign=campaign, send_at=timezone.now(), actor="editor").ok
    mail.outbox.clear()
    assert campaign_send(campaign_id=campaign.pk) == CampaignStatus.SENT
    return campaign, subscribers, {m.to[0]: m for m in mail.outbox}


def _get(live_server, url, **kwargs):
    path = urlsplit(url)
    return requests.get(f"{live_server.url}{path.path}" + (f"?{path.query}" if path.query else ""),
                        allow_redirects=False, timeout=10, **kwargs)


def test_off_by_default_links_go_out_as_they_are(settings):
    campaign, _, messages = _send(track=False)
    assert campaign.track_clicks is False
    message = next(iter(messages.values()))
    html = message.alternatives[0][0]
    assert "/r/" not in html and "/r/" not in message.body
    assert 'href="https://shop.example.com/offer?utm=partwork&amp;x=1"' in html
    assert not CampaignLink.objects.exists()


def test_links_are_rewritten_clicks_counted_per_link_and_reader(live_server, settings):
    campaign, subscribers, messages = _send(track=True)
    links = dict(CampaignLink.objects.filter(campaign=campaign).values_list("url", "pk"))
    assert LANDING in links
    first, second = (messages[s.email] for s in subscribers[:2])
    html = first.alternatives[0][0]
    # The landing link, in the HTML and the text, through the redirect with this reader's token.
    token = reader_token(campaign_id=campaign.pk, subscriber_id=subscribers[0].pk)
    landing = f"{settings.BASE_URL}/r/{links[LANDING]}/{token}"
    assert f'href="{landing}"' in html and landing in first.body
    assert LANDING not in html and LANDING not in first.body
    # Unsubscribe links (header, HTML, text) are never rewritten.
    unsubscribe = first.extra_headers["List-Unsubscribe"].strip("<>")
    assert "/api/subscribers/unsubscribe/" in unsubscribe
    assert f'href="{unsubscribe}"' in html and unsubscribe in first.body
    assert not any("/api/subscribers/" in url for url in links)

    answer = _get(live_server, landing)
    assert answer.status_code == 302 and answer.headers["Location"] == LANDING
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.headers["Referrer-Policy"] == "no-referrer"
    assert _get(live_server, landing).headers["Location"] == LANDING
    other = next((found for found in TRACKED.finditer(second.body)
                  if found.group(1) == str(links[LANDING])), None)
    assert other and other.group(2) != token
    assert _get(live_server, other.group(0)).status_code == 302

    clicks = {(c.link.url, c.subscriber_id): c.count for c in LinkClick.objects.all()}
    assert clicks == {(LANDING, subscribers[0].pk): 2, (LANDING, subscribers[1].pk): 1}

    # The campaign report in the admin: clicks per link, total and unique readers.
    admin = get_user_model().objects.create_superuser("chief", "chief@example.com", "pw")
    session = requests.Session()
    login = session.get(f"{live_server.url}/admin/login/", timeout=10)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text).group(1)
    session.post(f"{live_server.url}/admin/login/", timeout=10,
                 data={"username": admin.username, "password": "pw",
                       "csrfmiddlewaretoken": csrf},
                 headers={"Referer": f"{live_server.url}/admin/login/"})
    page = session.get(live_server.url + reverse("pipeline_campaign_manage",
                                                 args=[campaign.pk]), timeout=10)
    assert page.status_code == 200
    report = page.text[page.text.index('id="campaign-clicks"'):]
    rows = {url: (total, readers) for url, total, readers in re.findall(
        r"<tr><td>([^<]+)</td><td>(\d+)</td><td>(\d+)</td></tr>", report)}
    assert rows["https://shop.example.com/offer?utm=partwork&amp;x=1"] == ("3", "2")
    assert len(rows) == len(links)  # every link of the email, clicked or not


def test_attacks_on_the_redirect_get_404_and_never_a_redirect_elsewhere(live_server, settings):
    campaign, subscribers, messages = _send(track=True)
    other_campaign, other_readers, _ = _send(track=True, readers=1, prefix="other",
                                             code="second")
    link = CampaignLink.objects.get(campaign=campaign, url=LANDING)
    other_link = CampaignLink.objects.get(campaign=other_campaign, url=LANDING)
    token = reader_token(campaign_id=campaign.pk, subscriber_id=subscribers[0].pk)
    base = live_server.url

    def refused(path, **kwargs):
        answer = requests.get(base + path, allow_redirects=False, timeout=10, **kwargs)
        assert answer.status_code in (400, 404), (path, answer.status_code)
        assert "Location" not in answer.headers, path
        return answer

    campaign_part, subscriber_part, mac = token.split(".")
    flipped = mac[:-1] + ("A" if mac[-1] != "A" else "B")
    refused(f"/r/{link.pk}/{campaign_part}.{subscriber_part}.{flipped}")  # tampered signature
    refused(f"/r/{link.pk}/{campaign_part}.{subscriber_reader(other_readers)}.{mac}")  # other id
    refused(f"/r/{link.pk}/{other_campaign.pk}.{subscriber_part}.{mac}")  # another campaign
    refused(f"/r/{link.pk}/0{campaign_part}.{subscriber_part}.{mac}")  # another spelling
    refused(f"/r/{link.pk}/{token}x")
    refused(f"/r/{link.pk}/")
    # A valid token for this campaign, with another campaign's link id: 404.
    refused(f"/r/{other_link.pk}/{token}")
    refused(f"/r/{link.pk + 1000}/{token}")
    # An arbitrary URL, in the path or the query string, is never followed.
    refused("/r/https://evil.example.com/")
    refused("/r/?url=https://evil.example.com/")
    refused(f"/r/{link.pk}/https:%2F%2Fevil.example.com")
    answer = requests.get(f"{base}/r/{link.pk}/{token}?url=https://evil.example.com/&next=//evil",
                          allow_redirects=False, timeout=10)
    assert answer.status_code == 302 and answer.headers["Location"] == LANDING
    # Not a form target: a POST is refused (CSRF first, and the view takes only GET/HEAD).
    posted = requests.post(f"{base}/r/{link.pk}/{token}", allow_redirects=False, timeout=10)
    assert posted.status_code in (403, 405) and "Location" not in posted.headers
    # Only the one legitimate click above was counted.
    assert list(LinkClick.objects.values_list("link_id", "subscriber_id", "count")) == [
        (link.pk, subscribers[0].pk, 1)]


def subscriber_reader(readers) -> int:
    return readers[0].pk


def test_no_open_pixel_unless_the_operator_turns_it_on(live_server, settings):
    campaign, subscribers, messages = _send(track=True)
    html = messages[subscribers[0].email].alternatives[0][0]
    assert "/o/" not in html
    token = reader_token(campaign_id=campaign.pk, subscriber_id=subscribers[0].pk)
    assert requests.get(f"{live_server.url}/o/{token}.gif", timeout=10).status_code == 404
    assert not CampaignOpen.objects.exists()

    settings.CAMPAIGN_OPEN_TRACKING = True
    campaign, subscribers, messages = _send(track=True, prefix="later", code="opens")
    html = messages[subscribers[0].email].alternatives[0][0]
    token = reader_token(campaign_id=campaign.pk, subscriber_id=subscribers[0].pk)
    pixel = f"{settings.BASE_URL}/o/{token}.gif"
    assert f'<img src="{pixel}" width="1" height="1"' in html
    assert html.index(pixel) < html.index("</body>")
    answer = requests.get(f"{live_server.url}/o/{token}.gif", timeout=10)
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "image/gif"
    assert answer.content.startswith(b"GIF89a")
    assert requests.get(f"{live_server.url}/o/{token[:-1]}x.gif", timeout=10).status_code == 404
    opens = list(CampaignOpen.objects.values_list("campaign_id", "subscriber_id", "count"))
    assert opens == [(campaign.pk, subscribers[0].pk, 1)]


def test_the_bytes_on_the_wire_carry_each_readers_tracked_links(settings):
    """What the SMTP server receives (8bit or quoted-printable bodies alike) decodes to the
    reader's own tracked links, with the unsubscribe link untouched."""
    handler = KeepingHandler()
    with SmtpSink(handler) as sink:
        use_smtp_server(settings, sink.port)
        campaign, subscribers, _ = _send(track=True, readers=4)
    link = CampaignLink.objects.get(campaign=campaign, url=LANDING)
    assert len(handler.raw) == 4
    for raw in handler.raw:
        message = email.message_from_bytes(raw, policy=email.policy.default)
        to = str(message["To"])
        subscriber = next(s for s in subscribers if s.email == to)
        token = reader_token(campaign_id=campaign.pk, subscriber_id=subscriber.pk)
        landing = f"{settings.BASE_URL}/r/{link.pk}/{token}"
        text = message.get_body(("plain",)).get_content()
        body = message.get_body(("html",)).get_content()
        assert landing in text and f'href="{landing}"' in body
        assert LANDING not in text and LANDING not in body
        unsubscribe = str(message["List-Unsubscribe"]).strip("<>")
        assert unsubscribe in text and f'href="{unsubscribe}"' in body
        assert {found.group(2) for found in TRACKED.finditer(text + body)} == {token}
