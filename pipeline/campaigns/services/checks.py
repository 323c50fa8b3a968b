"""Pre-send checks: each names what is wrong in words an editor can act on.

They run when an editor schedules (so mistakes show at once) and again when the worker sends
(so nothing that changed in between slips through). Any problem blocks the send.
"""

import re
from datetime import datetime

from django.conf import settings

from cms.models import Offer, PartPage
from pipeline.campaigns.models import Campaign
from pipeline.campaigns.services.timing import offer_window_problem
from pipeline.providers.message import ADDRESS_TAG, UNSUB_TAG, RenderedEmail

SUBJECT_MAX = 150  # Mailchimp refuses longer subject lines; mail clients show ~60
_LINK = re.compile(r'\s(?:href|src)="([^"]*)"', re.I)
_ALLOWED_SCHEMES = ("https://", "http://", "mailto:", "tel:", "*|", "#")


def relative_links(markup: str) -> list[str]:
    return [url for url in _LINK.findall(markup) if not url.startswith(_ALLOWED_SCHEMES)]


def campaign_check(
    *, campaign: Campaign, rendered: RenderedEmail, send_time: datetime, audience_size: int | None
) -> list[str]:
    """Problems that block sending ``rendered`` at ``send_time``; an empty list means go.

    ``audience_size`` None means the provider counts the audience itself (Mailchimp checks it in
    its own send checklist).
    """
    problems = []
    if UNSUB_TAG not in rendered.html or UNSUB_TAG not in rendered.text:
        problems.append("The unsubscribe link (*|UNSUB|*) is missing from the HTML or text part.")
    if ADDRESS_TAG not in rendered.html and settings.POSTAL_ADDRESS not in rendered.html:
        problems.append("The postal address is missing from the HTML part.")
    if ADDRESS_TAG not in rendered.text and settings.POSTAL_ADDRESS not in rendered.text:
        problems.append("The postal address is missing from the text part.")
    if not settings.POSTAL_ADDRESS.strip():
        problems.append("No postal address is configured (POSTAL_ADDRESS).")
    if not rendered.text.strip():
        problems.append("The plain-text part is empty.")
    bad_links = relative_links(rendered.html)
    if bad_links:
        problems.append(
            "These links are relative and would not work in an inbox: " + ", ".join(bad_links[:5])
        )
    if not rendered.subject.strip():
        problems.append("The subject is empty.")
    elif len(rendered.subject) > SUBJECT_MAX:
        problems.append(
            f"The subject has {len(rendered.subject)} characters; at most {SUBJECT_MAX}."
        )
    if campaign.part_id and not PartPage.objects.filter(pk=campaign.part_id).public().exists():
        problems.append(
            "The part is not public: it (or its series) has a view restriction (password, login "
            "or groups), so it is not announced to the list. Remove the restriction to send it."
        )
    if campaign.is_discount:
        offer = Offer.objects.get(pk=campaign.offer_id)  # fresh: its window may have moved
        problem = offer_window_problem(offer=offer, at=send_time)
        if problem:
            problems.append(problem)
    if audience_size == 0:
        problems.append("The audience is empty: nobody subscribed would receive it.")
    return problems
