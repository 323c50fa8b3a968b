"""Point the Mailchimp provider at the emulator and fill its audience."""

from pipeline.audience.models import MailchimpSeriesInterest


def use_emulator(settings, running) -> None:
    settings.MAILCHIMP = running.settings()
    settings.EMAIL_PROVIDER = "mailchimp"
    settings.MAILCHIMP_TIMEOUT = 5


def add_members(running, emails, *, interests=None) -> None:
    state = running.emulator.state
    for email in emails:
        body = {"email_address": email, "status": "subscribed"}
        if interests:
            body["interests"] = {interest: True for interest in interests}
        state.add_member(running.list_id, body)


def map_series_to_interest(running, series, *, category_id=None) -> MailchimpSeriesInterest:
    state = running.emulator.state
    if category_id is None:
        category_id = state.add_category(running.list_id, {"title": "Series",
                                                           "type": "checkboxes"})["id"]
    interest = state.add_interest(running.list_id, category_id, {"name": series.title})
    return MailchimpSeriesInterest.objects.create(
        series=series, category_id=category_id, interest_id=interest["id"],
        interest_name=series.title,
    )


def real_sends(running, provider_campaign_id=None) -> list[dict]:
    return [s for s in running.control.sends(campaign_id=provider_campaign_id)
            if s["kind"] != "test" and not s["canceled"]]
