"""Models for what happens to what editors write: subscribers, campaigns, the delivery ledger."""

from pipeline.subscriber_models import (  # noqa: E402, F401  (the mailing list)
    ConsentKind,
    ConsentRecord,
    ConsentSource,
    MailchimpSeriesInterest,
    MailchimpWebhookEvent,
    Subscriber,
    SubscriberStatus,
    WebhookOutcome,
)
