"""The Mailchimp path, exactly once: Mailchimp has no idempotency key, so the order is ours.

1. create the campaign at Mailchimp and persist its id at once (its own commit);
2. put the content (the copy approved when it was scheduled); status CREATED;
3. expiry guard; commit SEND_REQUESTED; only then call actions/send;
4. on any doubt (timeout, dropped answer, 5xx, a crash, a redelivered task) read the campaign's
   status at Mailchimp and trust it: ``save``/``paused`` means not sent (try again, guarded),
   ``schedule``/``sending``/``sent`` means done. Never resend blindly.
"""

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from pipeline.campaigns.models import Campaign, CampaignStatus
from pipeline.campaigns.services.approval import approved_copy
from pipeline.campaigns.services.audience import (
    AudienceError,
    AudienceRetry,
    audience_description,
    audience_left_out_emails,
    audience_mailchimp_segment,
    audience_without_segment,
)
from pipeline.campaigns.services.checks import campaign_check
from pipeline.campaigns.services.claims import campaign_release
from pipeline.campaigns.services.delivery import CampaignDelivery
from pipeline.campaigns.services.state import campaign_log, campaign_transition
from pipeline.campaigns.services.timing import campaign_expiry
from pipeline.providers.base import ProviderError
from pipeline.providers.mailchimp import MailchimpProvider, MailchimpProviderError
from pipeline.providers.mailchimp_client import MailchimpClient
from pipeline.providers.mailchimp_errors import MailchimpError
from pipeline.providers.mailchimp_lists import SEGMENT_MEMBERS_LIMIT
from pipeline.providers.message import RenderedEmail

logger = logging.getLogger(__name__)
S = CampaignStatus
DONE_AT_MAILCHIMP = {"schedule", "sending", "sent"}
NOT_SENT_AT_MAILCHIMP = {"save", "paused"}


def _fail(campaign: Campaign, worker: str, reason: str) -> str:
    campaign_transition(
        campaign=campaign, to_status=S.FAILED, reason=reason, actor=worker,
        fields={"claimed_until": None, "last_error": reason[:2000]},
    )
    return S.FAILED


def mailchimp_deliver(*, campaign: Campaign, provider: MailchimpProvider, worker: str) -> str:
    """Take a claimed campaign as far as it goes now; returns the status it ends in."""
    if campaign.status == S.CLAIMED:
        status = _create(campaign, provider, worker)
        if status != S.CREATED:
            return status
    if campaign.status == S.CREATED:
        return _request_send(campaign, provider, worker)
    if campaign.status == S.SEND_REQUESTED:
        return _reconcile(campaign, provider, worker)
    return campaign.status


def _client_or_none(provider: MailchimpProvider) -> MailchimpClient | None:
    """The provider's client, to create a new series' interest on the spot; None when it cannot
    be built (the campaign's own calls then fail with the reason)."""
    try:
        return provider.client
    except MailchimpError:
        return None


def _create(campaign: Campaign, provider: MailchimpProvider, worker: str) -> str:
    now = timezone.now()
    rendered = approved_copy(campaign)  # frozen when it was scheduled (checked at the claim)
    problems = campaign_check(
        campaign=campaign, rendered=rendered, send_time=now, audience_size=None
    )
    if problems:
        return _fail(campaign, worker, "Blocked by the pre-send checks: " + " ".join(problems))
    try:
        segment = audience_mailchimp_segment(campaign, client=_client_or_none(provider))
    except AudienceRetry as error:
        campaign_release(campaign=campaign, worker=worker, reason=str(error))
        return campaign.status
    except AudienceError as error:
        return _fail(campaign, worker, str(error))
    try:
        if not campaign.provider_campaign_id:
            segment = _leave_out(campaign, provider, segment)
            provider_id = provider.campaign_create(
                title=f"partwork #{campaign.pk}: {campaign.name}"[:100],
                subject=rendered.subject, preheader=rendered.preheader, segment_opts=segment,
            )
            # Persist the id before anything else can fail: from here on we can always ask
            # Mailchimp about this campaign instead of guessing.
            Campaign.objects.filter(pk=campaign.pk).update(
                provider=provider.name, provider_campaign_id=provider_id
            )
            campaign.refresh_from_db()
        provider.campaign_set_content(
            campaign.provider_campaign_id, html=rendered.html, text=rendered.text
        )
    except ProviderError as error:
        if error.retryable:
            campaign_release(campaign=campaign, worker=worker, reason=str(error))
            return campaign.status
        return _fail(campaign, worker, f"Mailchimp refused the campaign: {error}")
    campaign_transition(
        campaign=campaign, to_status=S.CREATED, actor=worker,
        reason=f"Created at Mailchimp as {campaign.provider_campaign_id}.",
        fields={"sent_audience": audience_description(campaign)},
    )
    return S.CREATED


def _leave_out(campaign: Campaign, provider: MailchimpProvider, segment: dict | None
               ) -> dict | None:
    """An announcement leaves out readers catching up on its series: they go into a static
    segment (its id persisted at once; adding members is safe to repeat) that the campaign's
    conditions exclude. A snapshot at creation: a reader starting catch-up after it joined at
    this part, so it is not in their queue and the announcement is theirs."""
    emails = audience_left_out_emails(campaign)
    if segment is None or not (emails or campaign.provider_exclusion_segment_id):
        return segment
    if not campaign.provider_exclusion_segment_id:
        segment_id = provider.segment_create_static(
            name=f"partwork #{campaign.pk}: left out of the announcement (catching up)")
        Campaign.objects.filter(pk=campaign.pk).update(provider_exclusion_segment_id=segment_id)
        campaign.refresh_from_db()
    for start in range(0, len(emails), SEGMENT_MEMBERS_LIMIT):
        provider.segment_add(campaign.provider_exclusion_segment_id,
                             emails=emails[start:start + SEGMENT_MEMBERS_LIMIT])
    return audience_without_segment(segment, campaign.provider_exclusion_segment_id)


def _request_send(campaign: Campaign, provider: MailchimpProvider, worker: str) -> str:
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if locked.status != S.CREATED or locked.claimed_by != worker:
            campaign.refresh_from_db()
            return campaign.status
        now = timezone.now()
        # The second expiry guard, right before the provider call.
        expiry = campaign_expiry(campaign=locked, at=now)
        if expiry:
            campaign_transition(
                campaign=campaign, to_status=S.EXPIRED, reason=expiry.reason, actor=worker,
                fields={"claimed_until": None},
            )
            return S.EXPIRED
        campaign_transition(
            campaign=campaign, to_status=S.SEND_REQUESTED, actor=worker,
            reason="Calling Mailchimp actions/send.", fields={"send_requested_at": now},
        )
    # Committed: whatever happens next, a later look reads Mailchimp's status first.
    try:
        provider.campaign_send(campaign.provider_campaign_id)
    except ProviderError as error:
        campaign_log(campaign=campaign, actor=worker,
                     reason=f"actions/send did not answer cleanly ({error}); reading the status.")
        return _reconcile(campaign, provider, worker, send_error=error)
    return _reconcile(campaign, provider, worker, answered=True)


def _reconcile(
    campaign: Campaign,
    provider: MailchimpProvider,
    worker: str,
    *,
    answered: bool = False,
    send_error: ProviderError | None = None,
) -> str:
    try:
        status, emails_sent = provider.campaign_status(campaign.provider_campaign_id)
    except ProviderError as error:
        if answered:
            # Mailchimp accepted the send (204); only the count is unknown.
            return _mark_sent(campaign, worker, "actions/send accepted (204).", None)
        campaign_release(
            campaign=campaign, worker=worker,
            reason=f"Could not read the campaign's status at Mailchimp: {error}",
        )
        return campaign.status
    if status in DONE_AT_MAILCHIMP:
        how = "actions/send accepted" if answered else "after an unclear answer"
        return _mark_sent(
            campaign, worker, f"Mailchimp reports status {status!r} ({how}).", emails_sent
        )
    if status in NOT_SENT_AT_MAILCHIMP:
        # Not sent. Hand it back to "created" so the next try runs the expiry guard again.
        campaign_transition(
            campaign=campaign, to_status=S.CREATED, actor=worker,
            reason=f"Mailchimp still has it as {status!r}: the send was not applied.",
        )
        not_retryable = (
            isinstance(send_error, MailchimpProviderError) and not send_error.retryable
        )
        if not_retryable:
            return _fail(campaign, worker, f"Mailchimp refused to send: {send_error}")
        if campaign.attempts >= settings.CAMPAIGN_MAX_ATTEMPTS:
            return _fail(
                campaign, worker,
                f"Gave up after {campaign.attempts} attempts; last error: "
                f"{send_error or campaign.last_error}",
            )
        campaign_release(
            campaign=campaign, worker=worker, reason=str(send_error or "send not applied")
        )
        return campaign.status
    return _fail(campaign, worker, f"Mailchimp reports status {status!r}; not sending again.")


def _mark_sent(campaign: Campaign, worker: str, reason: str, emails_sent: int | None) -> str:
    campaign_transition(
        campaign=campaign, to_status=S.SENT, reason=reason, actor=worker,
        fields={
            "sent_at": timezone.now(),
            "recipient_count": emails_sent,
            "claimed_until": None,
            "last_error": "",
        },
    )
    return S.SENT


class MailchimpDelivery(CampaignDelivery):
    """One Mailchimp campaign to the audience (or a segment of it), exactly once."""

    name = "mailchimp"

    def __init__(self, provider: MailchimpProvider | None = None):
        self.provider = provider or MailchimpProvider()

    def deliver(self, *, campaign: Campaign, worker: str) -> str:
        return mailchimp_deliver(campaign=campaign, provider=self.provider, worker=worker)

    def audience_size(self, campaign: Campaign) -> int | None:
        return None  # Mailchimp counts its own audience (and checks it when sending)

    def send_test(self, *, campaign: Campaign, rendered: RenderedEmail, emails: list[str]) -> None:
        # A throwaway draft at Mailchimp, so the real campaign's id and status stay untouched.
        draft_id = self.provider.campaign_create(
            title=f"partwork #{campaign.pk} TEST", subject=f"[Test] {rendered.subject}",
            preheader=rendered.preheader, segment_opts=None,
        )
        self.provider.campaign_set_content(draft_id, html=rendered.html, text=rendered.text)
        self.provider.campaign_send_test(draft_id, emails=emails)

    def report(self, campaign: Campaign) -> dict:
        if not campaign.provider_campaign_id or campaign.status != S.SENT:
            return {"source": self.name, "available": False,
                    "note": "Mailchimp reports exist once the campaign is sent."}
        try:
            report = self.provider.campaign_report(campaign.provider_campaign_id)
        except ProviderError as error:
            return {"source": self.name, "available": False, "note": str(error)}
        return {"source": self.name, "available": True, **report}
