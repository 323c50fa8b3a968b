"""Whether the audience lives at Mailchimp: one rule for the sync, erasures, targeted member
updates and the health check."""

from django.conf import settings


def mailchimp_configured() -> bool:
    """An API key and a list id are set: the list is kept in that Mailchimp audience."""
    return bool(settings.MAILCHIMP.get("API_KEY") and settings.MAILCHIMP.get("LIST_ID"))
