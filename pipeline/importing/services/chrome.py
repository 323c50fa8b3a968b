"""Site chrome: lines a scraper picks up from the shop or blog around the article. Each rule has
a reason that goes into the import report. Only short lines are tested (under 120 characters),
so a real paragraph that happens to mention a cart or cookies is never dropped."""

import re

CHROME_MAX_LENGTH = 120
BULLETS = "•·*–-▪►»"

_RULES: list[tuple[re.Pattern, str]] = [
    (re.compile(r"\bmy cart\b|\bcart\s*\(?\d+\)?$|^(view )?(cart|basket|checkout)$", re.I),
     "shop header (account / cart)"),
    (re.compile(r"this field is for validation purposes", re.I),
     "form anti-spam field text (Gravity Forms honeypot)"),
    (re.compile(r"^(my )?account$|^(log ?in|log ?out|sign ?in|sign ?up|register|menu|search|"
                r"home|close|skip to (main )?content|toggle navigation|main menu)$", re.I),
     "site navigation"),
    (re.compile(r"^(share|tweet|pin it|email|print|share on \w+|share this( post| article)?):?$",
                re.I), "share buttons"),
    (re.compile(r"^(leave a (reply|comment)|\d+ comments?|no comments|posted (in|on|by)\b|"
                r"filed under\b|tagged\b|related (posts|articles)$)", re.I), "post metadata"),
    (re.compile(r"^(©|\(c\)|copyright\b)|all rights reserved", re.I), "site footer"),
    (re.compile(r"^(previous|next) (post|article)\b|^read more$", re.I), "post navigation"),
    (re.compile(r"\bcookies?\b.*\b(accept|consent|agree|policy)\b", re.I), "cookie notice"),
    (re.compile(r"^(first name|last name|e-?mail( address)?|name|submit|subscribe)\*?$", re.I),
     "newsletter form"),
]


def strip_bullet(line: str) -> str:
    return line.lstrip(BULLETS + " \t").strip()


def chrome_reason(line: str) -> str | None:
    """Why this line is site chrome, or None when it is content."""
    text = strip_bullet(line)
    if not text or len(text) > CHROME_MAX_LENGTH:
        return None
    for pattern, reason in _RULES:
        if pattern.search(text):
            return reason
    return None
