"""Since when a reader has followed a series without a break, read from their consent trail.

Mailchimp keeps no per-reader record of who an announcement reached (it goes to the series'
interest at send time), so the catch-up asks this instead: a part announced at Mailchimp after
the reader began following counts as received, and is not sent again.

The trail: ``confirmed`` starts following the series it names (a confirmation's own list, or,
when it names none, the series the reader follows now: a re-subscription at Mailchimp keeps the
interests), never restarting one already followed; ``preferences`` holds the whole set followed
afterwards (new ones start, dropped ones end, kept ones go on); ``withdrawn`` ends all.
``given`` changes nothing: nothing is sent before the confirmation.
"""

from datetime import datetime

from pipeline.subscribers.models import ConsentKind, ConsentRecord, Subscriber


def following_since(subscriber: Subscriber, series_slug: str) -> datetime | None:
    """The start of the reader's current, unbroken following of the series; when the trail
    does not show it (a change made outside our forms), the reader's confirmation: the earliest
    the series can have reached them is the safe guess, since a later one would resend parts."""
    if not subscriber.series.filter(slug=series_slug).exists():
        return None
    since: datetime | None = None
    for kind, slugs, at in (ConsentRecord.objects.filter(subscriber=subscriber)
                            .order_by("recorded_at", "pk")
                            .values_list("kind", "requested_series", "recorded_at")):
        if kind == ConsentKind.WITHDRAWN:
            since = None
        elif kind == ConsentKind.PREFERENCES:
            since = (since or at) if series_slug in slugs else None
        elif kind == ConsentKind.CONFIRMED and (series_slug in slugs or not slugs):
            since = since or at
    return since or subscriber.confirmed_at
