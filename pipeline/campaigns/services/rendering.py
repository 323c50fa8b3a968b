"""Render a campaign: MJML templates (templates/email/campaign/) through mrml, CSS inlined with
css_inline, and a plain-text part from a sibling template. Links and images are absolute.

The rendered email (pipeline.providers.message.RenderedEmail) keeps Mailchimp's merge tags.
"""

import css_inline
import mrml
from django.conf import settings
from django.template.loader import render_to_string
from wagtail.rich_text import expand_db_html

from cms.links import public_url
from pipeline.campaigns.models import Campaign, CampaignKind
from pipeline.campaigns.services.email_markup import absolute_url, absolutize, rich_text_to_plain
from pipeline.campaigns.services.part_body import part_body_email
from pipeline.campaigns.services.timing import offer_end_phrase, reader_time_zone
from pipeline.campaigns.services.web_version import web_version_url
from pipeline.providers.message import RenderedEmail


def _context(campaign: Campaign, web_link: bool) -> tuple[str, dict]:
    message_html = absolutize(expand_db_html(campaign.message)) if campaign.message else ""
    context = {
        "site_name": settings.WAGTAIL_SITE_NAME,
        "masthead": settings.WAGTAIL_SITE_NAME,
        "message_html": message_html,
        "message_text": rich_text_to_plain(message_html),
        "web_version_url": web_version_url(campaign) if web_link else "",
    }
    if campaign.kind == CampaignKind.ANNOUNCEMENT:
        part = campaign.part
        series = part.series
        subject = campaign.subject or f"{series.title}, part {part.part_number}: {part.title}"
        preheader = campaign.preheader or (part.standfirst or "")[:150]
        image = series.hero_image
        body_html, body_text = part_body_email(part=part)
        context.update(
            body_html=body_html,
            body_text=body_text,
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


def campaign_render(*, campaign: Campaign, web_link: bool = True) -> RenderedEmail:
    """The email as it goes to the provider (merge tags still in), with its "view in browser"
    link unless ``web_link`` is false (to compare with a copy approved before web versions)."""
    template, context = _context(campaign, web_link)
    mjml_source = render_to_string(f"email/campaign/{template}.mjml", context)
    output = mrml.to_html(mjml_source)
    html_part = css_inline.CSSInliner(keep_style_tags=True).inline(output.content)
    text_part = render_to_string(f"email/campaign/{template}.txt", context).strip() + "\n"
    return RenderedEmail(
        subject=context["subject"], preheader=context["preheader"], html=html_part,
        text=text_part,
    )
