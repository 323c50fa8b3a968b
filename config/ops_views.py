"""Operator endpoints: liveness, readiness, the alerting checks, and /metrics (Prometheus).

  /health/live/    200 while the process answers (nothing else is touched)
  /health/ready/   200 when the database and Redis answer, else 503: load balancers, compose
                   and orchestrator probes
  /health/alerts/  200 when readiness and every business check pass, else 503 naming them:
                   alerting rules (``/health/`` answers the same, for monitors set up before)

``OperatorEndpointsMiddleware`` (config/middleware.py) serves them ahead of the host check.

Who may read what: the probes (live, ready) are open to anyone and say only ok or failing per
check, no figures and no error text. /metrics and the alerts (figures, campaign ids, sync
errors) need ``Authorization: Bearer <METRICS_TOKEN>`` when that is set; when it is not, they
answer only a request made straight from a loopback or private address (the compose network,
Prometheus beside web) and never one that came through a proxy (it carries X-Forwarded-For,
Forwarded or X-Real-IP, and its REMOTE_ADDR is the proxy's, not the client's).
"""

import ipaddress
from functools import wraps

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.utils.crypto import constant_time_compare
from django.views.decorators.cache import never_cache

from config.health import Check, alert_checks, readiness_checks
from config.metrics import render_metrics

# A proxy adds one of these; behind one, REMOTE_ADDR is the proxy's own (private) address.
_PROXY_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP",
                  "HTTP_X_FORWARDED_HOST", "HTTP_X_FORWARDED_PROTO", "HTTP_VIA")


# Loopback and the private ranges (RFC 1918, IPv6 unique local): the compose network, a
# Prometheus beside web. Nothing else counts, not even other "non-global" ranges.
_PRIVATE_NETWORKS = tuple(ipaddress.ip_network(n) for n in (
    "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "::1/128", "fc00::/7",
))


def _bearer_token(request) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _direct_from_private_network(request) -> bool:
    if any(request.META.get(header) for header in _PROXY_HEADERS):
        return False
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", "").split("%")[0])
    except ValueError:
        return False
    if getattr(address, "ipv4_mapped", None):
        address = address.ipv4_mapped
    return any(address in network for network in _PRIVATE_NETWORKS)


def operator_only(view):
    """The token when METRICS_TOKEN is set, else a direct request from a private address."""

    @wraps(view)
    def guarded(request, *args, **kwargs):
        token = settings.METRICS_TOKEN
        if token:
            if constant_time_compare(_bearer_token(request), token):
                return view(request, *args, **kwargs)
            response = JsonResponse({"status": "unauthorized"}, status=401)
            response["WWW-Authenticate"] = 'Bearer realm="partwork-operator"'
            return response
        if _direct_from_private_network(request):
            return view(request, *args, **kwargs)
        return JsonResponse({"status": "forbidden"}, status=403)

    return guarded


def _probe_answer(checks: list[Check]) -> JsonResponse:
    """Open to anyone: each check's name and whether it passes, nothing else."""
    healthy = all(c.ok for c in checks)
    body = {
        "status": "ok" if healthy else "failing",
        "failing": [c.name for c in checks if not c.ok],
        "checks": {c.name: {"ok": c.ok} for c in checks},
    }
    return JsonResponse(body, status=200 if healthy else 503)


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
    return _probe_answer(readiness_checks())


@never_cache
@operator_only
def alerts(request):
    return _answer(alert_checks())


@never_cache
@operator_only
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
