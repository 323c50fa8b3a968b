"""The message type every channel takes: a rendered email with Mailchimp's merge tags still in.

``*|UNSUB|*`` and ``*|LIST:ADDRESS|*`` are made of characters rich text never escapes, so they
survive editors' rich text. Mailchimp fills them in itself; local delivery fills them per
recipient (``personalize``).
"""

import html
import re
from dataclasses import dataclass

from django.conf import settings

UNSUB_TAG = "*|UNSUB|*"
ADDRESS_TAG = "*|LIST:ADDRESS|*"
# A reader's token in tracked links (local delivery with click counting fills it per reader).
READER_TAG = "*|READER|*"
# The reader's own preference page: Mailchimp fills its own preference centre here; local delivery
# fills our signed preference link.
PREFERENCES_TAG = "*|UPDATE_PROFILE|*"
# "Stop emails about this series" (announcements): local delivery fills a signed link to a
# confirmation page; Mailchimp knows no such tag, so ``for_mailchimp`` turns it into its
# preference centre (where the series' group can be unticked).
STOP_SERIES_TAG = "*|STOP_SERIES|*"
_MERGE_TAG = re.compile(r"\*\|[A-Z0-9_:]+\|\*")


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    preheader: str
    html: str
    text: str


def personalize(rendered: RenderedEmail, *, unsubscribe_url: str, preferences_url: str = "",
                stop_series_url: str = "") -> tuple[str, str]:
    """Fill the merge tags for one recipient of local delivery: (html, text). A personal link
    not given falls back to the unsubscribe link's page (which always works)."""
    address = settings.POSTAL_ADDRESS
    preferences_url = preferences_url or unsubscribe_url
    stop_series_url = stop_series_url or preferences_url

    def fill(markup: str, escape) -> str:
        markup = markup.replace(UNSUB_TAG, escape(unsubscribe_url))
        markup = markup.replace(PREFERENCES_TAG, escape(preferences_url))
        markup = markup.replace(STOP_SERIES_TAG, escape(stop_series_url))
        markup = markup.replace(ADDRESS_TAG, escape(address))
        return _MERGE_TAG.sub("", markup)  # tags only Mailchimp knows (e.g. *|FNAME|*)

    return fill(rendered.html, html.escape), fill(rendered.text, str)



def mailchimp_markup(markup: str) -> str:
    """An email's markup as Mailchimp takes it: our own personal tags turned into Mailchimp's."""
    return markup.replace(STOP_SERIES_TAG, PREFERENCES_TAG)
