"""The local path: Django email (SMTP) with a per-recipient ledger.

The recipients are written as ``pending`` Delivery rows (unique per campaign and subscriber) in
the same commit that moves the campaign to SEND_REQUESTED. Each message is then recorded
``sending`` before it is handed to SMTP and ``sent`` right after, over one SMTP connection per
batch. A crash leaves at most the message in hand as ``sending``; whoever resumes marks such rows
``uncertain`` (shown to the operator, never resent) and carries on with the pending ones.
"""

import contextlib
import functools
import logging
import smtplib
import socket
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.message import make_msgid
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from pipeline.campaign_models import Campaign, CampaignStatus, Delivery, DeliveryState
from pipeline.services.campaign_audience import audience_description, audience_recipients
from pipeline.services.campaign_checks import campaign_check
from pipeline.services.campaign_claims import campaign_release, campaign_renew_lease
from pipeline.services.campaign_rendering import RenderedEmail, campaign_render, personalize
from pipeline.services.campaign_state import campaign_log, campaign_transition
from pipeline.services.campaign_timing import campaign_expiry
from pipeline.subscriber_tokens import UNSUBSCRIBE, absolute_url, make_token

logger = logging.getLogger(__name__)
S = CampaignStatus
D = DeliveryState

# Refused for this recipient only: record it failed and go on.
_RECIPIENT_REFUSED = (smtplib.SMTPRecipientsRefused,)
_CONNECTION_TROUBLE = (smtplib.SMTPException, socket.timeout, OSError)


def batch_size() -> int:
    return getattr(settings, "CAMPAIGN_SMTP_BATCH_SIZE", 100)


@dataclass
class LedgerCounts:
    pending: int = 0
    sending: int = 0
    sent: int = 0
    failed: int = 0
    uncertain: int = 0

    @property
    def total(self) -> int:
        return self.pending + self.sending + self.sent + self.failed + self.uncertain


def ledger_counts(campaign: Campaign) -> LedgerCounts:
    rows = Delivery.objects.filter(campaign=campaign).values("state").annotate(n=Count("pk"))
    return LedgerCounts(**{row["state"]: row["n"] for row in rows})


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
    rendered = campaign_render(campaign=campaign)
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
        rows = (
            Delivery(campaign_id=campaign.pk, subscriber_id=pk, email=email, updated_at=now)
            for pk, email in recipients.values_list("pk", "email").iterator(chunk_size=2000)
        )
        Delivery.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
        written = Delivery.objects.filter(campaign=campaign).count()
        campaign_transition(
            campaign=campaign, to_status=S.SEND_REQUESTED, actor=worker,
            reason=f"Ledger written: {written} recipients; sending over SMTP.",
            fields={
                "provider": "local",
                "send_requested_at": now,
                "sent_subject": rendered.subject,
                "sent_preheader": rendered.preheader,
                "sent_html": rendered.html,
                "sent_text": rendered.text,
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
    """Same URL as pipeline.subscriber_tokens.unsubscribe_url (tested), built faster."""
    before, after = _unsubscribe_url_parts()
    return before + make_token(UNSUBSCRIBE, subscriber_id=subscriber_id, email=email) + after


def _message(rendered: RenderedEmail, delivery: Delivery, message_id: str,
             connection) -> EmailMultiAlternatives:
    link = unsubscribe_link(subscriber_id=delivery.subscriber_id, email=delivery.email)
    html_part, text_part = personalize(rendered, unsubscribe_url=link)
    headers = {
        "Message-ID": message_id,
        # As pipeline.subscriber_tokens.list_unsubscribe_headers (RFC 8058 one-click).
        "List-Unsubscribe": f"<{link}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    if rendered.preheader:
        headers["X-Preheader"] = rendered.preheader[:200]
    message = EmailMultiAlternatives(
        subject=rendered.subject, body=text_part, from_email=settings.DEFAULT_FROM_EMAIL,
        to=[delivery.email], headers=headers, connection=connection,
    )
    message.attach_alternative(html_part, "text/html")
    return message


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
    rendered = RenderedEmail(
        subject=campaign.sent_subject, preheader=campaign.sent_preheader,
        html=campaign.sent_html, text=campaign.sent_text,
    )
    domain = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].rstrip(">")
    while True:
        if not campaign_renew_lease(campaign=campaign, worker=worker):
            logger.warning("campaign %s: lease lost to another worker; stopping", campaign.pk)
            return S.SEND_REQUESTED
        expiry = campaign_expiry(campaign=campaign, at=timezone.now(), include_lateness=False)
        if expiry:
            return _stop_expired(campaign, worker, expiry.reason)
        batch = list(
            Delivery.objects.filter(campaign=campaign, state=D.PENDING).order_by("pk")
            .only("pk", "subscriber_id", "email")[: batch_size()]
        )
        if not batch:
            break
        trouble = _send_batch(rendered, batch, domain)
        if trouble:
            campaign_release(campaign=campaign, worker=worker, reason=trouble)
            return campaign.status
    counts = ledger_counts(campaign)
    campaign_transition(
        campaign=campaign, to_status=S.SENT, actor=worker,
        reason=f"Delivered {counts.sent}; failed {counts.failed}; uncertain {counts.uncertain}.",
        fields={"sent_at": timezone.now(), "claimed_until": None, "last_error": ""},
    )
    return S.SENT


def ledger_chunk() -> int:
    return getattr(settings, "CAMPAIGN_LEDGER_CHUNK", 20)


def _send_batch(rendered: RenderedEmail, batch: list[Delivery], domain: str) -> str | None:
    """Send one batch over one SMTP connection; returns a reason to stop, or None.

    The ledger is written in small chunks: a chunk's rows are committed ``sending`` (each with
    its Message-ID) before the first of them goes to SMTP, and ``sent`` right after the chunk.
    One commit costs a disk flush (milliseconds); a commit per message would cap a worker far
    below the SMTP server's pace. The price: a SIGKILL leaves at most one chunk uncertain.
    """
    connection = get_connection(fail_silently=False)
    try:
        connection.open()
    except _CONNECTION_TROUBLE as error:
        return f"SMTP unavailable: {error}"
    try:
        size = ledger_chunk()
        for offset in range(0, len(batch), size):
            trouble = _send_chunk(rendered, batch[offset: offset + size], domain, connection)
            if trouble:
                return trouble
    finally:
        with contextlib.suppress(*_CONNECTION_TROUBLE):
            connection.close()
    return None


def _send_chunk(rendered, chunk: list[Delivery], domain: str, connection) -> str | None:
    now = timezone.now()
    ids = {delivery.pk: make_msgid(domain=domain) for delivery in chunk}
    with transaction.atomic():
        taken = set(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(pk__in=ids, state=D.PENDING).values_list("pk", flat=True)
        )
        Delivery.objects.bulk_update(
            [Delivery(pk=pk, state=D.SENDING, message_id=ids[pk], updated_at=now)
             for pk in taken],
            ["state", "message_id", "updated_at"],
        )
    outcomes: dict[str, list[int]] = {D.SENT: [], D.FAILED: [], D.PENDING: []}
    errors: dict[int, str] = {}
    trouble = None
    for delivery in chunk:
        if delivery.pk not in taken:
            continue  # another worker got to it (it held the lease before us)
        if trouble:
            outcomes[D.PENDING].append(delivery.pk)  # never tried: back in the queue
            continue
        message = _message(rendered, delivery, ids[delivery.pk], connection)
        try:
            message.send()
        except _RECIPIENT_REFUSED as error:
            outcomes[D.FAILED].append(delivery.pk)
            errors[delivery.pk] = f"Refused: {error}"
            continue
        except smtplib.SMTPResponseException as error:
            if error.smtp_code >= 500:
                outcomes[D.FAILED].append(delivery.pk)
                errors[delivery.pk] = f"SMTP {error.smtp_code}: {error.smtp_error!r}"
                continue
            outcomes[D.PENDING].append(delivery.pk)  # 4xx: refused for now; try later
            trouble = f"SMTP {error.smtp_code} (temporary): {error.smtp_error!r}"
            continue
        except _CONNECTION_TROUBLE as error:
            _finish([delivery.pk], D.UNCERTAIN, f"Connection lost while sending: {error}")
            trouble = f"SMTP connection lost: {error}"
            continue
        outcomes[D.SENT].append(delivery.pk)
    with transaction.atomic():
        _finish(outcomes[D.SENT], D.SENT, "")
        _finish(outcomes[D.PENDING], D.PENDING, "")
        for pk in outcomes[D.FAILED]:
            _finish([pk], D.FAILED, errors[pk])
    return trouble


def _finish(pks: list[int], state: str, error: str) -> None:
    if not pks:
        return
    Delivery.objects.filter(pk__in=pks, state=D.SENDING).update(
        state=state, error=error, updated_at=timezone.now()
    )


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
