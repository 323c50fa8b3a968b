"""The public JSON API: the content (cms) and the mailing list (subscribers) under one NinjaAPI,
with its OpenAPI document at /api/openapi.json."""

from ninja import NinjaAPI

from cms.api.views import router as content_router
from pipeline.subscribers.api import router as subscribers_router

api = NinjaAPI(
    title="Partwork API",
    version="1.0",
    description="Published series, parts and active offers. Drafts and scheduled parts never "
    "appear; offers appear only while active.",
    urls_namespace="api",
)
api.add_router("", content_router)
api.add_router("/subscribers", subscribers_router)
