from datetime import datetime
from typing import Any

from ninja import Schema


class ErrorOut(Schema):
    detail: str


class ValidationErrorOut(Schema):
    detail: list[dict[str, Any]]


class PartLink(Schema):
    number: int
    title: str
    url: str
    api_url: str
    first_published_at: datetime | None


class SeriesRef(Schema):
    slug: str
    title: str
    url: str
    api_url: str


class SeriesSummary(SeriesRef):
    summary: str
    time_zone: str
    part_count: int
    hero_image_url: str | None
    last_published_at: datetime | None


class SeriesDetail(SeriesSummary):
    parts: list[PartLink]


class OfferOut(Schema):
    id: int
    name: str
    code: str
    percent_off: int
    terms: str
    landing_url: str
    starts_at: datetime
    ends_at: datetime


class BodyBlock(Schema):
    type: str
    id: str
    value: dict[str, Any]
    html: str


class PartDetail(Schema):
    series: SeriesRef
    number: int
    title: str
    standfirst: str
    url: str
    first_published_at: datetime | None
    last_published_at: datetime | None
    body: list[BodyBlock]
    previous: PartLink | None
    next: PartLink | None
    offers: list[OfferOut]
