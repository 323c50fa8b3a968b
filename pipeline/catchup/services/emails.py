"""The catch-up email of one part (the announcement's template, a catch-up subject) and the
welcome email of one series, rendered once and personalised per reader."""

from django.conf import settings
from django.template.loader import render_to_string
from wagtail.rich_text import expand_db_html

from cms.models import PartPage, SeriesPage
from cms.selectors import public_url
from pipeline.campaigns.models import Campaign, CampaignKind
from pipeline.campaigns.services.email_markup import absolutize
from pipeline.campaigns.services.rendering import campaign_render
from pipeline.catchup.models import WelcomeEmail
from pipeline.catchup.services.progress import Offer
from pipeline.providers.base import TransactionalEmail
from pipeline.providers.message import RenderedEmail
from pipeline.subscribers.models import Subscriber
from pipeline.subscribers.tokens import (
    PREFERENCES,
    list_unsubscribe_headers,
    make_token,
    reader_page_url,
    unsubscribe_url,
)


def catchup_subject(part: PartPage) -> str:
    return f"Catching up: {part.series.title}, part {part.part_number}: {part.title}"


def catchup_render(part: PartPage) -> RenderedEmail:
    """The part as its announcement shows it, under a subject that says it is an earlier part."""
    return campaign_render(campaign=Campaign(
        kind=CampaignKind.ANNOUNCEMENT, part=part, subject=catchup_subject(part)))


def welcome_email(*, subscriber: Subscriber, series: SeriesPage, latest: PartPage | None,
                  offer: Offer | None) -> TransactionalEmail:
    """The welcome email to one reader: the editor's subject and intro, the latest part, and the
    catch-up offer below it; the personal links in the footer and the List-Unsubscribe headers."""
    setting = WelcomeEmail.objects.filter(series=series).first()
    token = make_token(PREFERENCES, subscriber_id=subscriber.pk, email=subscriber.email)
    intro_html = absolutize(expand_db_html(setting.intro)) if setting and setting.intro else ""
    context = {
        "site_name": settings.WAGTAIL_SITE_NAME,
        "series": series,
        "intro_html": intro_html,
        "latest": latest,
        "latest_url": public_url(latest) if latest else "",
        "offer": offer,
        "catchup_url": reader_page_url("catchup", token=token, slug=series.slug),
        "preferences_url": reader_page_url("preferences", token=token),
        "stop_series_url": reader_page_url("stop_series", token=token, slug=series.slug),
        "unsubscribe_url": unsubscribe_url(subscriber_id=subscriber.pk, email=subscriber.email),
        "postal_address": settings.POSTAL_ADDRESS,
    }
    subject = (setting.subject if setting and setting.subject
               else f"Welcome to {series.title}")
    return TransactionalEmail(
        to=subscriber.email, subject=subject,
        text=render_to_string("email/welcome.txt", context),
        html=render_to_string("email/welcome.html", context),
        headers=list_unsubscribe_headers(subscriber_id=subscriber.pk, email=subscriber.email),
        category="welcome",
    )
