"""Clicks per link (and opens, where counted) in the campaign report, through the
``campaign_report_extras`` hook that the campaign page calls (campaigns knows no engagement)."""

from django.template.loader import render_to_string
from wagtail import hooks

from pipeline.engagement.services.links import campaign_click_report, campaign_open_report


@hooks.register("campaign_report_extras")
def clicks_report(campaign):
    if not campaign.track_clicks and not campaign.links.exists():
        return ""
    return render_to_string("engagement/admin/clicks.html", {
        "campaign": campaign,
        "links": campaign_click_report(campaign=campaign),
        "opens": campaign_open_report(campaign=campaign),
    })
