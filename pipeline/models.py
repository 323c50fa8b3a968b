"""Models for what happens to what editors write: subscribers, campaigns, the delivery ledger.

Each area keeps its models in its own module; this module imports them so Django finds them.
"""

from pipeline.importing_models import ImportedArticle
from pipeline.publishing_models import Announcement, SweepHeartbeat
from pipeline.release_models import ReleaseCadence, ReleaseQueueEntry, SkippedReleaseDate
from pipeline.subscriber_models import (
    ConsentKind,
    ConsentRecord,
    ConsentSource,
    MailchimpSeriesInterest,
    MailchimpWebhookEvent,
    Subscriber,
    SubscriberStatus,
    WebhookOutcome,
)

__all__ = [
    "Announcement",
    "ConsentKind",
    "ConsentRecord",
    "ConsentSource",
    "ImportedArticle",
    "MailchimpSeriesInterest",
    "MailchimpWebhookEvent",
    "ReleaseCadence",
    "ReleaseQueueEntry",
    "SkippedReleaseDate",
    "Subscriber",
    "SubscriberStatus",
    "SweepHeartbeat",
    "WebhookOutcome",
]
