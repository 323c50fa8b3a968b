"""What the sender approved: the rendered copy, frozen when the campaign is scheduled.

Scheduling (by someone with the send permission, or by publishing for a series that announces
itself) renders the email and stores it in the campaign's ``sent_*`` fields; the worker delivers
that stored copy, never a fresh rendering. Content that changes afterwards (an offer editor
changes the code, the percentage, the terms, the landing page or the end; a part is edited)
cannot reach the list unapproved: a campaign whose fresh rendering differs from its approved copy
is not sent but goes back to draft, with the reason on its log, until someone with the send
permission schedules it again. This is checked when the offer changes and again when a worker
claims the campaign. A campaign back in draft has no approved copy (services/state.py).
"""

from pipeline.campaigns.models import Campaign, CampaignStatus
from pipeline.campaigns.services.rendering import campaign_render
from pipeline.campaigns.services.state import campaign_transition
from pipeline.campaigns.services.web_version import web_version_url
from pipeline.providers.message import RenderedEmail

S = CampaignStatus


def copy_fields(rendered: RenderedEmail) -> dict:
    """The campaign fields that hold an approved copy."""
    return {
        "sent_subject": rendered.subject,
        "sent_preheader": rendered.preheader,
        "sent_html": rendered.html,
        "sent_text": rendered.text,
    }


def approved_copy(campaign: Campaign) -> RenderedEmail | None:
    """The copy frozen when the campaign was scheduled, or None (a draft)."""
    if not campaign.sent_html:
        return None
    return RenderedEmail(campaign.sent_subject, campaign.sent_preheader, campaign.sent_html,
                         campaign.sent_text)


def campaign_copy(campaign: Campaign) -> RenderedEmail:
    """What would go out now: the approved copy once scheduled, else the draft's rendering."""
    return approved_copy(campaign) or campaign_render(campaign=campaign)


def campaign_withdraw_if_changed(*, campaign: Campaign, actor: str, why: str) -> bool:
    """Back to draft when a scheduled campaign's content no longer renders as approved.

    Returns True when it was withdrawn. A scheduled campaign with no stored copy (scheduled before
    copies were frozen) is left as it is; the claim freezes one (services/claims.py).
    """
    campaign.refresh_from_db()
    approved = approved_copy(campaign)
    if campaign.status != S.SCHEDULED or approved is None:
        return False
    # A copy approved before web versions existed has no "view in browser" link: it is compared
    # (and goes out) without one, rather than every such campaign falling back to draft.
    with_link = web_version_url(campaign) in approved.html
    if campaign_render(campaign=campaign, web_link=with_link) == approved:
        return False
    return campaign_transition(
        campaign=campaign, to_status=S.DRAFT, actor=actor, from_statuses=(S.SCHEDULED,),
        reason=f"Back to draft, not sent: {why}, so it no longer reads as it did when it was "
        "scheduled. Check the preview; someone with the send permission must schedule it again.",
    )
