"""The HTTP side of the providers' webhooks: authentication first, then the service."""

import base64
import binascii
import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.utils.crypto import constant_time_compare
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from pipeline.deliverability.services.postmark import PostmarkMalformed, postmark_receive
from pipeline.deliverability.services.sns import SnsRefused, SnsReplay, sns_receive

logger = logging.getLogger(__name__)


def _answer(status: int, **body) -> JsonResponse:
    return JsonResponse(body, status=status)


def _body(request: HttpRequest) -> bytes | None:
    try:
        return request.body
    except RequestDataTooBig:
        return None


@csrf_exempt
@require_POST
def ses_webhook(request: HttpRequest):
    """Amazon SNS (SES notifications); every check is in the service (services/sns.py)."""
    if not settings.SES_SNS_TOPIC_ARNS:
        return _answer(404, detail="Not configured.")
    body = _body(request)
    if body is None:
        return _answer(400, detail="The body is too large.")
    try:
        outcome = sns_receive(body=body)
    except SnsRefused as refused:
        logger.warning("SNS message refused: %s", refused)
        return _answer(409 if isinstance(refused, SnsReplay) else 403, detail=str(refused))
    return _answer(200, outcome=outcome.kind, events=outcome.events)


def _basic_auth_matches(request: HttpRequest, expected: str) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return False
    try:
        given = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return constant_time_compare(given, expected)


@csrf_exempt
@require_POST
def postmark_webhook(request: HttpRequest):
    expected = settings.POSTMARK_WEBHOOK_AUTH
    if not expected:
        return _answer(404, detail="Not configured.")
    if not _basic_auth_matches(request, expected):
        response = _answer(401, detail="Authentication required.")
        response["WWW-Authenticate"] = 'Basic realm="postmark-webhook"'
        return response
    body = _body(request)
    if body is None:
        return _answer(400, detail="The body is too large.")
    try:
        outcome = postmark_receive(body=body)
    except PostmarkMalformed as error:
        return _answer(400, detail=str(error))
    return _answer(200, outcome=outcome.outcome)
