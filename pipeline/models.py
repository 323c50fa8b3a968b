"""Models for what happens to what editors write: subscribers, campaigns, the delivery ledger."""

from pipeline.campaign_models import (  # noqa: F401  (campaigns and the delivery ledger)
    Campaign,
    CampaignAudience,
    CampaignKind,
    CampaignStatus,
    CampaignTestAddress,
    CampaignTransition,
    Delivery,
    DeliveryState,
    PartAnnouncementOverride,
    SeriesAnnouncementSetting,
)
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
    "Announcement",
    "ReleaseCadence",
    "ReleaseQueueEntry",
    "SkippedReleaseDate",
    "SweepHeartbeat",
]
