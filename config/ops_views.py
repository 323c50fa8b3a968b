"""Operator endpoints: /health/ (200 only when all is well) and /metrics (Prometheus)."""

from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache

from config.health import run_checks
from config.metrics import render_metrics


@never_cache
def health(request):
    checks = run_checks()
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
def metrics(request):
    body, content_type = render_metrics()
    return HttpResponse(body, content_type=content_type)
