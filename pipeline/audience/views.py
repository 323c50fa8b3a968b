"""The HTTP side of Mailchimp list webhooks: secret, signature, body size; then the service."""

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.utils.crypto import constant_time_compare
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from pipeline.audience.services.webhooks import (
    MalformedWebhook,
    mailchimp_webhook_receive,
    signature_is_valid,
)

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Mailchimp-Signature"


def _answer(status: int, **body) -> JsonResponse:
    return JsonResponse(body, status=status)


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def mailchimp_list_webhook(request: HttpRequest, secret: str):
    """Mailchimp checks the URL with a GET before saving it, then POSTs form-encoded events."""
    expected = settings.MAILCHIMP.get("WEBHOOK_SECRET")
    if not expected or not constant_time_compare(secret, expected):
        return _answer(403, detail="Unknown webhook.")
    if request.method in ("GET", "HEAD"):
        return _answer(200, detail="Webhook ready.")
    try:
        body = request.body
    except RequestDataTooBig:
        return _answer(400, detail="The body is too large.")
    signing_key = settings.MAILCHIMP.get("WEBHOOK_SIGNING_KEY")
    if signing_key and not signature_is_valid(
        body=body, signature=request.headers.get(SIGNATURE_HEADER), key=signing_key
    ):
        logger.warning("Mailchimp webhook with a missing or wrong signature refused")
        return _answer(403, detail="Bad signature.")
    try:
        # Without a signing key the URL's secret is the only proof: the service then lets the
        # event take away, never grant (pipeline/audience/services/webhooks.py).
        result = mailchimp_webhook_receive(body=body, signed=bool(signing_key))
    except MalformedWebhook as error:
        return _answer(400, detail=str(error))
    return _answer(
        200,
        outcome="duplicate" if result.duplicate else result.event.outcome,
        event=result.event.pk,
    )
