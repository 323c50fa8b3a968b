"""The local path: Django email (SMTP) with a per-recipient ledger.

The recipients are written as ``pending`` Delivery rows (unique per campaign and subscriber,
each with the Message-ID it will carry) in the same commit that moves the campaign to
SEND_REQUESTED. Then a loop keeps a small window of messages in flight over several SMTP
sessions (pipeline/providers/campaign_transport.py): each message is committed ``sending``
before it is handed over, and its outcome is committed as soon as it is known, together with
the next claims, in one statement per half window. The email itself is made once per run
(pipeline/providers/campaign_email.py); a recipient costs a signed link and a few joins.

A crash therefore leaves at most the window (``CAMPAIGN_LEDGER_WINDOW``, two per session by
default, so 8) as ``sending``; whoever resumes marks such rows ``uncertain`` (shown to the
operator, never resent) and carries on with the pending ones. A message refused before it went
out goes back to pending; one cut off while it went out is uncertain; one refused for good
(5xx) is failed.
"""

import functools
import logging
import queue
import time
from concurrent.futures import Future
from dataclasses import dataclass
from itertools import islice

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.message import make_msgid
from django.db import transaction
from django.utils import timezone

from pipeline.campaigns.models import (
    Campaign,
    CampaignKind,
    CampaignStatus,
    Delivery,
    DeliveryState,
)
from pipeline.campaigns.services.approval import approved_copy
from pipeline.campaigns.services.audience import audience_description, audience_recipients
from pipeline.campaigns.services.checks import campaign_check
from pipeline.campaigns.services.claims import (
    campaign_hand_on,
    campaign_pause,
    campaign_release,
)
from pipeline.campaigns.services.delivery import CONTINUING, CampaignDelivery
from pipeline.campaigns.services.ledger import (
    LedgerChange,
    ledger_apply,
    ledger_counts,
    ledger_write,
)
from pipeline.campaigns.services.pacing import Pacer
from pipeline.campaigns.services.return_path import return_path, verp_enabled
from pipeline.campaigns.services.send_guard import SendGuard, Stop
from pipeline.campaigns.services.state import campaign_log, campaign_transition
from pipeline.campaigns.services.timing import campaign_expiry
from pipeline.campaigns.services.tracking import Tracking, email_tracking
from pipeline.providers.campaign_email import CampaignEmail, dkim_signed, sender_domain
from pipeline.providers.campaign_transport import MaybeSent, NotSent, open_transport
from pipeline.providers.message import RenderedEmail, personalize
from pipeline.subscribers.tokens import UNSUBSCRIBE, absolute_url, make_token, reader_links

logger = logging.getLogger(__name__)
S = CampaignStatus
D = DeliveryState


def smtp_connections() -> int:
    """SMTP sessions one worker process keeps open while it sends a campaign."""
    return max(settings.CAMPAIGN_SMTP_CONNECTIONS, 1)


def ledger_window(sessions: int) -> int:
    """Messages at most in flight (``sending`` in the ledger) at once: a crash's worst case.

    Two per session keeps every session busy while the ledger is written (once per half
    window). A larger window is faster only against a server on loopback: bench/local_delivery.py
    prints the trade at 4, 8 and 16."""
    return max(settings.CAMPAIGN_LEDGER_WINDOW or 2 * sessions, 1)


def _fail(campaign: Campaign, worker: str, reason: str) -> str:
    campaign_transition(
        campaign=campaign, to_status=S.FAILED, reason=reason, actor=worker,
        fields={"claimed_until": None, "last_error": reason[:2000]},
    )
    return S.FAILED


def local_deliver(*, campaign: Campaign, worker: str) -> str:
    if campaign.status == S.CLAIMED:
        status = _start(campaign, worker)
        if status != S.SEND_REQUESTED:
            return status
    if campaign.status == S.SEND_REQUESTED:
        return _run_ledger(campaign, worker)
    return campaign.status


def _start(campaign: Campaign, worker: str) -> str:
    rendered = approved_copy(campaign)  # frozen when it was scheduled (checked at the claim)
    recipients = audience_recipients(campaign)
    count = recipients.count()
    problems = campaign_check(
        campaign=campaign, rendered=rendered, send_time=timezone.now(), audience_size=count
    )
    if problems:
        return _fail(campaign, worker, "Blocked by the pre-send checks: " + " ".join(problems))
    with transaction.atomic():
        expiry = campaign_expiry(campaign=campaign, at=timezone.now())
        if expiry:
            campaign_transition(campaign=campaign, to_status=S.EXPIRED, reason=expiry.reason,
                                actor=worker, fields={"claimed_until": None})
            return S.EXPIRED
        now = timezone.now()
        ledger_write(campaign=campaign, recipients=recipients, domain=sender_domain(), at=now)
        written = Delivery.objects.filter(campaign=campaign).count()
        campaign_transition(
            campaign=campaign, to_status=S.SEND_REQUESTED, actor=worker,
            reason=f"Ledger written: {written} recipients; sending over SMTP.",
            fields={
                "provider": "local",
                "send_requested_at": now,
                "sent_audience": audience_description(campaign),
                "recipient_count": written,
            },
        )
    return S.SEND_REQUESTED


@functools.cache
def _unsubscribe_url_parts() -> tuple[str, str]:
    """The one-click URL around a placeholder token: reverse() once, not once per message."""
    sample = absolute_url("subscriber_unsubscribe", "TOKEN")
    at = sample.rindex("TOKEN")
    return sample[:at], sample[at + len("TOKEN"):]


def unsubscribe_link(*, subscriber_id: int, email: str) -> str:
    """Same URL as pipeline.subscribers.tokens.unsubscribe_url (tested), built faster."""
    before, after = _unsubscribe_url_parts()
    return before + make_token(UNSUBSCRIBE, subscriber_id=subscriber_id, email=email) + after


@dataclass(frozen=True)
class _Job:
    pk: int
    subscriber_id: int
    email: str
    message_id: str


@dataclass(frozen=True)
class _Outcome:
    pk: int
    state: str
    error: str = ""
    trouble: str = ""  # set when the run must stop (and try again later)


class _Progress:
    """A log line every few seconds while a long campaign goes out."""

    def __init__(self, campaign: Campaign, every: float = 5.0) -> None:
        self.campaign = campaign
        self.every = every
        self.started = self.last = time.monotonic()
        self.sent = 0

    def add(self, outcomes: list[_Outcome]) -> None:
        self.sent += sum(outcome.state == D.SENT for outcome in outcomes)
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            logger.info("campaign %s: %d sent in this run (%.0f/s), %d of %d recorded",
                        self.campaign.pk, self.sent, self.sent / (now - self.started),
                        Delivery.objects.filter(campaign=self.campaign).exclude(
                            state=D.PENDING).count(), self.campaign.recipient_count or 0)


def _run_ledger(campaign: Campaign, worker: str) -> str:
    # Whatever is still "sending" was in a crashed worker's hands (we hold the lease now).
    lost = Delivery.objects.filter(campaign=campaign, state=D.SENDING).update(
        state=D.UNCERTAIN, updated_at=timezone.now(),
        error="In flight when a worker stopped: it may or may not have been delivered; "
        "not resent.",
    )
    if lost:
        campaign_log(campaign=campaign, actor=worker,
                     reason=f"{lost} message(s) in flight during a crash marked uncertain.")
    # Links through engagement's counting redirect when the campaign counts clicks (a hook:
    # campaigns knows nothing of the app that answers).
    tracking = email_tracking(campaign=campaign, rendered=approved_copy(campaign))
    email = CampaignEmail(tracking.rendered)
    guard = SendGuard(campaign, worker)
    stop = guard.check()
    if stop is None:
        try:
            transport = open_transport(
                connections=smtp_connections(),
                max_messages=settings.CAMPAIGN_SMTP_MESSAGES_PER_CONNECTION)
        except NotSent as error:
            stop = Stop("trouble", str(error))
        else:
            try:
                stop = _send_all(campaign, guard, email, transport, tracking)
            finally:
                transport.close()
    if stop is None:
        counts = ledger_counts(campaign)
        campaign_transition(
            campaign=campaign, to_status=S.SENT, actor=worker,
            reason=f"Delivered {counts.sent}; failed {counts.failed}; "
            f"uncertain {counts.uncertain}.",
            fields={"sent_at": timezone.now(), "claimed_until": None, "last_error": ""},
        )
        return S.SENT
    if stop.why == "expired":
        return _stop_expired(campaign, worker, stop.reason)
    if stop.why == "lease":
        logger.warning("campaign %s: lease lost to another worker; stopping", campaign.pk)
        return S.SEND_REQUESTED
    if stop.why == "budget":
        campaign_hand_on(campaign=campaign, worker=worker, reason=stop.reason)
        return CONTINUING
    if stop.why == "paused":
        campaign_pause(campaign=campaign, worker=worker, until=stop.until, reason=stop.reason)
        return campaign.status
    campaign_release(campaign=campaign, worker=worker, reason=stop.reason)
    return campaign.status


def _send_all(campaign: Campaign, guard: SendGuard, email: CampaignEmail, transport,
              tracking: Tracking) -> Stop | None:
    """Keep up to the window in flight until every pending row is done or a stop comes."""
    window = ledger_window(transport.size)
    refill_below = max(window // 2, 1)
    rows = _pending(campaign)
    progress = _Progress(campaign)
    pacer = Pacer()
    in_flight: set[Future] = set()
    # Each future puts itself here when done: one C queue call per message, where
    # concurrent.futures.wait() would lock and watch every future in flight at each call.
    finished_queue: queue.SimpleQueue[Future] = queue.SimpleQueue()
    outcomes: list[_Outcome] = []
    stop = None
    started, claimed_total = time.monotonic(), 0
    series_slug = stop_series_slug(campaign)
    # Below the task's 240 s soft limit, so a long list is never cut off mid-message by it.
    run_seconds = settings.CAMPAIGN_SEND_RUN_SECONDS
    while True:
        wanted: list[_Job] = []
        if stop is None:
            stop = guard.check()
        if stop is None and claimed_total and time.monotonic() - started >= run_seconds:
            stop = Stop("budget", f"Paused after {run_seconds:.0f} s with messages still "
                        "pending, to stay inside the task's time limit; a new task carries on.")
        granted = 0
        if stop is None and len(in_flight) < window:
            grant = pacer.take(window - len(in_flight))
            if grant.day_full_until and Delivery.objects.filter(
                    campaign=campaign, state=D.PENDING).exists():
                stop = Stop("paused", "Paused: the relay's daily cap is reached; the rest "
                            f"goes from {grant.day_full_until:%Y-%m-%d %H:%M} UTC.",
                            until=grant.day_full_until)
            granted = grant.count
            wanted = list(islice(rows, granted))
        claimed = _record_and_claim(outcomes, wanted)
        # Tokens for messages not handed over (none left, taken by another worker, or put
        # back unsent) are given back to the day's cap.
        pacer.give_back(granted - len(claimed)
                        + sum(outcome.state == D.PENDING for outcome in outcomes))
        claimed_total += len(claimed)
        progress.add(outcomes)
        for job in claimed:
            future = transport.submit(functools.partial(
                _send_one, job=job, email=email, guard=guard, tracking=tracking,
                series_slug=series_slug))
            future.add_done_callback(finished_queue.put)
            in_flight.add(future)
        if not in_flight:
            if not wanted:
                return stop
            continue  # that page was taken by another worker: try the next
        # Wait until half the window is free: the other half keeps every session busy
        # meanwhile, and the ledger is written once per few messages, not for each.
        finished = [finished_queue.get()]
        while len(in_flight) - len(finished) > refill_below:
            finished.append(finished_queue.get())
        in_flight.difference_update(finished)
        outcomes = [future.result() for future in finished]
        trouble = next((outcome.trouble for outcome in outcomes if outcome.trouble), "")
        if trouble and stop is None:
            stop = Stop("trouble", trouble)


def _pending(campaign: Campaign, page: int = 500):
    after = 0
    while True:
        rows = list(
            Delivery.objects.filter(campaign=campaign, state=D.PENDING, pk__gt=after)
            .order_by("pk").values_list("pk", "subscriber_id", "email", "message_id")[:page]
        )
        if not rows:
            return
        yield from (_Job(*row) for row in rows)
        after = rows[-1][0]


def _record_and_claim(outcomes: list[_Outcome], wanted: list[_Job]) -> list[_Job]:
    """One statement: the outcomes just learnt, and ``sending`` for the next messages. Only
    rows still ours are recorded: a worker that took over may have marked them uncertain."""
    if not outcomes and not wanted:
        return []
    moved = ledger_apply(
        [LedgerChange(outcome.pk, D.SENDING, outcome.state, outcome.error) for outcome in outcomes]
        + [LedgerChange(job.pk, D.PENDING, D.SENDING) for job in wanted],
        at=timezone.now())
    return [_with_message_id(job) for job in wanted if job.pk in moved]


def _with_message_id(job: _Job) -> _Job:
    """Rows written before Message-IDs were assigned up front get theirs now."""
    if job.message_id:
        return job
    message_id = make_msgid(domain=sender_domain())
    Delivery.objects.filter(pk=job.pk).update(message_id=message_id)
    return _Job(job.pk, job.subscriber_id, job.email, message_id)


def stop_series_slug(campaign: Campaign) -> str:
    """The series an announcement's "stop emails about this series" link names (else empty)."""
    if campaign.kind == CampaignKind.ANNOUNCEMENT and campaign.part_id:
        return campaign.part.series.slug
    return ""


def _send_one(channel, *, job: _Job, email: CampaignEmail, guard: SendGuard,
              tracking: Tracking, series_slug: str = "") -> _Outcome:
    """Runs in a sending thread: build this reader's bytes, hand them over, say what happened."""
    if guard.too_late():
        return _Outcome(job.pk, D.PENDING)  # never tried; the guard ends the campaign
    links = reader_links(subscriber_id=job.subscriber_id, email=job.email,
                         series_slug=series_slug)
    prepared = email.for_recipient(
        email=job.email, message_id=job.message_id,
        unsubscribe_url=unsubscribe_link(subscriber_id=job.subscriber_id, email=job.email),
        preferences_url=links.preferences, stop_series_url=links.stop_series,
        reader_token=tracking.token_for(job.subscriber_id),
    )
    try:
        # VERP: a bounce comes back to an address naming this delivery (services/return_path.py).
        channel.send(prepared, envelope_from=return_path(job.pk) if verp_enabled()
                     else email.envelope_from)
    except NotSent as refusal:
        if refusal.permanent:
            return _Outcome(job.pk, D.FAILED, error=str(refusal))
        return _Outcome(job.pk, D.PENDING, trouble=str(refusal))
    except MaybeSent as cut_off:
        return _Outcome(job.pk, D.UNCERTAIN, error=str(cut_off), trouble=str(cut_off))
    return _Outcome(job.pk, D.SENT)


def _stop_expired(campaign: Campaign, worker: str, reason: str) -> str:
    skipped = Delivery.objects.filter(campaign=campaign, state=D.PENDING).update(
        state=D.FAILED, error="Not sent: the offer's end came first.", updated_at=timezone.now()
    )
    campaign_transition(
        campaign=campaign, to_status=S.EXPIRED, actor=worker,
        reason=f"{reason} Stopped with {skipped} recipient(s) not sent.",
        fields={"claimed_until": None},
    )
    return S.EXPIRED


class LocalDelivery(CampaignDelivery):
    """SMTP (or any Django email backend) with the per-recipient ledger."""

    name = "local"

    def deliver(self, *, campaign: Campaign, worker: str) -> str:
        return local_deliver(campaign=campaign, worker=worker)

    def audience_size(self, campaign: Campaign) -> int | None:
        return audience_recipients(campaign).count()

    def send_test(self, *, campaign: Campaign, rendered: RenderedEmail, emails: list[str]) -> None:
        html_part, text_part = personalize(
            rendered, unsubscribe_url=f"{settings.BASE_URL}/api/subscribers/unsubscribe/TEST"
        )
        with get_connection(fail_silently=False) as connection:
            for email in emails:
                message = EmailMultiAlternatives(
                    subject=f"[Test] {rendered.subject}", body=text_part,
                    from_email=settings.DEFAULT_FROM_EMAIL, to=[email], connection=connection,
                )
                message.attach_alternative(html_part, "text/html")
                dkim_signed(message).send()

    def report(self, campaign: Campaign) -> dict:
        counts = ledger_counts(campaign)
        return {"source": self.name, "available": counts.total > 0, "sent": counts.sent,
                "pending": counts.pending, "sending": counts.sending, "failed": counts.failed,
                "uncertain": counts.uncertain, "total": counts.total}
