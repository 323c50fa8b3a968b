"""Operator endpoints: liveness, readiness, the alerting checks, and /metrics (Prometheus).

  /health/live/    200 while the process answers (nothing else is touched)
  /health/ready/   200 when the database and Redis answer, else 503: load balancers, compose
                   and orchestrator probes
  /health/alerts/  200 when readiness and every business check pass, else 503 naming them:
                   alerting rules (``/health/`` answers the same, for monitors set up before)

``OperatorEndpointsMiddleware`` (config/middleware.py) serves them ahead of the host check.
"""

from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache

from config.health import Check, alert_checks, readiness_checks
from config.metrics import render_metrics


def _answer(checks: list[Check]) -> JsonResponse:
    healthy = all(c.ok for c in checks)
    body = {
        "status": "ok" if healthy else "failing",
        "failing": [c.name for c in checks if not c.ok],
        "checks": {
            c.name: {"ok": c.ok, "detail": c.detail, **c.figures} for c in checks
        },
    }
    return JsonResponse(body, status=200 if healthy else 503)


@never_cache
def live(request):
    return JsonResponse({"status": "ok"})


@never_cache
def ready(request):
    return _answer(readiness_checks())


@never_cache
def alerts(request):
    return _answer(alert_checks())


@never_cache
def metrics(request):
    body, content_type = render_metrics()
    return HttpResponse(body, content_type=content_type)


# Path → view, for the URLconf and for the middleware that serves them whatever the Host.
ENDPOINTS = {
    "/health/live/": live,
    "/health/ready/": ready,
    "/health/alerts/": alerts,
    "/health/": alerts,
    "/metrics": metrics,
}
