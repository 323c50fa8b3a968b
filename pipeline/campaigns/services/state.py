"""The campaign state machine: which moves are allowed, and the one function that makes them.

A move is a conditional UPDATE (``WHERE status = <expected>``) plus a CampaignTransition row in
the same transaction, so of two workers or two editors moving the same campaign, exactly one
wins and the other is told so (the function returns False).
"""

import logging

from django.db import transaction
from django.utils import timezone

from pipeline.campaigns.models import Campaign, CampaignKind, CampaignStatus, CampaignTransition

logger = logging.getLogger(__name__)
S = CampaignStatus

ALLOWED: dict[str, set[str]] = {
    S.DRAFT: {S.SCHEDULED, S.CANCELLED},
    S.SCHEDULED: {S.DRAFT, S.CLAIMED, S.CANCELLED, S.EXPIRED},
    # Local delivery goes claimed → send_requested (its ledger takes over); Mailchimp goes
    # claimed → created → send_requested. A retryable error hands the campaign back (scheduled).
    S.CLAIMED: {S.CREATED, S.SEND_REQUESTED, S.SCHEDULED, S.EXPIRED, S.FAILED, S.CANCELLED},
    S.CREATED: {S.SEND_REQUESTED, S.EXPIRED, S.FAILED, S.CANCELLED},
    # After "send requested" only the provider's own answer decides: sent, or (its status still
    # says not sent) back to created for another try, expired, or failed.
    S.SEND_REQUESTED: {S.SENT, S.CREATED, S.EXPIRED, S.FAILED},
    S.SENT: set(),
    S.EXPIRED: set(),
    S.CANCELLED: set(),
    S.FAILED: set(),
}


# A draft is not approved: back in draft, a campaign loses the copy frozen when it was scheduled.
UNAPPROVED = {"sent_subject": "", "sent_preheader": "", "sent_html": "", "sent_text": ""}
# What a discount campaign's waiting last-chance reminder does when the discount moves here: it
# was approved with its discount, and "last chance" about an email nobody received is not sent.
REMINDER_FOLLOWS = {  # the discount's new status: (the reminder's, from which, in words)
    S.DRAFT: (S.DRAFT, (S.SCHEDULED,), "went back to draft"),
    S.EXPIRED: (S.CANCELLED, (S.DRAFT, S.SCHEDULED), "expired without being sent"),
    S.FAILED: (S.CANCELLED, (S.DRAFT, S.SCHEDULED), "failed"),
    S.CANCELLED: (S.CANCELLED, (S.DRAFT, S.SCHEDULED), "was cancelled"),
}


class TransitionRefused(Exception):
    pass


def campaign_transition(
    *,
    campaign: Campaign,
    to_status: str,
    reason: str,
    actor: str,
    from_statuses: tuple[str, ...] | None = None,
    fields: dict | None = None,
) -> bool:
    """Move ``campaign`` to ``to_status`` if it is still in one of ``from_statuses``.

    ``from_statuses`` defaults to the campaign's status as loaded. Returns False (and changes
    nothing) when another process moved it first. ``fields`` are written in the same UPDATE.
    The in-memory object is refreshed either way. A discount campaign's waiting reminder follows
    it back to draft or to its end (REMINDER_FOLLOWS), in the same transaction.
    """
    expected = tuple(from_statuses or (campaign.status,))
    for status in expected:
        if to_status not in ALLOWED[status]:
            raise TransitionRefused(f"A campaign cannot go from {status} to {to_status}.")
    now = timezone.now()
    with transaction.atomic():
        current = (
            Campaign.objects.select_for_update().filter(pk=campaign.pk)
            .values_list("status", flat=True).first()
        )
        if current not in expected:
            campaign.refresh_from_db()
            return False
        updates = {"status": to_status, "updated_at": now, **(fields or {})}
        if to_status == S.DRAFT:
            updates.update(UNAPPROVED)
        Campaign.objects.filter(pk=campaign.pk, status=current).update(**updates)
        CampaignTransition.objects.create(
            campaign_id=campaign.pk,
            from_status=current,
            to_status=to_status,
            reason=reason[:2000],
            actor=actor[:200],
            at=now,
        )
        if campaign.kind == CampaignKind.DISCOUNT and to_status in REMINDER_FOLLOWS:
            _reminders_follow(campaign, to_status, actor)
    logger.info("campaign %s: %s → %s (%s): %s", campaign.pk, current, to_status, actor, reason)
    campaign.refresh_from_db()
    return True


def _reminders_follow(parent: Campaign, status: str, actor: str) -> None:
    to_status, waiting, what = REMINDER_FOLLOWS[status]
    for reminder in parent.reminders.filter(kind=CampaignKind.LAST_CHANCE, status__in=waiting):
        campaign_transition(
            campaign=reminder, to_status=to_status, actor=actor, from_statuses=waiting,
            reason=f"Its discount campaign “{parent.name}” {what}.",
        )


def campaign_log(*, campaign: Campaign, reason: str, actor: str) -> None:
    """Record an event that does not change the status (a reclaim, a retry, a reconcile)."""
    CampaignTransition.objects.create(
        campaign_id=campaign.pk,
        from_status=campaign.status,
        to_status=campaign.status,
        reason=reason[:2000],
        actor=actor[:200],
        at=timezone.now(),
    )
