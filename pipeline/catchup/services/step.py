"""The catch-up step (local delivery): every reader due gets their next earlier part, once.

Beat runs it every minute (workers/tasks/catchup.py); two at once are safe. It works a page of
due readers at a time, in a few statements per page whatever its size (bench/catchup_step.py
prints the cost beside the naive way, one set of queries per reader):

1. Plan (one transaction): lock the due progresses (FOR UPDATE SKIP LOCKED, so a second step
   takes other readers); add to each queue the parts that went live since the reader started
   (left out of their announcements, see progress.py); read the queues; pass over parts that are
   no longer live and public; stop readers who no longer receive the series (unsubscribed,
   cleaned, unfollowed); mark level those with nothing left; and move each chosen reader's due
   time on by the series' pace. A crash after this commit delays a reader by one pace step,
   never duplicates: the part stays queued.
2. Send, a window at a time, with the campaigns' ledger rules: rows move ``pending`` →
   ``sending`` in one conditional UPDATE (only rows still pending, of readers still catching up
   and still subscribed: an unsubscribe or unfollow stops them at once), the messages are handed
   to the SMTP transport, and the outcomes are written as soon as known. A worker killed
   mid-window leaves at most the window ``sending``; the next step marks rows left ``sending``
   past CATCHUP_SENDING_LEASE ``uncertain`` (shown, never resent). The unique (reader, part) row
   makes a second copy impossible.

With the audience at Mailchimp (``mailchimp_configured``), step 2 instead puts the chosen rows
into the day's campaign of their part (one per series, part and day, to a static segment of the
readers due it): each row is committed ``sending`` with that campaign while it still takes
readers, and becomes ``sent`` when Mailchimp reports the campaign sent (services/mailchimp.py
has the stages). Readers due after their part's campaign of the day was filled wait for the
next day's.
"""

import logging
import uuid
from collections import defaultdict
from concurrent.futures import wait
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from cms.models import PartPage
from pipeline.audience.services.account import mailchimp_configured
from pipeline.campaigns.services.local import (
    ledger_window,
    smtp_connections,
    unsubscribe_link,
)
from pipeline.catchup.models import (
    CampaignStage,
    CatchupCampaign,
    CatchupDelivery,
    CatchupProgress,
    DeliveryState,
    ProgressState,
)
from pipeline.catchup.services.emails import catchup_render
from pipeline.catchup.services.mailchimp import catchup_campaign_for, catchup_campaigns_advance
from pipeline.catchup.services.pace import Pace, series_paces
from pipeline.catchup.services.progress import parts_received_by
from pipeline.providers.campaign_email import CampaignEmail, sender_domain
from pipeline.providers.campaign_transport import MaybeSent, NotSent, open_transport
from pipeline.subscribers.models import Subscriber, SubscriberStatus
from pipeline.subscribers.tokens import reader_links

logger = logging.getLogger(__name__)
D = DeliveryState
P = ProgressState
PAGE = 500


@dataclass
class StepReport:
    readers: int = 0
    sent: int = 0
    failed: int = 0
    uncertain: int = 0
    deferred: int = 0
    level: int = 0
    stopped: int = 0
    lost: int = 0  # rows a crashed worker left sending, marked uncertain
    trouble: str = ""

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class _Job:
    pk: int
    subscriber_id: int
    email: str
    part_id: int
    series_id: int
    series_slug: str


@dataclass
class _Plan:
    jobs: list[_Job] = field(default_factory=list)
    readers: int = 0
    level: int = 0
    stopped: int = 0


def catchup_step(*, at: datetime | None = None, page: int = PAGE) -> StepReport:
    """Send every reader due at ``at`` (default now) their next earlier part."""
    at = at or timezone.now()
    report = StepReport()
    # Rows in a Mailchimp campaign are settled by that campaign's status, not by a lease.
    report.lost = CatchupDelivery.objects.filter(
        state=D.SENDING, campaign__isnull=True,
        updated_at__lt=at - settings.CATCHUP_SENDING_LEASE,
    ).update(state=D.UNCERTAIN, updated_at=at,
             error="In flight when a worker stopped: it may or may not have been delivered; "
             "not resent.")
    paces: dict[int, Pace] = {}
    if mailchimp_configured():
        return _step_at_mailchimp(at, page, paces, report)
    emails: dict[int, CampaignEmail] = {}
    transport = None
    try:
        for plan in _plans(at, page, paces, report):
            if not plan.jobs:
                continue
            if transport is None:
                transport = open_transport(
                    connections=smtp_connections(),
                    max_messages=settings.CAMPAIGN_SMTP_MESSAGES_PER_CONNECTION)
            trouble = _send(plan.jobs, transport, emails, at, report)
            if trouble:
                report.trouble = trouble
                break
    except NotSent as error:  # the mail server could not be reached: readers wait a step
        report.trouble = str(error)
    finally:
        if transport is not None:
            transport.close()
    if report.readers:
        logger.info("catch-up step at %s: %s", at.isoformat(), report.as_dict())
    return report


def _plans(at: datetime, page: int, paces: dict[int, Pace], report: StepReport):
    """Plan page after page until no reader is due, counting the readers in ``report``."""
    while True:
        plan = _plan_page(at, page, paces)
        if plan is None:
            return
        report.readers += plan.readers
        report.level += plan.level
        report.stopped += plan.stopped
        yield plan


def _step_at_mailchimp(at: datetime, page: int, paces: dict[int, Pace],
                       report: StepReport) -> StepReport:
    # First what an earlier step left unfinished (a crash, Mailchimp trouble): a campaign
    # cancelled there makes its readers due again now, for their next part.
    _advance_campaigns(at, report)
    for plan in _plans(at, page, paces, report):
        _join_campaigns(plan.jobs, at, paces, report)
    _advance_campaigns(at, report)  # this step's campaigns
    if report.readers or report.sent:
        logger.info("catch-up step at %s (Mailchimp): %s", at.isoformat(), report.as_dict())
    return report


def _advance_campaigns(at: datetime, report: StepReport) -> None:
    outcome = catchup_campaigns_advance(at=at)
    report.sent += outcome.sent
    report.trouble = outcome.trouble or report.trouble


def _join_campaigns(jobs: list[_Job], at: datetime, paces: dict[int, Pace],
                    report: StepReport) -> None:
    """Each due row into the day's campaign of its part, committed ``sending`` with it, while
    that campaign still takes readers; otherwise the reader waits for the next day's."""
    groups: dict[tuple, list[_Job]] = defaultdict(list)
    for job in jobs:
        day = at.astimezone(paces[job.series_id].tz).date()
        groups[(job.series_id, job.part_id, day)].append(job)
    for (series_id, part_id, day), group in groups.items():
        # One transaction: a new campaign is seen by other steps only with its readers in it.
        with transaction.atomic():
            campaign = catchup_campaign_for(series_id=series_id, part_id=part_id, day=day,
                                            at=at)
            stage = (CatchupCampaign.objects.select_for_update().filter(pk=campaign.pk)
                     .values_list("stage", flat=True).get())
            if stage == CampaignStage.OPEN:
                _claim(group, at, run="", campaign_id=campaign.pk)
                continue
        CatchupProgress.objects.filter(
            deliveries__pk__in=[job.pk for job in group], state=P.ACTIVE,
        ).update(next_due_at=paces[series_id].first_due(at))
        report.deferred += len(group)


def _plan_page(at: datetime, page: int, paces: dict[int, Pace]) -> _Plan | None:
    with transaction.atomic():
        due = list(
            CatchupProgress.objects.select_for_update(skip_locked=True)
            .filter(state=P.ACTIVE, next_due_at__lte=at)
            .order_by("next_due_at", "pk")
            .values_list("pk", "subscriber_id", "series_id", "started_at")[:page]
        )
        if not due:
            return None
        plan = _Plan(readers=len(due))
        series_ids = {row[2] for row in due}
        missing = series_ids - paces.keys()
        if missing:
            paces.update(series_paces(missing))
        _append_new_parts(due, series_ids, at)
        queued = defaultdict(list)
        for pk, progress_id, part_id, email, slug in (
            CatchupDelivery.objects.filter(progress_id__in=[row[0] for row in due],
                                           state=D.PENDING)
            .order_by("progress_id", "position", "pk")
            .values_list("pk", "progress_id", "part_id", "subscriber__email",
                         "part__series__slug")
        ):
            queued[progress_id].append((pk, part_id, email, slug))
        part_ids = {entry[1] for entries in queued.values() for entry in entries}
        live = set(PartPage.objects.live().public().filter(pk__in=part_ids)
                   .values_list("pk", flat=True))
        receiving = set(
            Subscriber.series.through.objects.filter(
                subscriber_id__in={row[1] for row in due}, seriespage_id__in=series_ids,
                subscriber__status=SubscriberStatus.SUBSCRIBED)
            .values_list("subscriber_id", "seriespage_id"))
        # A reader whose last part is still on its way (a Mailchimp campaign not sent yet)
        # gets nothing new, so the parts arrive in order; they are looked at again a pace later.
        in_flight = set(CatchupDelivery.objects.filter(
            progress_id__in=[row[0] for row in due], state=D.SENDING,
        ).values_list("progress_id", flat=True))
        skipped, level, stopped = [], [], []
        advance: dict[int, list[int]] = defaultdict(list)
        for progress_id, subscriber_id, series_id, _started in due:
            entries = queued.get(progress_id, [])
            if (subscriber_id, series_id) not in receiving:
                stopped.append(progress_id)
                skipped += [entry[0] for entry in entries]
                continue
            if progress_id in in_flight:
                advance[series_id].append(progress_id)
                continue
            chosen = next((entry for entry in entries if entry[1] in live), None)
            if chosen is None:
                level.append(progress_id)
                skipped += [entry[0] for entry in entries]  # parts no longer live
                continue
            plan.jobs.append(_Job(chosen[0], subscriber_id, chosen[2], chosen[1], series_id,
                                  chosen[3]))
            advance[series_id].append(progress_id)
        if skipped:
            CatchupDelivery.objects.filter(pk__in=skipped, state=D.PENDING).update(
                state=D.SKIPPED, updated_at=at,
                error="Not sent: no longer live, or the reader stopped receiving the series.")
        if level:
            CatchupProgress.objects.filter(pk__in=level).update(
                state=P.LEVEL, next_due_at=None, finished_at=at)
        if stopped:
            CatchupProgress.objects.filter(pk__in=stopped).update(
                state=P.STOPPED, next_due_at=None, finished_at=at,
                note="The reader no longer receives this series.")
        for series_id, progress_ids in advance.items():
            CatchupProgress.objects.filter(pk__in=progress_ids).update(
                next_due_at=paces[series_id].next_due(at))
        plan.level, plan.stopped = len(level), len(stopped)
        return plan


def _append_new_parts(due, series_ids, at: datetime) -> None:
    """Parts that went live after a reader started: the end of their queue (their
    announcement left them out)."""
    parts = list(PartPage.objects.live().filter(series_id__in=series_ids)
                 .values_list("pk", "series_id", "part_number", "first_published_at"))
    wanted = [(row, part) for row in due for part in parts
              if part[1] == row[2] and part[3] and part[3] >= row[3]]
    if not wanted:
        return
    have = parts_received_by({row[1] for row, _part in wanted}, {part[0] for _row, part in wanted})
    CatchupDelivery.objects.bulk_create(
        [CatchupDelivery(progress_id=row[0], subscriber_id=row[1], part_id=part[0],
                         position=part[2], updated_at=at)
         for row, part in wanted if (row[1], part[0]) not in have],
        ignore_conflicts=True,
    )


def _claim(jobs: list[_Job], at: datetime, run: str, campaign_id: int | None = None
           ) -> list[_Job]:
    """pending → sending (in the Mailchimp campaign ``campaign_id``, if given), only for readers
    still catching up and still subscribed: one ``UPDATE ... RETURNING`` on PostgreSQL (rows
    another worker holds are skipped)."""
    pks = [job.pk for job in jobs]
    if connection.vendor == "postgresql":
        delivery = connection.ops.quote_name(CatchupDelivery._meta.db_table)
        progress = connection.ops.quote_name(CatchupProgress._meta.db_table)
        subscriber = connection.ops.quote_name(Subscriber._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {delivery} SET state = %s, updated_at = %s, message_id = %s, "
                "campaign_id = %s "
                f"WHERE id IN (SELECT d.id FROM {delivery} d "
                f"JOIN {progress} p ON p.id = d.progress_id "
                f"JOIN {subscriber} s ON s.id = d.subscriber_id "
                "WHERE d.id = ANY(%s) AND d.state = %s AND p.state = %s AND s.status = %s "
                "FOR UPDATE OF d SKIP LOCKED) RETURNING id",
                [D.SENDING, connection.ops.adapt_datetimefield_value(at), run, campaign_id, pks,
                 D.PENDING, P.ACTIVE, SubscriberStatus.SUBSCRIBED])
            taken = {row[0] for row in cursor.fetchall()}
    else:
        CatchupDelivery.objects.filter(
            pk__in=pks, state=D.PENDING, progress__state=P.ACTIVE,
            subscriber__status=SubscriberStatus.SUBSCRIBED,
        ).update(state=D.SENDING, updated_at=at, message_id=run, campaign_id=campaign_id)
        taken = set(CatchupDelivery.objects.filter(pk__in=pks, state=D.SENDING, message_id=run)
                    .values_list("pk", flat=True))
    return [job for job in jobs if job.pk in taken]


def _message_id(job: _Job, run: str, domain: str) -> str:
    return f"<catchup.{job.pk}.{run}@{domain}>"


def _send(jobs: list[_Job], transport, emails: dict[int, CampaignEmail], at: datetime,
          report: StepReport) -> str:
    window = ledger_window(transport.size)
    domain = sender_domain()  # parsing DEFAULT_FROM_EMAIL costs a few ms: once, not per reader
    for part_id in {job.part_id for job in jobs} - emails.keys():
        emails[part_id] = CampaignEmail(catchup_render(PartPage.objects.get(pk=part_id)))
    for start in range(0, len(jobs), window):
        run = uuid.uuid4().hex[:16]
        claimed = _claim(jobs[start:start + window], at, run)
        futures = [transport.submit(partial(_send_one, job=job, email=emails[job.part_id],
                                            message_id=_message_id(job, run, domain)))
                   for job in claimed]
        wait(futures)
        outcomes = [future.result() for future in futures]
        now = timezone.now()
        by_state = defaultdict(list)
        for pk, state, error in outcomes:
            by_state[(state, error)].append(pk)
        for (state, error), pks in by_state.items():
            changes = {"state": state, "updated_at": at, "error": error[:500]}
            if state == D.SENT:
                changes["sent_at"] = now
            if state == D.PENDING:  # never handed over: due again at the next step
                CatchupProgress.objects.filter(deliveries__pk__in=pks).update(next_due_at=at)
            CatchupDelivery.objects.filter(pk__in=pks, state=D.SENDING).update(**changes)
        report.sent += len(by_state.get((D.SENT, ""), []))
        for (state, _error), pks in by_state.items():
            if state == D.FAILED:
                report.failed += len(pks)
            elif state == D.UNCERTAIN:
                report.uncertain += len(pks)
            elif state == D.PENDING:
                report.deferred += len(pks)
        trouble = next((error for _pk, state, error in outcomes
                        if state in (D.PENDING, D.UNCERTAIN) and error), "")
        if trouble:
            return trouble
    return ""


def _send_one(channel, *, job: _Job, email: CampaignEmail, message_id: str):
    """Runs in a sending thread: this reader's bytes, handed over; (pk, state, error)."""
    links = reader_links(subscriber_id=job.subscriber_id, email=job.email,
                         series_slug=job.series_slug)
    prepared = email.for_recipient(
        email=job.email, message_id=message_id,
        unsubscribe_url=unsubscribe_link(subscriber_id=job.subscriber_id, email=job.email),
        preferences_url=links.preferences, stop_series_url=links.stop_series,
    )
    try:
        channel.send(prepared, envelope_from=email.envelope_from)
    except NotSent as refusal:
        if refusal.permanent:
            return job.pk, D.FAILED, str(refusal)
        return job.pk, D.PENDING, str(refusal)
    except MaybeSent as cut_off:
        return job.pk, D.UNCERTAIN, str(cut_off)
    return job.pk, D.SENT, ""
