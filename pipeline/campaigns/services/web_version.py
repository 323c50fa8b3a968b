"""The web version of a sent campaign, and the per-series archive of announcements.

Each campaign has a random ``web_token`` (models.py); its web version lives at
``/email/<token>/`` and every copy links to it ("View this email in your browser", at the top
of the email). It is public once the campaign's send has started (``send_requested_at``), since
readers may hold the email from then on.

The page is the stored copy (what the sender approved and the readers got), with everything
personal taken out, whatever the footer holds:
- every link or image whose address holds a merge tag (``*|UNSUB|*``, ``*|UPDATE_PROFILE|*``,
  any ``*|…|*``, raw or URL-encoded) or points into the subscriber API (unsubscribe,
  preferences, confirmation: per-reader signed tokens) is removed with its words;
- any element marked ``pw-personal`` (a footer line that only makes sense to a subscriber) and
  the "view in browser" line itself are removed;
- the remaining merge tags are filled as local delivery fills them (the postal address) or
  dropped (``*|FNAME|*`` and the like).
A discount's web version shows its code only while the offer is active: before the start and
after the end (or once unpublished) every occurrence of the code is replaced and a notice says
why. An announcement's web version exists only while its part and series are live and public
(Wagtail's view restrictions), and the archive lists only those.
"""

import html
import re
from dataclasses import dataclass
from datetime import datetime

import lxml.html
from django.conf import settings
from django.urls import reverse

from cms.links import public_url
from cms.models import PartPage
from pipeline.campaigns.models import Campaign, CampaignKind
from pipeline.campaigns.services.timing import offer_end_phrase, reader_time_zone
from pipeline.providers.message import ADDRESS_TAG
from pipeline.subscribers.tokens import absolute_url as subscriber_url

TOKEN_PATTERN = r"[A-Za-z0-9_-]{20,64}"
PERSONAL_CLASS = "pw-personal"
WEB_LINK_CLASS = "pw-view-in-browser"
_MERGE_TAG = re.compile(r"\*\|[^|*<>\"']{1,60}\|\*")
_ENCODED_MERGE = re.compile(r"%2a%7c|%7c%2a|\*%7c|%7c\*|%2a\||\|%2a", re.I)
_HAS_CLASS = 'contains(concat(" ", normalize-space(@class), " "), " {} ")'


def web_version_url(campaign: Campaign) -> str:
    return settings.BASE_URL + reverse("campaign_web_version", kwargs={"token": campaign.web_token})


def _subscriber_paths() -> tuple[str, ...]:
    """The subscriber API's per-reader pages (any path with a token under its prefix)."""
    sample = subscriber_url("subscriber_unsubscribe", "TOKEN")
    prefix = sample[: sample.index("/unsubscribe/")]  # …/api/subscribers
    path = prefix[len(settings.BASE_URL):]
    return (prefix + "/", path + "/")


def _is_personal(address: str) -> bool:
    if not address:
        return False
    if "*|" in address or "|*" in address or _ENCODED_MERGE.search(address):
        return True
    return any(address.startswith(p) or p in address for p in _subscriber_paths())


def published_web_versions():
    """Campaigns whose web version is public: their send has started and there is a copy."""
    return Campaign.objects.filter(send_requested_at__isnull=False).exclude(sent_html="")


def _part_is_public(part_id: int | None) -> bool:
    if part_id is None:
        return False
    part = PartPage.objects.live().public().filter(pk=part_id).select_related("series").first()
    return bool(part and part.series.live)


def campaign_by_web_token(token: str) -> Campaign | None:
    """The campaign whose web version this is, or None (unknown, not sent, or private now)."""
    if not re.fullmatch(TOKEN_PATTERN, token or ""):
        return None
    campaign = published_web_versions().select_related("offer").filter(web_token=token).first()
    if campaign is None:
        return None
    if campaign.kind == CampaignKind.ANNOUNCEMENT and not _part_is_public(campaign.part_id):
        return None
    return campaign


def strip_personal(markup: str) -> str:
    """The stored copy's HTML with every personal element removed (see the module's notes)."""
    document = lxml.html.document_fromstring(markup)
    for css_class in (PERSONAL_CLASS, WEB_LINK_CLASS):
        for element in document.xpath(f"//*[{_HAS_CLASS.format(css_class)}]"):
            element.drop_tree()
    for element in document.xpath("//a[@href] | //area[@href] | //form[@action]"):
        if _is_personal(element.get("href") or element.get("action") or ""):
            element.drop_tree()
    for element in document.xpath("//img[@src] | //link[@href]"):
        if _is_personal(element.get("src") or element.get("href") or ""):
            element.drop_tree()
    out = lxml.html.tostring(document, encoding="unicode", doctype="<!doctype html>")
    out = out.replace(ADDRESS_TAG, html.escape(settings.POSTAL_ADDRESS))
    return _MERGE_TAG.sub("", out)


@dataclass(frozen=True)
class OfferState:
    active: bool
    notice: str = ""  # empty while active
    instead_of_code: str = "(offer ended)"


def offer_state(campaign: Campaign, now: datetime) -> OfferState | None:
    """For a discount or reminder: whether its code may be shown now, and what to say if not."""
    if not campaign.is_discount or campaign.offer is None:
        return None
    offer = campaign.offer
    if offer.is_active(now):
        return OfferState(True)
    tz = reader_time_zone(campaign)
    if offer.live and now < offer.starts_at:
        start = offer.starts_at.astimezone(tz)
        return OfferState(False, f"This offer has not started yet: it starts {start:%A} "
                          f"{start.day} {start:%B} at {start:%H:%M} {start.tzname()}. Its code "
                          "is shown here from then.", "(not started yet)")
    if offer.live:
        ends = offer_end_phrase(ends_at=offer.ends_at, tz=tz)
        return OfferState(False, f"This offer has ended (it ran until {ends}); its code no "
                          "longer works.")
    return OfferState(False, "This offer has ended; its code no longer works.")


def _hide_code(markup: str, code: str, instead: str) -> str:
    if not code:
        return markup
    pattern = re.compile(rf"(?<![A-Za-z0-9]){re.escape(code)}(?![A-Za-z0-9])", re.I)
    return pattern.sub(instead, markup)


def _notice_html(notice: str) -> str:
    return (
        '<div role="status" class="pw-web-notice" style="max-width:600px;margin:16px auto;'
        "padding:12px 16px;background:#fff3cd;border:1px solid #d4a72c;color:#222;"
        'font:16px/1.5 Georgia,serif">' + html.escape(notice) + "</div>"
    )


@dataclass(frozen=True)
class WebVersion:
    subject: str
    html: str


def web_version_page(*, campaign: Campaign, now: datetime) -> WebVersion:
    """The page for one campaign (already found by ``campaign_by_web_token``)."""
    markup = strip_personal(campaign.sent_html)
    subject = campaign.sent_subject
    state = offer_state(campaign, now)
    if state is not None and not state.active:
        markup = _hide_code(markup, campaign.offer.code, state.instead_of_code)
        subject = _hide_code(subject, campaign.offer.code, state.instead_of_code)
        markup = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + _notice_html(state.notice),
                        markup, count=1)
    return WebVersion(subject=subject, html=markup)


@dataclass(frozen=True)
class ArchiveEntry:
    subject: str
    sent_at: datetime
    part_number: int
    part_title: str
    part_url: str
    web_version_url: str


def series_archive(*, series) -> list[ArchiveEntry]:
    """The sent announcements of a public series' live, public parts, newest first."""
    parts = {p.pk: p for p in series.public_parts().select_related("series")}
    campaigns = (
        published_web_versions()
        .filter(kind=CampaignKind.ANNOUNCEMENT, part_id__in=list(parts))
        .order_by("-send_requested_at", "-pk")
    )
    return [
        ArchiveEntry(
            subject=c.sent_subject,
            sent_at=c.sent_at or c.send_requested_at,
            part_number=parts[c.part_id].part_number,
            part_title=parts[c.part_id].title,
            part_url=public_url(parts[c.part_id]),
            web_version_url=web_version_url(c),
        )
        for c in campaigns
    ]
