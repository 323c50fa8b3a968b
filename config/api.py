"""The public JSON API: the content (cms) and the mailing list (subscribers) under one NinjaAPI,
with its OpenAPI document at /api/openapi.json.

A JSON body is read only when the request says ``Content-Type: application/json``. Any site can
make its visitors' browsers POST a ``text/plain`` or form body to us without asking (a "simple"
cross-origin request); ``application/json`` needs a CORS preflight, which we never grant. Without
this rule any page could subscribe addresses through its visitors' browsers.
"""

import json

from ninja import NinjaAPI
from ninja.parser import Parser

from cms.api.views import router as content_router
from pipeline.campaigns.api import router as campaigns_router
from pipeline.subscribers.api import router as subscribers_router


class JSONOnlyParser(Parser):
    def parse_body(self, request):
        if request.content_type != "application/json":
            # Ninja answers 400 "Cannot parse request body" for any error raised here.
            raise ValueError("The body must be sent as application/json.")
        return json.loads(request.body)


api = NinjaAPI(
    title="Partwork API",
    version="1.0",
    description="Published series, parts and active offers. Drafts and scheduled parts never "
    "appear; offers appear only while active. Request bodies are JSON, sent as "
    "application/json.",
    urls_namespace="api",
    parser=JSONOnlyParser(),
)
api.add_router("", content_router)
api.add_router("", campaigns_router)
api.add_router("/subscribers", subscribers_router)
