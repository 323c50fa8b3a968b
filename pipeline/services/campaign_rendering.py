"""Render a campaign: MJML templates (templates/email/campaign/) through mrml, CSS inlined with
css_inline, and a plain-text part from a sibling template. Links and images are absolute.

The rendered email keeps Mailchimp's merge tags (``*|UNSUB|*``, ``*|LIST:ADDRESS|*``): Mailchimp
fills them in itself, and local delivery fills them per recipient (``personalize``). The tags
are made of characters rich text never escapes, so they survive editors' rich text too.
"""

import html
import re
from dataclasses import dataclass

import css_inline
import mrml
from django.conf import settings
from django.template.loader import render_to_string
from wagtail.rich_text import expand_db_html

from cms.selectors import public_url
from pipeline.campaign_models import Campaign, CampaignKind
from pipeline.services.campaign_timing import offer_end_phrase, reader_time_zone

UNSUB_TAG = "*|UNSUB|*"
ADDRESS_TAG = "*|LIST:ADDRESS|*"
_MERGE_TAG = re.compile(r"\*\|[A-Z0-9_:]+\|\*")
_RELATIVE_ATTR = re.compile(r'(\s(?:href|src)=")(/(?!/)[^"]*)"')


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    preheader: str
    html: str
    text: str


def absolutize(markup: str) -> str:
    """Turn root-relative href/src values (Wagtail rich text links, images) into absolute URLs."""
    return _RELATIVE_ATTR.sub(lambda m: f'{m.group(1)}{settings.BASE_URL}{m.group(2)}"', markup)


def absolute_url(url: str) -> str:
    if url.startswith("/") and not url.startswith("//"):
        return settings.BASE_URL + url
    return url


def rich_text_to_plain(markup: str) -> str:
    """Readable text for the plain-text part: links as "words (url)", paragraphs on their own."""
    markup = re.sub(
        r'<a\s[^>]*href="([^"]*)"[^>]*>(.*?)</a>',
        lambda m: m.group(2) if m.group(1) in m.group(2) else f"{m.group(2)} ({m.group(1)})",
        markup,
        flags=re.S,
    )
    markup = re.sub(r"<br\s*/?>", "\n", markup)
    markup = re.sub(r"</(p|h\d|li)>", "\n\n", markup)
    text = html.unescape(re.sub(r"<[^>]+>", "", markup))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _context(campaign: Campaign) -> tuple[str, dict]:
    message_html = absolutize(expand_db_html(campaign.message)) if campaign.message else ""
    context = {
        "site_name": settings.WAGTAIL_SITE_NAME,
        "masthead": settings.WAGTAIL_SITE_NAME,
        "message_html": message_html,
        "message_text": rich_text_to_plain(message_html),
    }
    if campaign.kind == CampaignKind.ANNOUNCEMENT:
        part = campaign.part
        series = part.series
        subject = campaign.subject or f"{series.title}, part {part.part_number}: {part.title}"
        preheader = campaign.preheader or (part.standfirst or "")[:150]
        image = series.hero_image
        context.update(
            series_title=series.title,
            part_number=part.part_number,
            part_title=part.title,
            standfirst=part.standfirst,
            part_url=public_url(part),
            image_url=absolute_url(image.get_rendition("width-1200").url) if image else "",
        )
        return "announcement", {**context, "subject": subject, "preheader": preheader}

    offer = campaign.offer
    ends = offer_end_phrase(ends_at=offer.ends_at, tz=reader_time_zone(campaign))
    if campaign.kind == CampaignKind.LAST_CHANCE:
        headline = f"Last chance: {offer.percent_off}% off with code {offer.code}"
        default_subject = f"Last chance: {offer.percent_off}% off ends {ends}"
        template = "last_chance"
    else:
        headline = f"{offer.percent_off}% off with code {offer.code}"
        default_subject = f"{offer.percent_off}% off with code {offer.code}, until {ends}"
        template = "discount"
    context.update(
        headline=headline,
        percent_off=offer.percent_off,
        code=offer.code,
        ends_phrase=ends,
        landing_url=absolute_url(offer.landing_url),
        terms=offer.terms,
    )
    return template, {
        **context,
        "subject": campaign.subject or default_subject,
        "preheader": campaign.preheader or f"The code {offer.code} works until {ends}.",
    }


def campaign_render(*, campaign: Campaign) -> RenderedEmail:
    """The email as it goes to the provider (merge tags still in)."""
    template, context = _context(campaign)
    mjml_source = render_to_string(f"email/campaign/{template}.mjml", context)
    output = mrml.to_html(mjml_source)
    html_part = css_inline.CSSInliner(keep_style_tags=True).inline(output.content)
    text_part = render_to_string(f"email/campaign/{template}.txt", context).strip() + "\n"
    return RenderedEmail(
        subject=context["subject"], preheader=context["preheader"], html=html_part,
        text=text_part,
    )


def personalize(rendered: RenderedEmail, *, unsubscribe_url: str) -> tuple[str, str]:
    """Fill the merge tags for one recipient of local delivery: (html, text)."""
    address = settings.POSTAL_ADDRESS

    def fill(markup: str, escape) -> str:
        markup = markup.replace(UNSUB_TAG, escape(unsubscribe_url))
        markup = markup.replace(ADDRESS_TAG, escape(address))
        return _MERGE_TAG.sub("", markup)  # tags only Mailchimp knows (e.g. *|FNAME|*)

    return fill(rendered.html, html.escape), fill(rendered.text, str)
