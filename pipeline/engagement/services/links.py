"""Click counting: the links of a campaign's email rewritten to the counting redirect, and the
clicks and opens recorded.

Rewriting happens when a local run prepares the email (receivers.py answers campaigns'
``local_email_preparing``): every ``http(s)`` link of the HTML (``href="..."``) and of the text
part becomes ``BASE_URL/r/<link id>/<reader token>``, its URL stored once per campaign in
``CampaignLink`` (the same ids on every run and after a crash). Links to the subscriber pages
(unsubscribe, preferences: still merge tags or under /api/subscribers/) are never rewritten:
an unsubscribe must not depend on the redirect, nor be counted as a click. With
CAMPAIGN_OPEN_TRACKING on, a 1x1 image ``BASE_URL/o/<reader token>.gif`` goes before
``</body>``.
"""

import dataclasses
import html
import re
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Sum
from django.utils import timezone

from pipeline.campaigns.models import Campaign
from pipeline.campaigns.services.tracking import Tracking
from pipeline.engagement.models import CampaignLink, CampaignOpen, LinkClick
from pipeline.engagement.services.tokens import reader_token
from pipeline.providers.message import READER_TAG, RenderedEmail
from pipeline.subscribers.tokens import absolute_url

_HREF = re.compile(r'href="(https?://[^"]+)"', re.IGNORECASE)
_TEXT_URL = re.compile(r"https?://[^\s<>\"]+")
_TRAILING = ".,;:!?)]'"


def _subscriber_pages() -> str:
    """BASE_URL/api/subscribers/: unsubscribe, preferences and confirmation pages."""
    return absolute_url("subscriber_preferences", "T").rsplit("preferences/", 1)[0]


def _tracked(url: str) -> bool:
    return "*|" not in url and not url.startswith(_subscriber_pages())


def _text_urls(text: str):
    for match in _TEXT_URL.finditer(text):
        url = match.group(0).rstrip(_TRAILING)
        yield match.start(), match.start() + len(url), url


def campaign_links(*, campaign: Campaign, urls: list[str]) -> dict[str, int]:
    """The link ids of ``urls`` for this campaign, made on first sight (idempotent)."""
    known = dict(CampaignLink.objects.filter(campaign=campaign).values_list("url", "pk"))
    new = [url for url in dict.fromkeys(urls) if url not in known]
    if new:
        start = len(known)
        CampaignLink.objects.bulk_create(
            [CampaignLink(campaign=campaign, url=url, position=start + index)
             for index, url in enumerate(new)], ignore_conflicts=True)
        known = dict(CampaignLink.objects.filter(campaign=campaign).values_list("url", "pk"))
    return known


def redirect_base() -> str:
    return f"{settings.BASE_URL}/r/"


def campaign_tracking(*, campaign: Campaign, rendered: RenderedEmail) -> Tracking:
    """The email with its links through the counting redirect, and each reader's token."""
    html_urls = [html.unescape(m.group(1)) for m in _HREF.finditer(rendered.html)]
    text_urls = [url for _, _, url in _text_urls(rendered.text)]
    ids = campaign_links(campaign=campaign,
                         urls=[url for url in html_urls + text_urls if _tracked(url)])
    base = redirect_base()

    def tracked(url: str) -> str:
        return f"{base}{ids[url]}/{READER_TAG}" if url in ids else url

    def rewrite(match: re.Match) -> str:
        url = html.unescape(match.group(1))
        return f'href="{tracked(url)}"' if url in ids else match.group(0)

    body = _HREF.sub(rewrite, rendered.html)
    text, at = [], 0
    for start, end, url in _text_urls(rendered.text):
        text += [rendered.text[at:start], tracked(url)]
        at = end
    text.append(rendered.text[at:])
    if settings.CAMPAIGN_OPEN_TRACKING:
        pixel = (f'<img src="{settings.BASE_URL}/o/{READER_TAG}.gif" width="1" height="1" '
                 'alt="" style="display:block;width:1px;height:1px;border:0">')
        body = (body.replace("</body>", pixel + "</body>", 1) if "</body>" in body
                else body + pixel)
    return Tracking(dataclasses.replace(rendered, html=body, text="".join(text)),
                    reader_token=partial(_token, campaign.pk))


def _token(campaign_id: int, subscriber_id: int) -> str:
    return reader_token(campaign_id=campaign_id, subscriber_id=subscriber_id)


def _count(model, *, match: dict) -> None:
    """One more for this row, made at the first (two requests at once both count)."""
    now = timezone.now()
    if model.objects.filter(**match).update(count=F("count") + 1, last_at=now):
        return
    try:
        with transaction.atomic():
            model.objects.create(**match, first_at=now, last_at=now)
    except IntegrityError:  # made meanwhile by a concurrent request, or the reader is gone
        model.objects.filter(**match).update(count=F("count") + 1, last_at=now)


def click_record(*, link: CampaignLink, subscriber_id: int) -> None:
    _count(LinkClick, match={"link": link, "subscriber_id": subscriber_id})


def open_record(*, campaign_id: int, subscriber_id: int) -> None:
    _count(CampaignOpen, match={"campaign_id": campaign_id, "subscriber_id": subscriber_id})


def campaign_click_report(*, campaign: Campaign) -> list[dict]:
    """Per link, in the email's order: its URL, all clicks and the readers who clicked."""
    return list(
        CampaignLink.objects.filter(campaign=campaign).order_by("position")
        .annotate(total=Sum("clicks__count", default=0), readers=Count("clicks"))
        .values("url", "total", "readers")
    )


def campaign_open_report(*, campaign: Campaign) -> dict:
    row = CampaignOpen.objects.filter(campaign=campaign).aggregate(
        total=Sum("count", default=0), readers=Count("pk"))
    return row
