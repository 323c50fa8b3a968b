"""Models for what happens to what editors write: subscribers, campaigns, the delivery ledger."""

from pipeline.audience_sync_models import AudienceSyncRun, SyncRunState
from pipeline.publishing_models import Announcement, SweepHeartbeat
from pipeline.release_models import ReleaseCadence, ReleaseQueueEntry, SkippedReleaseDate
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

__all__ = [
    "AudienceSyncRun",
    "SyncRunState",
    "Announcement",
    "ReleaseCadence",
    "ReleaseQueueEntry",
    "SkippedReleaseDate",
    "SweepHeartbeat",
]
