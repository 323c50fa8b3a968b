"""The catch-up step's Mailchimp path: one campaign per (series, part, day) to a static segment.

The step (step.py) puts each due reader's delivery row into the day's ``CatchupCampaign`` of
their part, committing the row ``sending`` with the campaign, while the campaign is still
``open``. This module then takes each campaign through the campaigns' exactly-once order
(pipeline/campaigns/services/mailchimp.py; DESIGN.md), one worker at a time (a lease, as a
campaign's claim):

1. create an empty static segment and persist its id at once (a POST: never repeated blindly;
   a crash before the id is saved leaves an unused, empty segment);
2. add the readers in calls of 500 (``members_to_add``: adding a member twice changes nothing,
   so a retry after a doubt is safe); under the campaign's row lock, with no reader left to add,
   it is ``filled`` and takes no one else: readers due later that day wait for the next day's
   campaign. Addresses Mailchimp does not know yet (the audience sync has not pushed them)
   go back to the reader's queue for the next day;
3. create the campaign with ``segment_opts: {saved_segment_id}``, persist its id at once, put
   the content: ``created``;
4. right before the send, take out of the segment readers who stopped (unsubscribe, unfollow)
   and check the part is still live (if not, nothing is sent and the rows are skipped); commit
   ``send_requested``; only then ``actions/send``;
5. after any doubt (a timeout, a lost answer, a crash, a second step) read the campaign's
   status at Mailchimp and trust it: ``schedule``/``sending``/``sent`` mean sent (the rows
   become ``sent``), ``save``/``paused`` mean not sent (tried again at the next step).
"""

import logging
from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from cms.models import PartPage
from pipeline.catchup.models import (
    CampaignStage,
    CatchupCampaign,
    CatchupDelivery,
    CatchupProgress,
    DeliveryState,
    ProgressState,
)
from pipeline.catchup.services.emails import catchup_render
from pipeline.catchup.services.pace import series_pace
from pipeline.providers.base import ProviderError
from pipeline.providers.mailchimp import MailchimpProvider, MailchimpProviderError
from pipeline.providers.mailchimp_lists import SEGMENT_MEMBERS_LIMIT
from pipeline.subscribers.models import SubscriberStatus

logger = logging.getLogger(__name__)
C = CampaignStage
D = DeliveryState
UNFINISHED = (C.OPEN, C.FILLED, C.CREATED, C.SEND_REQUESTED)
DONE_AT_MAILCHIMP = {"schedule", "sending", "sent"}
NOT_SENT_AT_MAILCHIMP = {"save", "paused"}


@dataclass
class Outcome:
    sent: int = 0  # readers whose part went out
    trouble: str = ""  # the last retryable Mailchimp error (the campaign waits for a step)


def catchup_campaign_for(*, series_id: int, part_id: int, day: date,
                         at: datetime) -> CatchupCampaign:
    campaign, _created = CatchupCampaign.objects.get_or_create(
        series_id=series_id, part_id=part_id, day=day,
        defaults={"created_at": at, "updated_at": at})
    return campaign


def catchup_campaigns_advance(*, at: datetime, provider: MailchimpProvider | None = None
                              ) -> Outcome:
    """Take every unfinished catch-up campaign no other worker holds as far as it goes now."""
    provider = provider or MailchimpProvider()
    outcome = Outcome()
    ids = list(CatchupCampaign.objects.filter(stage__in=UNFINISHED)
               .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=timezone.now()))
               .order_by("pk").values_list("pk", flat=True))
    for campaign_id in ids:
        campaign = _claim(campaign_id)
        if campaign is None:
            continue
        try:
            outcome.sent += _advance(campaign, provider, at)
        except ProviderError as error:
            if not error.retryable:
                _fail(campaign, f"Mailchimp refused: {error}", at)
                continue
            _note(campaign, f"Will try again at the next step: {error}")
            outcome.trouble = str(error)
        finally:
            CatchupCampaign.objects.filter(pk=campaign.pk).update(claimed_until=None)
    return outcome


def _claim(campaign_id: int) -> CatchupCampaign | None:
    now = timezone.now()
    with transaction.atomic():
        campaign = (CatchupCampaign.objects.select_for_update(skip_locked=True)
                    .filter(pk=campaign_id, stage__in=UNFINISHED)
                    .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)).first())
        if campaign is not None:
            campaign.claimed_until = now + settings.CAMPAIGN_LEASE
            campaign.save(update_fields=["claimed_until"])
    return campaign


def _hold(campaign: CatchupCampaign) -> None:
    """Renew the lease before each Mailchimp call, so a long fill keeps the campaign ours."""
    CatchupCampaign.objects.filter(pk=campaign.pk).update(
        claimed_until=timezone.now() + settings.CAMPAIGN_LEASE)


def _advance(campaign: CatchupCampaign, provider: MailchimpProvider, at: datetime) -> int:
    """Returns the readers marked sent."""
    if campaign.stage == C.OPEN:
        _fill(campaign, provider, at)
    if campaign.stage == C.FILLED:
        _create(campaign, provider, at)
    if campaign.stage == C.CREATED:
        return _request_send(campaign, provider, at)
    if campaign.stage == C.SEND_REQUESTED:
        return _reconcile(campaign, provider, at)
    return 0


def _set(campaign: CatchupCampaign, **changes) -> None:
    changes["updated_at"] = timezone.now()
    CatchupCampaign.objects.filter(pk=campaign.pk).update(**changes)
    campaign.refresh_from_db()


def _note(campaign: CatchupCampaign, error: str) -> None:
    _set(campaign, error=error[:500])


def _in_flight(campaign: CatchupCampaign):
    return CatchupDelivery.objects.filter(campaign=campaign, state=D.SENDING)


def _chunks(rows: list, size: int = SEGMENT_MEMBERS_LIMIT):
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def _fill(campaign: CatchupCampaign, provider: MailchimpProvider, at: datetime) -> None:
    if campaign.segment_id is None and not _in_flight(campaign).exists():
        _cancel(campaign, "Nobody to send it to.", at)  # its readers stopped before joining
        return
    if campaign.segment_id is None:
        _hold(campaign)
        segment_id = provider.segment_create_static(
            name=f"partwork catch-up #{campaign.pk}: part {campaign.part_id}, {campaign.day}")
        # Persisted before anything else can fail; a second worker's segment would lose here.
        CatchupCampaign.objects.filter(pk=campaign.pk, segment_id__isnull=True).update(
            segment_id=segment_id, updated_at=timezone.now())
        campaign.refresh_from_db()
    added: set[int] = set()
    while True:
        rows = list(_in_flight(campaign).exclude(pk__in=added).order_by("pk")
                    .values_list("pk", "subscriber__email"))
        if not rows:
            with transaction.atomic():
                # Joining takes this lock too: once filled, nobody else joins this campaign.
                CatchupCampaign.objects.select_for_update().get(pk=campaign.pk)
                if not _in_flight(campaign).exclude(pk__in=added).exists():
                    _set(campaign, stage=C.FILLED, error="")
                    return
            continue
        for chunk in _chunks(rows):
            _hold(campaign)
            unknown = provider.segment_add(campaign.segment_id,
                                           emails=[email for _pk, email in chunk])
            later = [pk for pk, email in chunk if email.lower() in unknown]
            if later:
                _requeue(later, campaign, at,
                         "Not at Mailchimp yet (the audience sync has not pushed this reader): "
                         "waits for the next day's campaign.")
            added.update(pk for pk, _email in chunk)


def _requeue(pks: list[int], campaign: CatchupCampaign, at: datetime, reason: str) -> None:
    """Back to the reader's queue, due at the series' next release time."""
    with transaction.atomic():
        CatchupDelivery.objects.filter(pk__in=pks, state=D.SENDING).update(
            state=D.PENDING, campaign=None, updated_at=at, error=reason[:500])
        CatchupProgress.objects.filter(deliveries__pk__in=pks, state=ProgressState.ACTIVE
                                       ).update(next_due_at=series_pace(campaign.series_id)
                                                .first_due(at))


def _part_live(campaign: CatchupCampaign) -> bool:
    return PartPage.objects.live().public().filter(pk=campaign.part_id).exists()


def _drop_stopped(campaign: CatchupCampaign, provider: MailchimpProvider, at: datetime) -> None:
    """Readers who unsubscribed or stopped catching up since they joined: out of the segment
    and skipped, right before the campaign is made or sent."""
    rows = list(_in_flight(campaign).filter(
        ~Q(progress__state=ProgressState.ACTIVE)
        | ~Q(subscriber__status=SubscriberStatus.SUBSCRIBED)).values_list(
        "pk", "subscriber__email"))
    for chunk in _chunks(rows):
        _hold(campaign)
        provider.segment_remove(campaign.segment_id, emails=[email for _pk, email in chunk])
        CatchupDelivery.objects.filter(pk__in=[pk for pk, _email in chunk], state=D.SENDING
                                       ).update(state=D.SKIPPED, updated_at=at,
                                                error="The reader stopped before the send.")


def _cancel(campaign: CatchupCampaign, reason: str, at: datetime) -> int:
    """Nothing is sent: the rows are skipped, and their readers are due again at once for the
    next part in their queue."""
    pks = list(_in_flight(campaign).values_list("pk", flat=True))
    CatchupProgress.objects.filter(deliveries__pk__in=pks, state=ProgressState.ACTIVE
                                   ).update(next_due_at=at)
    CatchupDelivery.objects.filter(pk__in=pks).update(state=D.SKIPPED, updated_at=at,
                                                      error=reason[:500])
    _set(campaign, stage=C.CANCELLED, error=reason[:500])
    return 0


def _fail(campaign: CatchupCampaign, reason: str, at: datetime) -> int:
    with transaction.atomic():
        _in_flight(campaign).update(state=D.FAILED, updated_at=at, error=reason[:500])
        _set(campaign, stage=C.FAILED, error=reason[:500])
    return 0


def _create(campaign: CatchupCampaign, provider: MailchimpProvider, at: datetime) -> None:
    if not _part_live(campaign):
        _cancel(campaign, "Not sent: the part is no longer live.", at)
        return
    _drop_stopped(campaign, provider, at)
    if not _in_flight(campaign).exists():
        _cancel(campaign, "Nobody left to send it to.", at)
        return
    rendered = catchup_render(PartPage.objects.get(pk=campaign.part_id))
    if not campaign.provider_campaign_id:
        _hold(campaign)
        provider_id = provider.campaign_create(
            title=f"partwork catch-up #{campaign.pk}: {rendered.subject}"[:100],
            subject=rendered.subject, preheader=rendered.preheader,
            segment_opts={"saved_segment_id": campaign.segment_id})
        # From here on Mailchimp can always be asked about this campaign instead of guessing.
        CatchupCampaign.objects.filter(pk=campaign.pk, provider_campaign_id="").update(
            provider_campaign_id=provider_id, updated_at=timezone.now())
        campaign.refresh_from_db()
    _hold(campaign)
    provider.campaign_set_content(campaign.provider_campaign_id, html=rendered.html,
                                  text=rendered.text)
    _set(campaign, stage=C.CREATED, error="")


def _request_send(campaign: CatchupCampaign, provider: MailchimpProvider, at: datetime) -> int:
    _drop_stopped(campaign, provider, at)
    with transaction.atomic():
        locked = CatchupCampaign.objects.select_for_update().get(pk=campaign.pk)
        if locked.stage != C.CREATED:
            campaign.refresh_from_db()
            return 0
        if not _part_live(campaign):
            return _cancel(campaign, "Not sent: the part is no longer live.", at)
        if not _in_flight(campaign).exists():
            return _cancel(campaign, "Nobody left to send it to.", at)
        _set(campaign, stage=C.SEND_REQUESTED, attempts=locked.attempts + 1)
    # Committed: whatever happens next, a later look reads Mailchimp's status first.
    _hold(campaign)
    try:
        provider.campaign_send(campaign.provider_campaign_id)
    except ProviderError as error:
        logger.info("catch-up campaign %s: actions/send did not answer cleanly (%s)",
                    campaign.pk, error)
        return _reconcile(campaign, provider, at, send_error=error)
    return _reconcile(campaign, provider, at, answered=True)


def _reconcile(campaign: CatchupCampaign, provider: MailchimpProvider, at: datetime, *,
               answered: bool = False, send_error: ProviderError | None = None) -> int:
    try:
        status, emails_sent = provider.campaign_status(campaign.provider_campaign_id)
    except ProviderError as error:
        if answered:  # Mailchimp accepted the send (204); only the count is unknown
            return _mark_sent(campaign, None, at)
        _note(campaign, f"Could not read the campaign's status at Mailchimp: {error}")
        return 0  # still send_requested: the next step reads it again
    if status in DONE_AT_MAILCHIMP:
        return _mark_sent(campaign, emails_sent, at)
    if status in NOT_SENT_AT_MAILCHIMP:
        reason = str(send_error or "the send was not applied")
        if isinstance(send_error, MailchimpProviderError) and not send_error.retryable:
            return _fail(campaign, f"Mailchimp refused to send: {send_error}", at)
        if campaign.attempts >= settings.CAMPAIGN_MAX_ATTEMPTS:
            return _fail(campaign, f"Gave up after {campaign.attempts} attempts: {reason}", at)
        _set(campaign, stage=C.CREATED, error=f"Mailchimp still has it as {status!r}: {reason}"
             [:500])
        return 0
    return _fail(campaign, f"Mailchimp reports status {status!r}; not sending again.", at)


def _mark_sent(campaign: CatchupCampaign, emails_sent: int | None, at: datetime) -> int:
    now = timezone.now()
    with transaction.atomic():
        sent = _in_flight(campaign).update(
            state=D.SENT, sent_at=now, updated_at=at, error="",
            mailchimp_campaign_id=campaign.provider_campaign_id)
        _set(campaign, stage=C.SENT, sent_at=now, recipient_count=emails_sent, error="")
    return sent
