"""Discount lines ("35% off this week with code “corrective”") and the draft Offer they suggest.
The offer is saved as a draft (live=False) for the editor to confirm: an imported line is a
hint about a past campaign, never a promise to send one."""

import re
from datetime import timedelta

from django.utils import timezone

from cms.models import Offer
from pipeline.importing.services.drafts import OfferSuggestion

_DISCOUNT = re.compile(
    r"(?P<percent>\d{1,3})\s?%\s*off\b(?P<between>.{0,60}?)\b(?:with|using|use)\s+(?:the\s+)?"
    r"(?:promo\s+|coupon\s+|discount\s+)?code\s*:?\s*[“\"'‘«]?(?P<code>[A-Za-z0-9-]{2,40})",
    re.I | re.S,
)
_WINDOWS = [
    (re.compile(r"\btoday\b|\b24 hours\b", re.I), 1, "today"),
    (re.compile(r"\bthis weekend\b", re.I), 3, "this weekend"),
    (re.compile(r"\bthis week\b|\bseven days\b|\b7 days\b", re.I), 7, "this week"),
    (re.compile(r"\bthis month\b|\b30 days\b", re.I), 30, "this month"),
]
DEFAULT_WINDOW_DAYS = 7


def offer_suggestion_from_text(text: str) -> OfferSuggestion | None:
    match = _DISCOUNT.search(text)
    if not match:
        return None
    percent = int(match.group("percent"))
    if not 1 <= percent <= 100:
        return None
    days, phrase = DEFAULT_WINDOW_DAYS, ""
    for pattern, window_days, window_phrase in _WINDOWS:
        if pattern.search(text):
            days, phrase = window_days, window_phrase
            break
    return OfferSuggestion(
        code=match.group("code"), percent_off=percent, window_days=days, window_phrase=phrase,
        source_line=text,
    )


def offer_save_draft(
    *, suggestion: OfferSuggestion, name: str, existing: Offer | None,
) -> tuple[Offer, bool, str]:
    """Create the draft offer, or refresh the one a previous import made while it is still a
    draft. Returns (offer, made_by_the_importer, note).

    An offer the editor has since made live is left alone. When another offer already uses the
    code in that window (codes must not overlap), the block points at that offer instead of
    creating a clashing draft."""
    if existing is not None and existing.live:
        return existing, True, "the suggested offer is live now; left as the editor set it"
    starts_at = existing.starts_at if existing else timezone.now()
    ends_at = starts_at + timedelta(days=suggestion.window_days)
    clash = Offer.objects.filter(
        code__iexact=suggestion.code, starts_at__lt=ends_at, ends_at__gt=starts_at
    )
    if existing is not None:
        clash = clash.exclude(pk=existing.pk)
    clash = clash.first()
    if clash is not None:
        return clash, False, (
            f"offer code {suggestion.code!r} is already used by “{clash.name}” in that window: "
            "the offer block points at it; no new draft offer"
        )
    offer = existing or Offer(live=False)
    offer.name = name[:200]
    offer.code = suggestion.code
    offer.percent_off = suggestion.percent_off
    offer.starts_at = starts_at
    offer.ends_at = ends_at
    offer.terms = (
        f"Suggested by the importer from: “{suggestion.source_line}”. "
        f"Window: {suggestion.window_phrase or 'not stated, 7 days assumed'} from import time. "
        "Check the dates, then publish the offer."
    )
    offer.save()
    offer.save_revision()
    return offer, True, ""
