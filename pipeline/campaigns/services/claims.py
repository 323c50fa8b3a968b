"""Claiming a campaign for sending: a row lock, a lease, and the expiry guard at claim time.

A worker holds a campaign while ``claimed_until`` is in the future. A crashed worker's lease
runs out and the sweep hands the campaign to another worker, which resumes from the recorded
status (never from the start). ``select_for_update(skip_locked=True)`` keeps two workers from
even waiting on each other; on SQLite (no row locks) the IMMEDIATE transaction's write lock
serializes them instead.
"""

import os
import random
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from pipeline.campaigns.models import (
    IN_FLIGHT_STATUSES,
    TERMINAL_STATUSES,
    Campaign,
    CampaignKind,
    CampaignStatus,
)
from pipeline.campaigns.services.approval import (
    approved_copy,
    campaign_withdraw_if_changed,
    copy_fields,
)
from pipeline.campaigns.services.rendering import campaign_render
from pipeline.campaigns.services.state import campaign_log, campaign_transition
from pipeline.campaigns.services.timing import campaign_expiry

S = CampaignStatus


def worker_name() -> str:
    return f"worker@{socket.gethostname()}:{os.getpid()}"


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff with full jitter, capped (Mailchimp's 429s come in bursts)."""
    base = settings.CAMPAIGN_RETRY_BACKOFF_SECONDS
    cap = min(base * 2 ** max(attempts - 1, 0), 300.0)
    return timedelta(seconds=random.uniform(cap / 2, cap) if cap else 0)


@dataclass(frozen=True)
class Skipped:
    """Why this call did not work on the campaign (nothing to do, or someone else is on it)."""

    status: str
    detail: str


def campaigns_due(*, now: datetime, limit: int = 500) -> list[int]:
    """Campaigns the sweep should (re)queue: due scheduled ones and in-flight ones whose lease
    ran out (a crashed or lost worker). A lost broker message therefore only delays a send."""
    ready = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    due = Q(status=S.SCHEDULED, send_at__lte=now) & ready
    stuck = (
        Q(status__in=IN_FLIGHT_STATUSES)
        & (Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
        & ready
    )
    return list(
        Campaign.objects.filter(due | stuck).order_by("send_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


def campaign_claim(*, campaign_id: int, worker: str, now: datetime) -> Campaign | Skipped:
    """Take the campaign for this worker, or say why not. Expires it if it is too late."""
    with transaction.atomic():
        campaign = (
            Campaign.objects.select_for_update(skip_locked=True).filter(pk=campaign_id).first()
        )
        if campaign is None:
            exists = Campaign.objects.filter(pk=campaign_id).exists()
            return Skipped("busy" if exists else "missing", "Another worker holds it."
                           if exists else "No such campaign.")
        if campaign.status in TERMINAL_STATUSES:
            return Skipped(campaign.status, f"Already {campaign.get_status_display().lower()}.")
        if campaign.status == S.DRAFT:
            return Skipped(campaign.status, "A draft is not sent until it is scheduled.")
        if campaign.next_attempt_at and campaign.next_attempt_at > now:
            return Skipped("waiting", f"Next attempt at {campaign.next_attempt_at:%H:%M:%S}.")
        if campaign.status == S.SCHEDULED and campaign.send_at and campaign.send_at > now:
            return Skipped("not_due", f"Due at {campaign.send_at:%Y-%m-%d %H:%M} UTC.")
        if (
            campaign.status in IN_FLIGHT_STATUSES
            and campaign.claimed_until
            and campaign.claimed_until > now
        ):
            return Skipped("in_progress", f"Being sent by {campaign.claimed_by}.")

        if campaign.status in (S.SCHEDULED, S.CLAIMED) and _part_gone(campaign):
            reason = "Its part was deleted before the announcement went out."
            campaign_transition(campaign=campaign, to_status=S.CANCELLED, reason=reason,
                                actor=worker, fields={"claimed_until": None, "claimed_by": ""})
            return Skipped(S.CANCELLED, reason)

        # After "send requested" only the provider's answer may end it (it may have gone out).
        if campaign.status != S.SEND_REQUESTED:
            expiry = campaign_expiry(campaign=campaign, at=now)
            if expiry:
                campaign_transition(
                    campaign=campaign, to_status=S.EXPIRED, reason=expiry.reason, actor=worker,
                    fields={"claimed_until": None, "claimed_by": ""},
                )
                return Skipped(S.EXPIRED, expiry.reason)
        if campaign.status == S.SCHEDULED:
            held_back = _held_back(campaign, worker)
            if held_back:
                return held_back

        hold = {
            "attempts": F("attempts") + 1,
            "claimed_by": worker,
            "claimed_until": now + settings.CAMPAIGN_LEASE,
            "next_attempt_at": None,
        }
        if campaign.status == S.SCHEDULED:
            campaign_transition(
                campaign=campaign, to_status=S.CLAIMED, reason="Due: claimed for sending.",
                actor=worker, fields=hold,
            )
        else:
            previous = campaign.claimed_by or "nobody"
            Campaign.objects.filter(pk=campaign.pk).update(**hold)
            campaign_log(
                campaign=campaign,
                reason=f"Resumed (held by {previous}, lease over): continuing from "
                f"{campaign.get_status_display().lower()}, never restarting.",
                actor=worker,
            )
            campaign.refresh_from_db()
        return campaign


def _held_back(campaign: Campaign, worker: str) -> Skipped | None:
    """Why a due campaign may not go yet: its reminder's discount was not sent, or its content
    no longer reads as approved when it was scheduled (services/approval.py)."""
    if campaign.kind == CampaignKind.LAST_CHANCE:
        parent = Campaign.objects.get(pk=campaign.parent_id)
        if parent.status in TERMINAL_STATUSES and parent.status != S.SENT:
            reason = (f"Not sent: its discount campaign “{parent.name}” ended "
                      f"{parent.get_status_display().lower()}, so nobody had the offer.")
            campaign_transition(campaign=campaign, to_status=S.CANCELLED, reason=reason,
                                actor=worker)
            return Skipped(S.CANCELLED, reason)
        if parent.status != S.SENT:
            return Skipped("waiting", f"Its discount campaign is {parent.status}, not yet sent.")
    if approved_copy(campaign) is None:
        # Scheduled before copies were frozen at scheduling: the copy is frozen now.
        Campaign.objects.filter(pk=campaign.pk).update(
            **copy_fields(campaign_render(campaign=campaign)))
        campaign_log(campaign=campaign, actor=worker,
                     reason="Copy frozen at its claim (it was scheduled before copies were "
                     "frozen at scheduling).")
    elif campaign_withdraw_if_changed(campaign=campaign, actor=worker,
                                      why="its content changed after it was scheduled"):
        return Skipped(S.DRAFT, "Its content changed after it was scheduled.")
    return None


def _part_gone(campaign: Campaign) -> bool:
    """An announcement whose part was deleted (nothing rendered yet, nothing left to render)."""
    return campaign.kind == CampaignKind.ANNOUNCEMENT and campaign.part_id is None


def campaign_renew_lease(*, campaign: Campaign, worker: str) -> bool:
    """Extend our lease; False means another worker took the campaign over (stop at once)."""
    until = timezone.now() + settings.CAMPAIGN_LEASE
    renewed = Campaign.objects.filter(
        pk=campaign.pk, claimed_by=worker, status__in=IN_FLIGHT_STATUSES
    ).update(claimed_until=until)
    return bool(renewed)


def campaign_hand_on(*, campaign: Campaign, worker: str, reason: str) -> None:
    """Give up our lease with the campaign due at once, for a new task to carry on (no
    backoff: nothing went wrong)."""
    Campaign.objects.filter(pk=campaign.pk, claimed_by=worker).update(
        claimed_until=None, claimed_by="", next_attempt_at=None
    )
    campaign_log(campaign=campaign, actor=worker, reason=reason)


def campaign_release(*, campaign: Campaign, worker: str, reason: str) -> None:
    """Give the campaign back for a later attempt (retryable trouble), with backoff."""
    campaign.refresh_from_db()
    delay = retry_delay(campaign.attempts)
    fields = {
        "claimed_until": None,
        "claimed_by": "",
        "next_attempt_at": timezone.now() + delay,
        "last_error": reason[:2000],
    }
    if campaign.status == S.CLAIMED:
        campaign_transition(
            campaign=campaign, to_status=S.SCHEDULED,
            reason=f"Will try again in {delay.total_seconds():.0f} s: {reason}",
            actor=worker, fields=fields,
        )
    else:
        Campaign.objects.filter(pk=campaign.pk, claimed_by=worker).update(**fields)
        campaign_log(
            campaign=campaign, actor=worker,
            reason=f"Will try again in {delay.total_seconds():.0f} s: {reason}",
        )


def campaign_pause(*, campaign: Campaign, worker: str, until: datetime, reason: str) -> None:
    """Give up our lease with the campaign due again at ``until`` (the relay's daily cap was
    reached): the sweep finds it then and a worker resumes from the ledger's pending rows."""
    Campaign.objects.filter(pk=campaign.pk, claimed_by=worker).update(
        claimed_until=None, claimed_by="", next_attempt_at=until
    )
    campaign_log(campaign=campaign, actor=worker, reason=reason)
