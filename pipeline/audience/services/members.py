"""One member's series interests pushed at once after a preference change (a targeted update,
not a sync run): the member's followed series as its interests, every other series' interest
off. A member Mailchimp does not know yet is left to the audience sync, which creates it."""

import logging

from pipeline.audience.services.account import mailchimp_configured
from pipeline.audience.services.interests import series_interests_ensure
from pipeline.providers.mailchimp_client import MailchimpClient
from pipeline.providers.mailchimp_errors import NotFound
from pipeline.subscribers.models import Subscriber

logger = logging.getLogger(__name__)


def audience_member_interests_push(*, subscriber_id: int,
                                   client: MailchimpClient | None = None) -> dict | None:
    """PATCH the member's interests; None when the audience is not at Mailchimp or the member is not
    there yet. Mailchimp errors propagate (the task retries the retryable ones)."""
    if client is None and not mailchimp_configured():
        return None
    subscriber = Subscriber.objects.filter(pk=subscriber_id).first()
    if subscriber is None:
        return None
    client = client or MailchimpClient.from_settings()
    interests = series_interests_ensure(client=client)  # series id -> interest id
    followed = set(subscriber.series.values_list("pk", flat=True))
    body = {"interests": {interest_id: series_id in followed
                          for series_id, interest_id in sorted(interests.items())}}
    try:
        return client.update_member(subscriber.email, body)
    except NotFound:
        logger.info("member %s not at Mailchimp yet: the audience sync will create it",
                    subscriber_id)
        return None
