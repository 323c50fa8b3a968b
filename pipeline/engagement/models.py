"""The links of campaigns that count clicks, and what readers did with them.

A tracked link in an email is ``/r/<link id>/<reader token>``: the redirect only ever goes to a
``CampaignLink`` row of the campaign the reader's signed token names, never to a URL the request
carries, so it cannot be used as an open redirect.
"""

from django.db import models

from pipeline.campaigns.models import Campaign


class CampaignLink(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="links")
    url = models.CharField(max_length=2000)
    position = models.PositiveIntegerField(help_text="Order of first appearance in the email.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["campaign", "position"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "url"], name="link_once_per_campaign"),
        ]

    def __str__(self):
        return self.url


class LinkClick(models.Model):
    """One row per link and reader; ``count`` counts every click."""

    link = models.ForeignKey(CampaignLink, on_delete=models.CASCADE, related_name="clicks")
    subscriber = models.ForeignKey("subscribers.Subscriber", on_delete=models.CASCADE,
                                   related_name="link_clicks")
    count = models.PositiveIntegerField(default=1)
    first_at = models.DateTimeField()
    last_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["link", "subscriber"], name="click_once_per_reader"),
        ]

    def __str__(self):
        return f"{self.link}: {self.count}"


class CampaignOpen(models.Model):
    """Opens per campaign and reader (only when CAMPAIGN_OPEN_TRACKING is on)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="opens")
    subscriber = models.ForeignKey("subscribers.Subscriber", on_delete=models.CASCADE,
                                   related_name="campaign_opens")
    count = models.PositiveIntegerField(default=1)
    first_at = models.DateTimeField()
    last_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "subscriber"],
                                    name="open_once_per_reader"),
        ]

    def __str__(self):
        return f"{self.campaign_id}/{self.subscriber_id}: {self.count}"
