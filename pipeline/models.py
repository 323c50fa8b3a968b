"""Models for what happens to what editors write: subscribers, campaigns, the delivery ledger.

Each area keeps its models in its own module; this module imports them so Django finds them.
"""

from pipeline.audience_sync_models import AudienceSyncRun, SyncRunState
from pipeline.campaign_models import (
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
    "AudienceSyncRun",
    "Campaign",
    "CampaignAudience",
    "CampaignKind",
    "CampaignStatus",
    "CampaignTestAddress",
    "CampaignTransition",
    "ConsentKind",
    "ConsentRecord",
    "ConsentSource",
    "Delivery",
    "DeliveryState",
    "ImportedArticle",
    "MailchimpSeriesInterest",
    "MailchimpWebhookEvent",
    "PartAnnouncementOverride",
    "ReleaseCadence",
    "ReleaseQueueEntry",
    "SeriesAnnouncementSetting",
    "SkippedReleaseDate",
    "Subscriber",
    "SubscriberStatus",
    "SweepHeartbeat",
    "SyncRunState",
    "WebhookOutcome",
]
