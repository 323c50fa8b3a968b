"""Per-request id for logs (X-Request-ID in and out) and HTTP metrics; the operator endpoints
served whatever the Host header."""

import re
import time
import uuid

from config.ops_views import ENDPOINTS
from pipeline.observability import context
from pipeline.observability.metrics import HTTP_LATENCY, HTTP_REQUESTS, method_label

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        context.clear()
        context.bind(request_id=request_id)
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = (match.route or match.view_name) if match else "unmatched"
        HTTP_REQUESTS.labels(method_label(request.method), route, str(response.status_code)).inc()
        HTTP_LATENCY.labels(route).observe(time.perf_counter() - started)
        response["X-Request-ID"] = request_id
        context.clear()
        return response


class OperatorEndpointsMiddleware:
    """Health probes and /metrics, answered before Django checks the Host header.

    Orchestrators, load balancers and Prometheus call web by its container address (127.0.0.1,
    web:8000), which ALLOWED_HOSTS rightly does not list: the host check would answer 400 and
    mark a healthy web unhealthy. These views build nothing from the Host, so nothing can be
    poisoned through it; every other path keeps the check. Probes are not counted in the HTTP
    metrics either (a probe every few seconds would drown the real traffic).
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.endpoints = ENDPOINTS

    def __call__(self, request):
        view = self.endpoints.get(request.path_info)
        return view(request) if view else self.get_response(request)
