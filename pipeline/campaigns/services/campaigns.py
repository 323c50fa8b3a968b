"""What editors do with a campaign: create, schedule, cancel, re-plan, preview, test, report.

The send path is services/sending.py; announcements are services/announcements.py. No Celery.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from cms.models import Offer
from pipeline.campaigns.models import (
    Campaign,
    CampaignAudience,
    CampaignKind,
    CampaignStatus,
    CampaignTestAddress,
)
from pipeline.campaigns.services.approval import (
    campaign_copy,
    campaign_withdraw_if_changed,
    copy_fields,
)
from pipeline.campaigns.services.checks import campaign_check
from pipeline.campaigns.services.deliveries import delivery_for, delivery_name
from pipeline.campaigns.services.rendering import campaign_render
from pipeline.campaigns.services.state import campaign_log, campaign_transition
from pipeline.campaigns.services.timing import offer_send_deadline, reminder_time
from pipeline.campaigns.signals import campaign_due, campaign_report_requested
from pipeline.observability.context import binds, bound
from pipeline.providers.base import ProviderError
from pipeline.providers.message import RenderedEmail, personalize

logger = logging.getLogger(__name__)
S = CampaignStatus
# A test goes to at most this many of the saved test addresses at once.
TEST_RECIPIENTS_MAX = 5

# Log lines of an editor's action carry the campaign's id (and its part's, for announcements).
on_campaign = binds("campaign", campaign_id="pk", part_id="part_id")


@dataclass(frozen=True)
class Answer:
    """What an editor's action did, in words for the admin message."""

    ok: bool
    message: str


# -- discount campaigns ------------------------------------------------------------------------
def campaign_create_discount(
    *,
    offer: Offer,
    name: str,
    send_at: datetime | None,
    audience: str = CampaignAudience.ALL,
    series_ids: list[int] | None = None,
    reminder_before: timedelta | None = None,
    subject: str = "",
    preheader: str = "",
    message: str = "",
    created_by=None,
) -> Campaign:
    with transaction.atomic():
        campaign = Campaign.objects.create(
            kind=CampaignKind.DISCOUNT, name=name, offer=offer, send_at=send_at,
            audience=audience, reminder_before=reminder_before, subject=subject,
            preheader=preheader, message=message, created_by=created_by,
        )
        if audience == CampaignAudience.SERIES:
            campaign.audience_series.set(series_ids or [])
        campaign_log(campaign=campaign, actor=getattr(created_by, "username", "system"),
                     reason="Created as a draft.")
    return campaign


def _plan_reminder(parent: Campaign, actor: str) -> Answer:
    """Create or re-time the last-chance child of a scheduled discount campaign."""
    offer = Offer.objects.get(pk=parent.offer_id)
    timing = reminder_time(parent=parent, offer=offer, now=timezone.now())
    if timing.at is None:
        return Answer(True, "")
    if timing.problem:
        return Answer(False, f"The last-chance reminder cannot be planned: {timing.problem}.")
    when = timing.at
    reminder = parent.reminders.filter(kind=CampaignKind.LAST_CHANCE).first()
    if reminder is None:
        reminder = Campaign.objects.create(
            kind=CampaignKind.LAST_CHANCE, parent=parent, offer_id=parent.offer_id,
            name=f"Last chance: {parent.name}", send_at=when, audience=parent.audience,
            subject="", preheader="", message="", created_by=parent.created_by,
        )
        reminder.audience_series.set(parent.audience_series.all())
        campaign_log(campaign=reminder, actor=actor, reason="Created with its discount campaign.")
    elif reminder.status in (S.DRAFT, S.SCHEDULED) and reminder.send_at != when:
        Campaign.objects.filter(pk=reminder.pk).update(send_at=when)
        campaign_log(campaign=reminder, actor=actor, reason=f"Re-planned for {when:%Y-%m-%d %H:%M}"
                     " UTC.")
        reminder.refresh_from_db()
    if reminder.status == S.DRAFT:
        campaign_transition(
            campaign=reminder, to_status=S.SCHEDULED, actor=actor,
            reason=f"Scheduled with its discount campaign, {parent.reminder_before} before the "
            "offer ends.",
            fields=copy_fields(campaign_render(campaign=reminder)),
        )
    return Answer(True, f" The last-chance reminder goes at {when:%Y-%m-%d %H:%M} UTC.")


# -- editor actions ----------------------------------------------------------------------------
def campaign_preflight(
    *, campaign: Campaign, send_at: datetime, rendered: RenderedEmail | None = None
) -> list[str]:
    """The pre-send checks as they stand now, for a send at ``send_at``."""
    rendered = rendered or campaign_render(campaign=campaign)
    size = delivery_for(campaign).audience_size(campaign)
    return campaign_check(campaign=campaign, rendered=rendered, send_time=send_at,
                          audience_size=size)


@on_campaign
def campaign_schedule(
    *, campaign: Campaign, send_at: datetime, actor: str, reason: str = ""
) -> Answer:
    """Schedule a draft (send_at now means "send now"). Checks first; one wins of two clicks.

    Scheduling approves the copy as it renders now: it is stored and is what goes out
    (services/approval.py)."""
    send_at = max(send_at, timezone.now())
    campaign.refresh_from_db()
    if campaign.status != S.DRAFT:
        return Answer(False, f"“{campaign.name}” is already "
                      f"{campaign.get_status_display().lower()}; nothing was changed.")
    rendered = campaign_render(campaign=campaign)
    problems = campaign_preflight(campaign=campaign, send_at=send_at, rendered=rendered)
    if problems:
        return Answer(False, "Not scheduled: " + " ".join(problems))
    with transaction.atomic():
        moved = campaign_transition(
            campaign=campaign, to_status=S.SCHEDULED, actor=actor,
            reason=reason or f"Scheduled for {send_at:%Y-%m-%d %H:%M} UTC.",
            from_statuses=(S.DRAFT,),
            fields={"send_at": send_at, "provider": delivery_name(campaign),
                    **copy_fields(rendered)},
        )
        if not moved:
            return Answer(False, f"“{campaign.name}” was just "
                          f"{campaign.get_status_display().lower()} by someone else; nothing "
                          "was changed.")
        planned = Answer(True, "")
        if campaign.kind == CampaignKind.DISCOUNT:
            planned = _plan_reminder(campaign, actor)
        if planned.ok:
            campaign_due.send(sender=Campaign, campaign_id=campaign.pk, send_at=send_at)
        else:
            transaction.set_rollback(True)  # the reminder cannot be planned: schedule nothing
    campaign.refresh_from_db()
    if not planned.ok:
        return Answer(False, "Not scheduled: " + planned.message)
    extra = planned.message
    return Answer(True, f"“{campaign.name}” is scheduled for {send_at:%Y-%m-%d %H:%M} UTC."
                  + extra)


@on_campaign
def campaign_cancel(*, campaign: Campaign, actor: str, reason: str = "") -> Answer:
    campaign.refresh_from_db()
    if campaign.status not in (S.DRAFT, S.SCHEDULED):
        return Answer(False, f"“{campaign.name}” is {campaign.get_status_display().lower()}; "
                      "it can no longer be cancelled.")
    moved = campaign_transition(
        campaign=campaign, to_status=S.CANCELLED, actor=actor,
        reason=reason or "Cancelled by an editor.", from_statuses=(S.DRAFT, S.SCHEDULED),
    )
    if not moved:
        return Answer(False, f"“{campaign.name}” was just "
                      f"{campaign.get_status_display().lower()}; it can no longer be cancelled.")
    return Answer(True, f"“{campaign.name}” is cancelled.")


def campaigns_replan_for_offer(*, offer_id: int, actor: str = "offer change") -> list[str]:
    """The offer changed: re-time or cancel the campaigns that depend on it, and send back to
    draft the scheduled ones that no longer read as approved (a new code, terms, end...).

    In-flight campaigns need nothing here: the guard before the provider call reads the offer
    afresh, and they go out with their approved copy. Returns one line per campaign touched.
    """
    offer = Offer.objects.get(pk=offer_id)
    deadline = offer_send_deadline(offer)
    touched = []
    waiting = Campaign.objects.filter(offer_id=offer_id, status__in=(S.DRAFT, S.SCHEDULED))
    for campaign in waiting.order_by("kind", "pk"):
        with bound(campaign_id=campaign.pk):  # its log lines carry its id
            reason = None
            if not offer.live:
                reason = "Cancelled: the offer was unpublished."
            elif campaign.kind == CampaignKind.LAST_CHANCE:
                timing = reminder_time(parent=campaign.parent, offer=offer, now=timezone.now())
                when = timing.at
                if when is None or timing.problem:
                    reason = ("Cancelled: with the offer's new end "
                              f"({offer.ends_at:%Y-%m-%d %H:%M} UTC) the reminder has no valid "
                              "time.")
                elif when != campaign.send_at:
                    Campaign.objects.filter(pk=campaign.pk).update(send_at=when)
                    campaign_log(campaign=campaign, actor=actor,
                                 reason=f"Re-planned for {when:%Y-%m-%d %H:%M} UTC: the offer now "
                                 f"ends at {offer.ends_at:%Y-%m-%d %H:%M} UTC.")
                    touched.append(f"{campaign.name}: re-planned")
            elif campaign.send_at and campaign.send_at >= deadline:
                reason = (f"Cancelled: the offer now ends at {offer.ends_at:%Y-%m-%d %H:%M} UTC, "
                          "before this campaign's send time (less the safety margin).")
            if reason:
                campaign_transition(campaign=campaign, to_status=S.CANCELLED, actor=actor,
                                    reason=reason, from_statuses=(S.DRAFT, S.SCHEDULED))
                touched.append(f"{campaign.name}: cancelled")
            elif campaign_withdraw_if_changed(campaign=campaign, actor=actor,
                                              why=f"the offer “{offer.name}” was changed"):
                touched.append(f"{campaign.name}: back to draft")
    return touched


def campaign_preview(*, campaign: Campaign) -> RenderedEmail:
    """What a reader sees (merge tags filled with a sample link): the approved copy once
    scheduled (exactly what goes out), the draft's rendering before."""
    rendered = campaign_copy(campaign)
    html_part, text_part = personalize(
        rendered, unsubscribe_url=f"{settings.BASE_URL}/api/subscribers/unsubscribe/PREVIEW"
    )
    return RenderedEmail(rendered.subject, rendered.preheader, html_part, text_part)


@on_campaign
def campaign_send_test(*, campaign: Campaign, emails: list[str], actor: str) -> Answer:
    """Send the email, marked as a test, to some of the saved test addresses (at most
    TEST_RECIPIENTS_MAX); any other address refuses the whole test. Never touches the status.

    The saved list (Campaigns → Test addresses) is kept by people with the send permission: a
    test shows unreleased content (an offer's code), so it goes only where they said it may.
    """
    saved = {email.lower(): email for email in
             CampaignTestAddress.objects.values_list("email", flat=True)}
    wanted = list(dict.fromkeys(email.strip().lower() for email in emails if email.strip()))
    if not wanted:
        return Answer(False, "Add at least one test address first (Campaigns → Test addresses).")
    if len(wanted) > TEST_RECIPIENTS_MAX:
        return Answer(False, f"Not sent: a test goes to at most {TEST_RECIPIENTS_MAX} "
                      "addresses at once.")
    if any(email not in saved for email in wanted):
        return Answer(False, "Not sent: tests go only to the saved test addresses "
                      "(Campaigns → Test addresses).")
    emails = [saved[email] for email in wanted]
    rendered = campaign_copy(campaign)
    try:
        delivery_for(campaign).send_test(campaign=campaign, rendered=rendered, emails=emails)
    except (ProviderError, OSError) as error:
        return Answer(False, f"The test was not sent: {error}")
    campaign_log(campaign=campaign, actor=actor, reason=f"Test sent to {', '.join(emails)}.")
    return Answer(True, f"Test sent to {', '.join(emails)}.")


@on_campaign
def campaign_report(*, campaign: Campaign) -> dict:
    """Sends, opens and clicks (Mailchimp's report) or the local ledger's counts, and the
    sections upper apps add (``campaign_report_requested``: bounces and complaints)."""
    report = dict(delivery_for(campaign).report(campaign))
    report["sections"] = [
        section for _, section in campaign_report_requested.send(
            sender=Campaign, campaign_id=campaign.pk, provider=campaign.provider) if section
    ]
    return report
