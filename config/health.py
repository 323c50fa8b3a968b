"""What the operator's probes and alerts read: each check says ok or what is wrong.

Two sets, because they call for different actions. Readiness (database, Redis) is what a load
balancer and an orchestrator act on: a process that cannot reach them should get no traffic and
may be restarted. The business checks (sweep age, overdue parts, stuck campaigns, uncertain
deliveries, the audience sync) are for alerting: a person must look, and restarting web fixes
none of them. Each endpoint answers 200 only when every check of its set is ok, with a JSON body
naming each check, its figures and, for a failing one, what it means. The same figures feed
/metrics as gauges.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Count
from django.utils import timezone
from wagtail.models import Revision

from pipeline.audience.services.account import mailchimp_configured
from pipeline.audience.services.erasures import ERASURE_ALERT_AFTER, mailchimp_erasures_pending
from pipeline.audience.services.sync import audience_sync_health
from pipeline.campaigns.models import IN_FLIGHT_STATUSES, Campaign, Delivery, DeliveryState
from pipeline.catchup.services.progress import catchup_figures
from pipeline.deliverability.services.mailbox import bounce_mailbox_heartbeat, mailbox_configured
from pipeline.publishing.services.sweep import publishing_heartbeat

# A part still unpublished this long after its go-live time means the sweep is not keeping up.
OVERDUE_GRACE = timedelta(seconds=60)
# Uncertain deliveries stay listed on their campaign page for good; the health check raises them
# for this long after the crash that made them, so an operator sees them without a page for ever.
UNCERTAIN_ALERT_WINDOW = timedelta(hours=24)
# An unfinished audience sync run whose heartbeat is older than this has stopped for good: its task
# retries every 5 minutes at most, and a run holding the lock beats every few seconds.
AUDIENCE_SYNC_STALLED_AFTER = timedelta(minutes=15)
# Bounce mailbox polls failing this long (a changed password, a server down) raise an alert.
BOUNCE_MAILBOX_FAILING_AFTER = timedelta(minutes=15)


@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""
    figures: dict = field(default_factory=dict)


def check_database() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return Check("database", True)
    except Exception as error:  # any driver error means the same to the operator
        return Check("database", False, f"database unreachable: {error.__class__.__name__}")


def check_redis() -> Check:
    try:
        cache.set("health-probe", "1", timeout=10)
        return Check("redis", cache.get("health-probe") == "1")
    except Exception as error:
        return Check("redis", False, f"Redis unreachable: {error.__class__.__name__}")


def check_sweep() -> Check:
    beat = publishing_heartbeat()
    age = beat["age_seconds"]
    limit = settings.HEALTH_SWEEP_MAX_AGE_SECONDS
    figures = {"age_seconds": age, "total_sweeps": beat["total_sweeps"], "limit_seconds": limit}
    if age is None:
        return Check("sweep", False, "the publishing sweep has never run: is beat running?",
                     figures)
    if age > limit:
        return Check("sweep", False, f"the publishing sweep last succeeded {age:.0f} s ago: "
                     "check beat and the publishing worker", figures)
    return Check("sweep", True, figures=figures)


def overdue_parts_count() -> int:
    return Revision.objects.filter(approved_go_live_at__lt=timezone.now() - OVERDUE_GRACE).count()


def check_overdue_parts() -> Check:
    count = overdue_parts_count()
    if count:
        return Check("overdue_parts", False, f"{count} scheduled revision(s) more than "
                     f"{OVERDUE_GRACE.seconds} s past their go-live time", {"count": count})
    return Check("overdue_parts", True, figures={"count": 0})


def readiness_checks() -> list[Check]:
    """Can this process do its work: the database and Redis answer."""
    return [check_database(), check_redis()]


def alert_checks() -> list[Check]:
    """Readiness, then everything a person must look at (read from the database)."""
    checks = readiness_checks()
    if checks[0].ok:
        checks += [check_sweep(), check_overdue_parts()]
        checks += _campaign_checks()
        checks.append(check_audience_sync())
        checks.append(check_bounce_mailbox())
    return checks


def check_bounce_mailbox() -> Check:
    if not mailbox_configured():
        return Check("bounce_mailbox", True, "the bounce mailbox is not configured",
                     {"configured": False})
    beat = bounce_mailbox_heartbeat()
    since = beat.get("failing_since")
    figures = {"configured": True,
               "failing_seconds": round((timezone.now() - since).total_seconds()) if since
               else 0}
    if since and timezone.now() - since > BOUNCE_MAILBOX_FAILING_AFTER:
        return Check("bounce_mailbox", False, f"bounce mailbox polls have failed for "
                     f"{figures['failing_seconds'] / 60:.0f} min: {beat.get('last_error', '')}; "
                     "check the BOUNCE_IMAP_* settings (`manage.py poll_bounces`)", figures)
    return Check("bounce_mailbox", True, figures=figures)


def check_audience_sync() -> Check:
    """The audience sync: a stopped run, no finished run for longer than AUDIENCE_SYNC_MAX_LAG
    (when it runs by itself on beat), and Mailchimp erasures pending for too long."""
    if not mailchimp_configured():
        return Check("audience_sync", True, "Mailchimp is not configured", {"configured": False})
    figures = {"configured": True, "automatic": bool(settings.AUDIENCE_SYNC_INTERVAL),
               **audience_sync_health()}
    erasures = mailchimp_erasures_pending()
    figures["erasures_pending"] = erasures["pending"]
    figures["erasure_oldest_age_seconds"] = erasures["oldest_age_seconds"]
    problems = []
    age = figures.get("heartbeat_age_seconds")
    if figures["unfinished_run"] and age is not None and (
            age > AUDIENCE_SYNC_STALLED_AFTER.total_seconds()):
        error = f" (last error: {figures['last_error']})" if figures.get("last_error") else ""
        problems.append(f"audience sync run {figures['unfinished_run']} stopped "
                        f"{age / 60:.0f} min ago, {figures['state']}{error}: run "
                        "`manage.py sync_audience` to resume it")
    max_lag = settings.AUDIENCE_SYNC_MAX_LAG.total_seconds()
    lag = figures["lag_seconds"]
    # Before the first finished run there is nothing to date a lag from (a stalled first run
    # is caught above).
    if figures["automatic"] and lag is not None and lag > max_lag:
        problems.append(f"the audience sync has not finished a run for {lag / 60:.0f} min: "
                        "check beat and the mail worker")
    if erasures["pending"] and erasures["oldest_age_seconds"] > ERASURE_ALERT_AFTER.total_seconds():
        problems.append(f"{erasures['pending']} Mailchimp erasure(s) pending, the oldest for "
                        f"{erasures['oldest_age_seconds'] / 3600:.0f} h (last error: "
                        f"{erasures['last_error'] or 'none'})")
    return Check("audience_sync", not problems, "; ".join(problems), figures)


def stuck_campaigns_count() -> int:
    return Campaign.objects.filter(
        status__in=IN_FLIGHT_STATUSES, claimed_until__lt=timezone.now()
    ).count()


def recent_uncertain_deliveries_count() -> int:
    return Delivery.objects.filter(
        state=DeliveryState.UNCERTAIN, updated_at__gte=timezone.now() - UNCERTAIN_ALERT_WINDOW
    ).count()


def _campaign_checks() -> list[Check]:
    stuck = stuck_campaigns_count()
    uncertain = recent_uncertain_deliveries_count()
    return [
        Check("stuck_campaigns", stuck == 0,
              f"{stuck} campaign(s) held by a worker past their lease" if stuck else "",
              {"count": stuck}),
        Check("uncertain_deliveries", uncertain == 0,
              f"{uncertain} SMTP delivery(ies) cut off by a crash in the last 24 h: see the "
              "campaign pages; they are not resent" if uncertain else "",
              {"count": uncertain}),
    ]


def sends_by_provider_and_outcome() -> dict[tuple[str, str], int]:
    counts = {
        (row["provider"] or "none", row["status"]): row["n"]
        for row in Campaign.objects.values("provider", "status").annotate(n=Count("id"))
    }
    for row in Delivery.objects.values("state").annotate(n=Count("id")):
        counts[("local-recipient", row["state"])] = row["n"]
    return counts


def database_gauges() -> dict[str, tuple[str, float]]:
    """Gauges for /metrics, read from the database at scrape time."""
    age = publishing_heartbeat()["age_seconds"]
    catchup = catchup_figures(since=UNCERTAIN_ALERT_WINDOW)
    audience_lag = audience_sync_health()["lag_seconds"] if mailchimp_configured() else None
    return {
        "overdue_parts": ("Scheduled revisions past their go-live time", overdue_parts_count()),
        "sweep_age_seconds": ("Seconds since the publishing sweep last succeeded",
                              age if age is not None else -1),
        "stuck_campaigns": ("Campaigns held by a worker past their lease",
                            stuck_campaigns_count()),
        "uncertain_deliveries_24h": ("SMTP deliveries left uncertain by a crash, last 24 h",
                                     recent_uncertain_deliveries_count()),
        "catchup_readers": ("Readers catching up on a series", catchup["readers"]),
        "catchup_readers_due": ("Readers catching up whose next part is due now",
                                catchup["readers_due"]),
        "catchup_uncertain_deliveries_24h": ("Catch-up emails left uncertain by a crash, "
                                             "last 24 h", catchup["uncertain"]),
        "audience_sync_lag_seconds": ("Seconds since the last finished audience sync run "
                                      "began (-1: Mailchimp not configured, or no run yet)",
                                      audience_lag if audience_lag is not None else -1),
    }
