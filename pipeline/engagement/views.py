"""The counting redirect and the open pixel. Both answer 404 to anything that is not a token we
signed for a link of the token's own campaign: no URL is ever taken from the request."""

import base64

from django.conf import settings
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.views.decorators.http import require_safe

from pipeline.engagement.models import CampaignLink
from pipeline.engagement.services.links import click_record, open_record
from pipeline.engagement.services.tokens import read_reader_token

# The smallest transparent GIF (1x1).
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def _private(response):
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"  # the token stays out of the target's logs
    return response


@require_safe
def click(request, link_id: int, token: str):
    reader = read_reader_token(token)
    if reader is None:
        raise Http404("No such link.")
    link = CampaignLink.objects.filter(pk=link_id, campaign_id=reader.campaign_id).first()
    if link is None or not link.url.startswith(("https://", "http://")):
        raise Http404("No such link.")
    click_record(link=link, subscriber_id=reader.subscriber_id)
    return _private(HttpResponseRedirect(link.url))


@require_safe
def pixel(request, token: str):
    reader = read_reader_token(token)
    if reader is None or not settings.CAMPAIGN_OPEN_TRACKING:
        raise Http404("No such image.")
    open_record(campaign_id=reader.campaign_id, subscriber_id=reader.subscriber_id)
    return _private(HttpResponse(PIXEL, content_type="image/gif"))
