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
_MERGE_TAG = re.compile(r"\*\|[A-Z0-9_:]+\|\*")


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    preheader: str
    html: str
    text: str


def personalize(rendered: RenderedEmail, *, unsubscribe_url: str) -> tuple[str, str]:
    """Fill the merge tags for one recipient of local delivery: (html, text)."""
    address = settings.POSTAL_ADDRESS

    def fill(markup: str, escape) -> str:
        markup = markup.replace(UNSUB_TAG, escape(unsubscribe_url))
        markup = markup.replace(ADDRESS_TAG, escape(address))
        return _MERGE_TAG.sub("", markup)  # tags only Mailchimp knows (e.g. *|FNAME|*)

    return fill(rendered.html, html.escape), fill(rendered.text, str)
