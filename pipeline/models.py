"""Models for what happens to what editors write: subscribers, campaigns, the delivery ledger."""

from pipeline.publishing_models import Announcement, SweepHeartbeat
from pipeline.release_models import ReleaseCadence, ReleaseQueueEntry, SkippedReleaseDate

__all__ = [
    "Announcement",
    "ReleaseCadence",
    "ReleaseQueueEntry",
    "SkippedReleaseDate",
    "SweepHeartbeat",
]
