"""The content half of the public JSON API (series, parts, active offers): a django-ninja router
that config/api.py mounts, with the OpenAPI document at /api/openapi.json."""

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.utils import timezone
from ninja import Path, Router
from ninja.errors import HttpError

from cms import selectors
from cms.api.http import conditional_response
from cms.api.schemas import (
    ErrorOut,
    OfferOut,
    PartDetail,
    SeriesDetail,
    SeriesSummary,
    ValidationErrorOut,
)
from cms.content_cache import cached, make_entry
from cms.previews import preview_draft

router = Router()

MAX_PART_NUMBER = 2_147_483_647


def _json(data) -> bytes:
    return json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False).encode()


class _NotFound(Exception):
    pass


def _serve(request, key: str, build):
    try:
        entry = cached(key, build)
    except _NotFound as missing:
        raise HttpError(404, str(missing)) from None
    return conditional_response(request, entry)


@router.get("/series", response=list[SeriesSummary], tags=["content"])
def list_series(request):
    def build():
        rows = [selectors.series_summary(s) for s in selectors.public_series()]
        last = selectors.latest(*(row["last_published_at"] for row in rows))
        return make_entry(_json(rows), last_modified=last)

    return _serve(request, "series", build)


@router.get("/series/{slug}", response={200: SeriesDetail, 404: ErrorOut}, tags=["content"])
def get_series(request, slug: str = Path(..., examples=["strong-back"])):
    def build():
        series = selectors.series_by_slug(slug)
        if series is None:
            raise _NotFound(f"No published series with slug {slug!r}.")
        data = selectors.series_summary(series)
        data["parts"] = [
            selectors.part_link(p) for p in series.public_parts().select_related("series")
        ]
        return make_entry(_json(data), last_modified=data["last_published_at"])

    return _serve(request, f"series:{slug}", build)


@router.get(
    "/series/{slug}/parts/{number}",
    response={200: PartDetail, 404: ErrorOut, 422: ValidationErrorOut},
    tags=["content"],
)
def get_part(
    request,
    slug: str = Path(..., examples=["strong-back"]),
    number: int = Path(..., ge=1, le=MAX_PART_NUMBER, examples=[2]),
):
    def build():
        series = selectors.series_by_slug(slug)
        part = selectors.public_part(series, number) if series else None
        if part is None:
            raise _NotFound(f"No published part {number} in series {slug!r}.")
        data, valid_until = selectors.part_detail(part, timezone.now())
        return make_entry(
            _json(data), last_modified=part.last_published_at, valid_until=valid_until
        )

    return _serve(request, f"part:{slug}:{number}", build)


@router.get("/offers/active", response=list[OfferOut], tags=["offers"])
def list_active_offers(request):
    def build():
        offers, valid_until = selectors.active_offers()
        last = selectors.latest(*(o.updated_at for o in offers))
        return make_entry(
            _json([selectors.offer_data(o) for o in offers]),
            last_modified=last,
            valid_until=valid_until,
        )

    return _serve(request, "offers:active", build)


@router.get(
    "/preview/{token}",
    response={200: PartDetail, 404: ErrorOut, 422: ValidationErrorOut},
    tags=["content"],
    summary="A part's draft (its latest revision) for a front end's preview",
    description="The token comes from an editor's preview in the admin (FRONTEND_PREVIEW_URL): "
    "signed, for one part, valid for PREVIEW_TOKEN_MAX_AGE. Expired, altered or unknown tokens "
    "answer 404. The answer is never cached.",
)
def get_preview(request, token: str = Path(..., max_length=500)):
    draft = preview_draft(token)
    if draft is None:
        raise HttpError(404, "This preview link is not valid or has expired.")
    data, _ = selectors.part_detail(draft, timezone.now())
    response = HttpResponse(_json(data), content_type="application/json")
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "no-referrer"
    return response
