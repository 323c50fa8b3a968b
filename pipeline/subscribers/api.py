"""The subscriber endpoints of the public API, mounted on the content API at /api/subscribers.

Links in emails land here, so confirm and unsubscribe answer a browser's GET with a small page and
a button, and change state only on POST: mail scanners that fetch every link change nothing.
POST answers JSON, or the same small page when the client asks for HTML (the button's form).
No answer here may be stored by a cache or leak its URL in a Referer: each carries
``Cache-Control: no-store`` and ``Referrer-Policy: no-referrer``.

Rate limits (Redis, rate_limits.py) count per client bucket (clients.py: the address behind the
trusted proxies, an IPv6 /64 as one): subscribes, and requests with a link that is not valid.
A valid link is counted per link, never per client, so a noisy neighbour behind the same address
cannot hold back anyone's confirm or unsubscribe, nor a mailbox provider's one-click unsubscribes.
Subscribes of one address count per address *and* client, so nobody locks the owner out of their
own address; the confirmation emails one address receives are capped by the worker that sends
them, out of the request. A subscribe answers 202 with the same words for every address.
"""

import logging

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.cache import add_never_cache_headers
from ninja import Router, Schema, Status
from pydantic import Field, field_validator

from cms.models import SeriesPage
from pipeline.subscribers import services as service
from pipeline.subscribers import tokens
from pipeline.subscribers.clients import client_bucket, client_ip
from pipeline.subscribers.email_address import InvalidEmail, normalize_email
from pipeline.subscribers.models import Subscriber, SubscriberStatus
from pipeline.subscribers.personal_data import subscriber_data_for_link
from pipeline.subscribers.rate_limits import RateLimited, hit
from pipeline.subscribers.signals import confirmation_offers

logger = logging.getLogger(__name__)

router = Router(tags=["subscribers"])


def _private(view):
    """Every answer of this router: never cached, never named in a Referer (tokens in URLs,
    addresses in bodies)."""

    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        add_never_cache_headers(response)
        response["Referrer-Policy"] = "no-referrer"
        return response

    return wrapped


router.add_decorator(_private, mode="view")

ACCEPTED = (
    "Thank you. If the address can receive email, a confirmation link is on its way; "
    "nothing happens until it is clicked."
)

NO_CONSENT = (
    "Consent is required: set consent to true once the person has agreed to the consent text."
)


def _plain_slugs(value: list[str]) -> list[str]:
    if any("\x00" in slug or len(slug) > 255 for slug in value):
        raise ValueError("series slugs must be at most 255 characters, without NUL")
    return value


class SubscribeIn(Schema):
    email: str = Field(..., description="The address; normalized (trimmed, lower-case, IDNA).")
    series: list[str] = Field(default_factory=list, description="Slugs of the series to follow.")
    consent: bool = Field(False, description="True when the person ticked the consent box.")
    consent_text: str = Field("", description="The exact wording the person agreed to.")
    form_id: str = Field("", description="Which form on which front end.")
    website: str = Field(
        "", description="Honeypot: render it hidden; people leave it empty, bots fill it."
    )

    @field_validator("email", "consent_text", "form_id", "website")
    @classmethod
    def _no_nul(cls, value: str) -> str:
        if "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value

    _slugs_are_plain = field_validator("series")(_plain_slugs)


class PreferencesIn(Schema):
    series: list[str] = Field(..., description="Slugs of the series to follow (replaces the set).")

    _slugs_are_plain = field_validator("series")(_plain_slugs)


class MessageOut(Schema):
    detail: str


class InvalidRequestOut(Schema):
    detail: list[dict]


# Pages for people (links in emails): HTML, not JSON.
_HTML = {"text/html": {"schema": {"type": "string"}}}
HTML_PAGE = {
    "responses": {
        "200": {"description": "A page with a button that POSTs to the same URL.",
                "content": _HTML},
        "400": {"description": "The link is malformed, forged, expired or stale.",
                "content": _HTML},
        "429": {"description": "Too many requests (from this client, or with this link).",
                "content": {"application/json": {"schema": {
                    "type": "object", "properties": {"detail": {"type": "string"}}}}}},
    }
}


class SeriesChoice(Schema):
    slug: str
    title: str
    followed: bool


class PreferencesOut(Schema):
    email: str
    status: str
    series: list[SeriesChoice]


def _error(status: int, detail: str, **headers) -> JsonResponse:
    response = JsonResponse({"detail": detail}, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = str(value)
    return response


def _limited(error: RateLimited) -> JsonResponse:
    return _error(429, str(error), Retry_After=error.retry_after)


def _limit_client(request: HttpRequest, *extra_rules: str) -> None:
    bucket = client_bucket(client_ip(request))
    hit("ip", bucket)
    for name in extra_rules:
        hit(name, bucket)


def _read_link(request: HttpRequest, purpose: str, token: str) -> tokens.TokenClaims:
    """The link's claims, counted per link; a link that is not valid counts against the client
    (guessing costs the guesser, not the neighbours). Raises BadToken or RateLimited."""
    try:
        claims = tokens.read_token(purpose, token)
    except tokens.BadToken:
        _limit_client(request)
        raise
    hit("link", f"{purpose}:{claims.subscriber_id}")
    return claims


def _wants_html(request: HttpRequest) -> bool:
    accept = request.headers.get("Accept", "")
    return "text/html" in accept and "application/json" not in accept


def _page(heading: str, message: str, *, status: int = 200, action_url: str = "",
          action_label: str = "", one_click: bool = False, offers=(),
          preferences_url: str = "") -> HttpResponse:
    html = render_to_string(
        "subscribers/page.html",
        {
            "heading": heading,
            "message": message,
            "action_url": action_url,
            "action_label": action_label,
            "one_click": one_click,
            "offers": offers,
            "preferences_url": preferences_url,
        },
    )
    return HttpResponse(html, status=status)  # no-store and no-referrer: _private


def _answer(request, status: int, heading: str, detail: str) -> HttpResponse:
    if _wants_html(request):
        return _page(heading, detail, status=status)
    return _error(status, detail)


@router.post(
    "",
    response={202: MessageOut, 400: MessageOut, 422: InvalidRequestOut, 429: MessageOut},
    url_name="subscriber_subscribe",
    summary="Subscribe (double opt-in)",
)
def subscribe(request, payload: SubscribeIn):
    """Ask to join. Always 202 with the same message for a valid request, whatever the address's
    state and whether or not mail can be sent right now, so the endpoint does not tell who is
    subscribed: the confirmation email is sent by a worker after the request (retried through a
    mail outage). A filled honeypot also gets 202 and nothing is stored. The body must be sent as
    application/json (config/api.py), so no other site can make its visitors' browsers post it."""
    ip = client_ip(request)
    try:
        _limit_client(request, "subscribe-ip")
    except RateLimited as error:
        return _limited(error)
    if payload.website.strip():
        logger.info("subscribe honeypot filled from %s", ip)
        return Status(202, {"detail": ACCEPTED})
    if not payload.consent:
        return Status(400, {"detail": NO_CONSENT})
    try:
        address = normalize_email(payload.email)
        hit("subscribe-address", f"{address} {client_bucket(ip)}")
        service.subscriber_subscribe(
            email=address,
            series_slugs=payload.series,
            consent_text=payload.consent_text,
            form_id=payload.form_id,
            ip_address=ip,
            user_agent=request.headers.get("User-Agent", ""),
        )
    except RateLimited as error:
        return _limited(error)
    except (InvalidEmail, service.SubscriberError) as error:
        return Status(400, {"detail": str(error)})
    return Status(202, {"detail": ACCEPTED})


@router.get("/confirm/{token}", url_name="subscriber_confirm", summary="Confirmation page",
            openapi_extra=HTML_PAGE)
def confirm_page(request, token: str):
    """A page with a Confirm button. Opening the link changes nothing by itself."""
    try:
        _read_link(request, tokens.CONFIRM, token)
    except RateLimited as error:
        return _limited(error)
    except tokens.BadToken as error:
        return _page("Link not valid", str(error), status=400)
    return _page(
        "Confirm your subscription",
        "Press the button to confirm that you want to receive these emails.",
        action_url=request.path,
        action_label="Confirm subscription",
    )


@router.post("/confirm/{token}", url_name="subscriber_confirm_post",
             response={200: MessageOut, 400: MessageOut, 409: MessageOut, 429: MessageOut},
             summary="Confirm (double opt-in)")
def confirm(request, token: str):
    try:
        claims = _read_link(request, tokens.CONFIRM, token)
        if claims.consent_id is None:
            raise tokens.BadToken("This link is not valid.")
        subscriber = service.subscriber_confirm(
            subscriber_id=claims.subscriber_id,
            address_digest=claims.address_digest,
            consent_id=int(claims.consent_id),
            ip_address=client_ip(request),
            user_agent=request.headers.get("User-Agent", ""),
        )
    except RateLimited as error:
        return _limited(error)
    except (tokens.BadToken, service.LinkNoLongerValid) as error:
        return _answer(request, 400, "Link not valid", str(error))
    except service.AddressBounced as error:
        return _answer(request, 409, "Cannot subscribe this address", str(error))
    if _wants_html(request):
        # The reader's next steps: the preference page, and what upper apps offer (catch-up).
        series_ids = list(subscriber.series.values_list("pk", flat=True))
        offers = [offer for _receiver, answer in confirmation_offers.send(
            sender=Subscriber, subscriber_id=subscriber.pk, series_ids=series_ids)
            for offer in (answer or [])]
        return _page("Subscribed", "Your subscription is confirmed. Thank you.", offers=offers,
                     preferences_url=service.subscriber_preferences_page_url(subscriber))
    return _error(200, "Your subscription is confirmed. Thank you.")


def _link_subscriber(request: HttpRequest, purpose: str, token: str):
    claims = _read_link(request, purpose, token)
    return service.subscriber_for_link(
        subscriber_id=claims.subscriber_id, address_digest=claims.address_digest
    )


def _preferences(subscriber) -> dict:
    followed = set(subscriber.series.values_list("pk", flat=True))
    live = SeriesPage.objects.live().public().order_by("title")
    return {
        "email": subscriber.email,
        "status": subscriber.status,
        "series": [
            {"slug": s.slug, "title": s.title, "followed": s.pk in followed} for s in live
        ],
    }


@router.get("/preferences/{token}", url_name="subscriber_preferences",
            response={200: PreferencesOut, 400: MessageOut, 429: MessageOut},
            summary="Read preferences")
def read_preferences(request, token: str):
    try:
        subscriber = _link_subscriber(request, tokens.PREFERENCES, token)
    except RateLimited as error:
        return _limited(error)
    except (tokens.BadToken, service.LinkNoLongerValid) as error:
        return Status(400, {"detail": str(error)})
    return Status(200, _preferences(subscriber))


@router.put("/preferences/{token}", url_name="subscriber_preferences_put",
            response={200: PreferencesOut, 400: MessageOut, 422: InvalidRequestOut,
                      429: MessageOut},
            summary="Choose series")
def update_preferences(request, token: str, payload: PreferencesIn):
    try:
        claims = _read_link(request, tokens.PREFERENCES, token)
        subscriber = service.subscriber_update_preferences(
            subscriber_id=claims.subscriber_id,
            address_digest=claims.address_digest,
            series_slugs=payload.series,
        )
    except RateLimited as error:
        return _limited(error)
    except (tokens.BadToken, service.SubscriberError) as error:
        return Status(400, {"detail": str(error)})
    except Subscriber.DoesNotExist:
        return Status(400, {"detail": "This link is not valid."})
    return Status(200, _preferences(subscriber))


@router.get("/unsubscribe/{token}", url_name="subscriber_unsubscribe", openapi_extra=HTML_PAGE,
            summary="Unsubscribe page")
def unsubscribe_page(request, token: str):
    """A page with an Unsubscribe button. Opening the link changes nothing by itself."""
    try:
        claims = _read_link(request, tokens.UNSUBSCRIBE, token)
    except RateLimited as error:
        return _limited(error)
    except tokens.BadToken as error:
        return _page("Link not valid", str(error), status=400)
    subscriber = Subscriber.objects.filter(pk=claims.subscriber_id).first()
    if subscriber is None:
        return _page("Link not valid", "This link is not valid.", status=400)
    # Name the address only to the mailbox the link was sent to (it may have changed since).
    who = (subscriber.email if tokens.address_matches(subscriber.email, claims.address_digest)
           else "this subscription")
    if subscriber.status in (SubscriberStatus.UNSUBSCRIBED, SubscriberStatus.CLEANED):
        return _page("Unsubscribed", f"{who} receives no more emails from us.")
    return _page(
        "Unsubscribe",
        f"Press the button to stop all emails to {who}.",
        action_url=request.path,
        action_label="Unsubscribe",
        one_click=True,
    )


@router.post("/unsubscribe/{token}", url_name="subscriber_unsubscribe_post",
             response={200: MessageOut, 400: MessageOut, 429: MessageOut},
             summary="One-click unsubscribe (RFC 8058)")
def unsubscribe(request, token: str):
    """RFC 8058: a POST whose form body is ``List-Unsubscribe=One-Click`` unsubscribes at once;
    no cookie, no CSRF token, no further step."""
    if request.POST.get("List-Unsubscribe") != "One-Click":
        return _answer(request, 400, "Not unsubscribed",
                       "Send the form body List-Unsubscribe=One-Click to unsubscribe.")
    try:
        claims = _read_link(request, tokens.UNSUBSCRIBE, token)
        # Not bound to the address: an unsubscribe link keeps working after a change of address.
        service.subscriber_unsubscribe(
            subscriber_id=claims.subscriber_id,
            ip_address=client_ip(request),
            user_agent=request.headers.get("User-Agent", ""),
            note="One-click unsubscribe",
        )
    except RateLimited as error:
        return _limited(error)
    except (tokens.BadToken, service.LinkNoLongerValid) as error:
        return _answer(request, 400, "Link not valid", str(error))
    except Subscriber.DoesNotExist:
        return _answer(request, 400, "Link not valid", "This link is not valid.")
    return _answer(request, 200, "Unsubscribed", "You are unsubscribed and will get no more "
                   "emails from us.")


@router.get("/data/{token}", url_name="subscriber_data_export",
            response={200: dict, 404: MessageOut, 429: MessageOut},
            summary="A subscriber's own data (JSON)")
def data_export(request, token: str):
    """Everything we hold about the subscriber the signed link names (profile, consent history,
    deliveries and what other apps add), as a JSON download. The link comes from the preference
    page and expires after SUBSCRIBER_DATA_EXPORT_MAX_AGE; a link that is malformed, forged,
    expired or made for an address that has since changed or been erased answers 404."""
    try:
        claims = _read_link(request, tokens.DATA_EXPORT, token)
        data = subscriber_data_for_link(subscriber_id=claims.subscriber_id,
                                        address_digest=claims.address_digest)
    except RateLimited as error:
        return _limited(error)
    except (tokens.BadToken, service.LinkNoLongerValid):
        return _error(404, "Not found.")
    response = JsonResponse(data, json_dumps_params={"indent": 2})
    response["Content-Disposition"] = 'attachment; filename="my-data.json"'
    return response
