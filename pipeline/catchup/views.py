"""The reader's pages, server-rendered, reached from the links in emails (a signed preferences
token in the URL): the preference page (series to follow, catch-up per series, leave
everything), "stop emails about this series" and "send me the earlier parts".

GET only shows; every change is a POST (mail scanners fetch links). The token is the credential,
so the forms carry no CSRF cookie (another site cannot know a reader's token); like the API's
links, answers are never cached and send no Referer. Links count against the rate limits as the
API's do: a valid link per link, a link that is not valid per client.
"""

import contextlib
import zoneinfo

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views.decorators.csrf import csrf_exempt

from cms.models import SeriesPage
from pipeline.catchup.models import CatchupProgress, ProgressState
from pipeline.catchup.services.progress import (
    CatchupRefused,
    catchup_offers,
    catchup_start,
    catchup_stop,
)
from pipeline.subscribers import services as subscribers
from pipeline.subscribers import tokens
from pipeline.subscribers.clients import client_bucket, client_ip
from pipeline.subscribers.models import ConsentSource, Subscriber, SubscriberStatus
from pipeline.subscribers.personal_data import subscriber_data_export_url
from pipeline.subscribers.rate_limits import RateLimited, hit


def _private(view):
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        add_never_cache_headers(response)
        response["Referrer-Policy"] = "no-referrer"
        return response

    wrapped.__name__ = view.__name__
    return csrf_exempt(wrapped)


class _Refused(Exception):
    def __init__(self, status: int, heading: str, message: str):
        super().__init__(message)
        self.status, self.heading, self.message = status, heading, message


def _reader(request: HttpRequest, token: str) -> tuple[Subscriber, tokens.TokenClaims]:
    try:
        try:
            claims = tokens.read_token(tokens.PREFERENCES, token)
        except tokens.BadToken:
            hit("ip", client_bucket(client_ip(request)))
            raise
        hit("link", f"{tokens.PREFERENCES}:{claims.subscriber_id}")
        subscriber = subscribers.subscriber_for_link(
            subscriber_id=claims.subscriber_id, address_digest=claims.address_digest)
    except RateLimited as error:
        raise _Refused(429, "Too many requests", str(error)) from error
    except (tokens.BadToken, subscribers.LinkNoLongerValid) as error:
        raise _Refused(400, "Link not valid", str(error)) from error
    return subscriber, claims


def _message(request, heading: str, message: str, *, status: int = 200, **extra) -> HttpResponse:
    return render(request, "catchup/message.html",
                  {"heading": heading, "message": message, **extra}, status=status)


def _refused(request, refusal: _Refused) -> HttpResponse:
    response = _message(request, refusal.heading, refusal.message, status=refusal.status)
    if refusal.status == 429:
        response["Retry-After"] = "60"
    return response


def _who(request) -> dict:
    return {"source": ConsentSource.API, "ip_address": client_ip(request),
            "user_agent": request.headers.get("User-Agent", "")}


def _days(every: int) -> str:
    return "day" if every == 1 else f"{every} days"


@_private
def preferences(request, token: str):
    try:
        subscriber, claims = _reader(request, token)
    except _Refused as refusal:
        return _refused(request, refusal)
    if request.method == "POST":
        if subscriber.status != SubscriberStatus.SUBSCRIBED:
            return _message(request, "Not subscribed", "This address is not subscribed; "
                            "subscribe again from the site to choose series.", status=409)
        wanted = request.POST.getlist("series")
        try:
            subscribers.subscriber_update_preferences(
                subscriber_id=subscriber.pk, address_digest=claims.address_digest,
                series_slugs=wanted, **_who(request))
        except subscribers.SubscriberError as error:
            return _message(request, "Not saved", str(error), status=400)
        catchup_wanted = set(request.POST.getlist("catchup")) & set(wanted)
        followed = list(subscriber.series.all())
        active = set(CatchupProgress.objects.filter(
            subscriber=subscriber, state=ProgressState.ACTIVE).values_list("series_id",
                                                                           flat=True))
        offered = {offer.series.pk for offer in catchup_offers(subscriber.pk,
                                                               [s.pk for s in followed])}
        for series in followed:
            if series.slug in catchup_wanted and series.pk not in active:
                with contextlib.suppress(CatchupRefused):  # shown as not offered
                    catchup_start(subscriber_id=subscriber.pk, series_id=series.pk)
            elif series.slug not in catchup_wanted and series.pk in active & offered:
                catchup_stop(subscriber_id=subscriber.pk, series_ids=[series.pk],
                             reason="The reader turned catch-up off.")
        return redirect(request.path + "?saved=1", permanent=False)
    followed = set(subscriber.series.values_list("pk", flat=True))
    offers = {offer.series.pk: offer for offer in catchup_offers(subscriber.pk, followed)}
    choices = [
        {"series": series, "followed": series.pk in followed, "offer": offers.get(series.pk),
         "catching_up": offers.get(series.pk) is not None
         and offers[series.pk].state == ProgressState.ACTIVE,
         "pace": _days(offers[series.pk].every_days) if series.pk in offers else ""}
        for series in SeriesPage.objects.live().public().order_by("title")
    ]
    return render(request, "catchup/preferences.html", {
        "subscriber": subscriber, "choices": choices,
        "subscribed": subscriber.status == SubscriberStatus.SUBSCRIBED,
        "saved": request.GET.get("saved") == "1", "leave_url": request.path + "leave/",
        "data_url": subscriber_data_export_url(subscriber),
    })


@_private
def leave(request, token: str):
    try:
        subscriber, claims = _reader(request, token)
    except _Refused as refusal:
        return _refused(request, refusal)
    back = tokens.reader_page_url("preferences", token=token)
    if request.method != "POST":
        return _message(request, "Leave everything?", f"Press the button to stop every email "
                        f"to {subscriber.email}.", action_url=request.path,
                        action_label="Leave everything", back_url=back)
    who = _who(request)
    subscribers.subscriber_unsubscribe(
        subscriber_id=subscriber.pk, address_digest=claims.address_digest,
        source=who["source"], ip_address=who["ip_address"], user_agent=who["user_agent"],
        note="Preference page: leave everything")
    catchup_stop(subscriber_id=subscriber.pk,
                 series_ids=CatchupProgress.objects.filter(subscriber=subscriber)
                 .values_list("series_id", flat=True), reason="The reader left the list.")
    return _message(request, "You have left the list",
                    "You will get no more emails from us.")


def _series(slug: str) -> SeriesPage:
    series = SeriesPage.objects.live().public().filter(slug=slug).first()
    if series is None:
        raise _Refused(404, "Series not found", "There is no such series.")
    return series


@_private
def stop_series(request, token: str, slug: str):
    try:
        subscriber, claims = _reader(request, token)
        series = _series(slug)
    except _Refused as refusal:
        return _refused(request, refusal)
    back = tokens.reader_page_url("preferences", token=token)
    follows = subscriber.series.filter(pk=series.pk).exists()
    if request.method != "POST":
        if not follows:
            return _message(request, "Already stopped",
                            f"You get no emails about {series.title}.", back_url=back)
        return _message(request, f"Stop emails about {series.title}?",
                        f"Press the button and {subscriber.email} gets no more emails about "
                        f"{series.title}. Other series are not affected.",
                        action_url=request.path, action_label=f"Stop emails about {series.title}",
                        back_url=back)
    subscribers.subscriber_stop_series(subscriber_id=subscriber.pk,
                                       address_digest=claims.address_digest,
                                       series_id=series.pk, **_who(request))
    return _message(request, "Stopped", f"You will get no more emails about {series.title}.",
                    back_url=back)


@_private
def catchup(request, token: str, slug: str):
    try:
        subscriber, _claims = _reader(request, token)
        series = _series(slug)
    except _Refused as refusal:
        return _refused(request, refusal)
    back = tokens.reader_page_url("preferences", token=token)
    offers = catchup_offers(subscriber.pk, [series.pk])
    offer = offers[0] if offers else None
    if offer and offer.state == ProgressState.ACTIVE:
        progress = CatchupProgress.objects.get(subscriber=subscriber, series=series)
        when = timezone.localtime(progress.next_due_at, offer_tz(series)) if (
            progress.next_due_at) else None
        return _message(request, "You are catching up",
                        f"The next earlier part of {series.title} comes "
                        f"{when:%A %-d %B at %H:%M}." if when else "", back_url=back)
    if offer is None or not offer.earlier_parts:
        return _message(request, "Nothing to catch up on",
                        f"You have every part of {series.title} so far, or it offers no "
                        "catch-up.", back_url=back)
    if request.method != "POST":
        return _message(request, f"Catch up on {series.title}?",
                        f"We will send you the {offer.earlier_parts} earlier "
                        f"part{'s' if offer.earlier_parts != 1 else ''} in order, one every "
                        f"{_days(offer.every_days)}, then new parts as usual.",
                        action_url=request.path, action_label="Send me the earlier parts",
                        back_url=back)
    try:
        progress = catchup_start(subscriber_id=subscriber.pk, series_id=series.pk)
    except CatchupRefused as error:
        return _message(request, "Cannot catch up", str(error), status=409, back_url=back)
    when = timezone.localtime(progress.next_due_at, offer_tz(series))
    return _message(request, "Catch-up started",
                    f"The first earlier part of {series.title} comes {when:%A %-d %B at %H:%M}.",
                    back_url=back)


def offer_tz(series: SeriesPage) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(series.time_zone)
