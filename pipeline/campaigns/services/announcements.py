"""A part's announcement campaign: made when the announcement is handed over from publishing,
sent at once when its series (or the part's override) announces automatically.

Only people with the send permission may change those settings (wagtail_hooks.py), so a setting
that exists is a sender's standing approval. A series nobody set announces automatically (the
default) only when whoever published the part may send to the list: the user of the published
revision (the editor who clicked Publish or scheduled it; for a release by the cadence, who queued
it), or none for a part published by code. Otherwise it waits as a draft for someone who may.
"""

import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from pipeline.campaigns.models import (
    SEND_PERMISSION,
    Campaign,
    CampaignAudience,
    CampaignKind,
    PartAnnouncementOverride,
    SeriesAnnouncementSetting,
)
from pipeline.campaigns.services.campaigns import campaign_schedule
from pipeline.campaigns.services.state import campaign_log
from pipeline.observability.context import bound
from pipeline.publishing.models import Announcement
from pipeline.publishing.services.announcements import announcement_mark_ready

logger = logging.getLogger(__name__)


def announcement_hand_over(*, announcement_id: int) -> Campaign | None:
    """Take the announcement from publishing (mark it ready) and make its campaign. Idempotent.
    None when the announcement is gone (its part was deleted before the hand-over ran)."""
    part_id = Announcement.objects.filter(pk=announcement_id).values_list("part_id", flat=True)
    with bound(part_id=part_id.first()):
        announcement_mark_ready(announcement_id=announcement_id)
        try:
            return announcement_campaign_create(announcement_id=announcement_id)
        except Announcement.DoesNotExist:
            logger.info("announcement %s is gone (its part was deleted): nothing to hand over",
                        announcement_id)
            return None


def announcements_without_campaign() -> None:
    """Ready announcements whose campaign was never made (a lost message): make them now."""
    orphans = Announcement.objects.filter(
        state=Announcement.State.READY, campaign__isnull=True
    ).values_list("pk", flat=True)[:200]
    for announcement_id in list(orphans):
        announcement_campaign_create(announcement_id=announcement_id)


def announce_automatically(announcement: Announcement) -> tuple[bool, str]:
    """Whether the part's announcement goes to the list at once, and if not, why (for the log)."""
    part = announcement.part
    override = PartAnnouncementOverride.objects.filter(part=part).first()
    if override:
        always = override.choice == PartAnnouncementOverride.Choice.ALWAYS
        return always, "The part is set to be announced by hand."
    setting = SeriesAnnouncementSetting.objects.filter(series_id=part.series_id).first()
    if setting:
        return setting.announce_automatically, "Its series is announced by hand."
    publisher = announcement.revision.user if announcement.revision else None
    if publisher is not None and not publisher.has_perm(SEND_PERMISSION):
        return False, (f"Published by {publisher.get_username()}, who may not send to the list, "
                       "in a series left to the default: waiting for someone who may.")
    return True, ""


def announcement_campaign_create(*, announcement_id: int) -> Campaign:
    """The campaign for an announcement (one per announcement; a second call returns it).

    Scheduled for now when the part's series (or the part's override) announces automatically;
    otherwise a draft the editor sends from the part.
    """
    announcement = Announcement.objects.select_related("part", "revision__user").get(
        pk=announcement_id)
    part = announcement.part
    try:
        with transaction.atomic():
            campaign, created = Campaign.objects.get_or_create(
                announcement=announcement,
                defaults={
                    "kind": CampaignKind.ANNOUNCEMENT,
                    "part": part,
                    "name": f"Announcement: {part.series.title}, part {part.part_number}",
                    "audience": CampaignAudience.SERIES,
                },
            )
            if created:
                campaign.audience_series.set([part.series_id])
                campaign_log(campaign=campaign, actor="publishing",
                             reason=f"Created for part {part.pk} going live.")
    except IntegrityError:  # a concurrent call created it first
        return Campaign.objects.get(announcement=announcement)
    if not created:
        return campaign
    automatic, why_not = announce_automatically(announcement)
    with bound(campaign_id=campaign.pk, part_id=part.pk):
        if automatic:
            answer = campaign_schedule(
                campaign=campaign, send_at=timezone.now(), actor="publishing",
                reason="The part went live and its series announces automatically.",
            )
            if not answer.ok:  # left as a draft, with the reason on its log for the editor
                campaign_log(campaign=campaign, actor="publishing", reason=answer.message)
        else:
            campaign_log(campaign=campaign, actor="publishing",
                         reason=f"Left as a draft: {why_not}")
    return campaign
