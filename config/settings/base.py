"""Settings shared by every environment. Values come from config.settings.env only.

Defaults live in env.VARIABLES and nowhere else: code reads ``settings.NAME`` without a fallback.
"""

from pathlib import Path

import dj_database_url

from config.embedded_redis import embedded_redis_url
from config.settings.env import (
    ConfigurationError,
    env,
    env_bool,
    env_date,
    env_duration,
    env_file,
    env_float,
    env_int,
    env_int_list,
    env_list,
    env_networks,
    env_rate,
    env_time_zone,
    env_url_pattern,
)

BASE_DIR = Path(__file__).resolve().parent.parent.parent
DATA_DIR = (BASE_DIR / env("DATA_DIR")).resolve()

SECRET_KEY = env("SECRET_KEY") or "dev-only-insecure-key-change-me"
# Keys of before a rotation: links and sessions signed with them keep working (tokens.py too).
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS")
DEBUG = False
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
BASE_URL = env("BASE_URL").rstrip("/")
WAGTAILADMIN_BASE_URL = BASE_URL
CSRF_TRUSTED_ORIGINS = [BASE_URL]
# Where public links lead readers (cms/links.py); Wagtail's own pages under BASE_URL when unset.
FRONTEND_URL = env_url_pattern("FRONTEND_URL", "series", "part")
FRONTEND_SERIES_URL = env_url_pattern("FRONTEND_SERIES_URL", "series")
FRONTEND_PREVIEW_URL = env_url_pattern("FRONTEND_PREVIEW_URL", "token")
PREVIEW_TOKEN_MAX_AGE = env_duration("PREVIEW_TOKEN_MAX_AGE")
# The proxies whose X-Forwarded-For entries name the client (pipeline/subscribers/clients.py).
TRUSTED_PROXIES = env_networks("TRUSTED_PROXIES")

INSTALLED_APPS = [
    "config",
    "cms",
    "pipeline",  # the migration history of the days of one app; its models moved to the apps below
    "pipeline.subscribers",
    "pipeline.audience",
    "pipeline.publishing",
    "pipeline.campaigns",
    "pipeline.engagement",
    "pipeline.importing",
    "pipeline.catchup",
    "pipeline.deliverability",
    "workers",
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.contrib.settings",
    "wagtail.contrib.typed_table_block",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail.api.v2",
    "wagtail",
    "modelcluster",
    "taggit",
    "rest_framework",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.syndication",
]

MIDDLEWARE = [
    "config.middleware.OperatorEndpointsMiddleware",
    "config.middleware.RequestContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'partwork.sqlite3'}",
        conn_max_age=60,
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Web, worker and beat share the file: wait for a lock instead of failing at once.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


def _redis_url() -> str:
    url = env("REDIS_URL")
    if url:
        return url
    return embedded_redis_url(DATA_DIR)


REDIS_URL = _redis_url()

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "partwork",
    }
}

# Failed logins are counted per user name and per client; past either limit, logins are refused.
AUTHENTICATION_BACKENDS = ["config.login_throttle.ThrottledModelBackend"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
MEDIA_URL = "/media/"
MEDIA_ROOT = DATA_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

WAGTAIL_SITE_NAME = env("WAGTAIL_SITE_NAME")
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}
WAGTAILEMBEDS_FINDERS = []  # no oEmbed fetches: videos are stored as URLs with credits
WAGTAILDOCS_EXTENSIONS = ["pdf", "txt"]

# Email: SMTP when EMAIL_URL is set, otherwise one file per message under var/mail.
_email_url = env("EMAIL_URL")
if _email_url:
    from urllib.parse import parse_qs, unquote, urlsplit

    _parts = urlsplit(_email_url)
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = _parts.hostname or "localhost"
    EMAIL_PORT = _parts.port or (465 if _parts.scheme == "smtps" else 25)
    EMAIL_HOST_USER = unquote(_parts.username or "")
    EMAIL_HOST_PASSWORD = unquote(_parts.password or "")
    EMAIL_USE_SSL = _parts.scheme == "smtps"
    EMAIL_USE_TLS = parse_qs(_parts.query).get("tls", ["0"])[0] in {"1", "true"}
    EMAIL_TIMEOUT = 30
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = DATA_DIR / "mail"  # used by the file backend only
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL")
POSTAL_ADDRESS = env("POSTAL_ADDRESS")
EMAIL_PROVIDER = env("EMAIL_PROVIDER")

MAILCHIMP = {
    "API_KEY": env("MAILCHIMP_API_KEY"),
    "SERVER": env("MAILCHIMP_SERVER"),
    "API_URL": env("MAILCHIMP_API_URL"),
    "LIST_ID": env("MAILCHIMP_LIST_ID"),
    "WEBHOOK_SECRET": env("MAILCHIMP_WEBHOOK_SECRET"),
    "WEBHOOK_SIGNING_KEY": env("MAILCHIMP_WEBHOOK_SIGNING_KEY"),
}
MAILCHIMP_TIMEOUT = env_float("MAILCHIMP_TIMEOUT", positive=True)

# Subscribers (pipeline/subscribers): link lifetimes. Rate limits (pipeline/subscribers/
# rate_limits.py, the admin login too) as {rule name: (limit, window seconds)}; a test may override
# one rule by merging into the dict.
SUBSCRIBER_CONFIRM_MAX_AGE = env_duration("SUBSCRIBER_CONFIRM_MAX_AGE")
SUBSCRIBER_PREFERENCES_MAX_AGE = env_duration("SUBSCRIBER_PREFERENCES_MAX_AGE")
# Catch-up for late joiners and the welcome email (pipeline/catchup).
CATCHUP_SEND_TIME = env("CATCHUP_SEND_TIME")
CATCHUP_SENDING_LEASE = env_duration("CATCHUP_SENDING_LEASE")
CATCHUP_STEP_INTERVAL = env_int("CATCHUP_STEP_INTERVAL", minimum=1)
SUBSCRIBER_DATA_EXPORT_MAX_AGE = env_duration("SUBSCRIBER_DATA_EXPORT_MAX_AGE")
SUBSCRIBER_SUPPRESSION_KEY = env("SUBSCRIBER_SUPPRESSION_KEY")
SUBSCRIBER_IMPORT_MAX_BYTES = env_int("SUBSCRIBER_IMPORT_MAX_BYTES", minimum=1)
SUBSCRIBER_IMPORT_MAX_FIELD = env_int("SUBSCRIBER_IMPORT_MAX_FIELD", minimum=1)
SUBSCRIBER_IMPORT_LEASE = env_duration("SUBSCRIBER_IMPORT_LEASE")
AUDIENCE_SYNC_INTERVAL = env_int("AUDIENCE_SYNC_INTERVAL")
AUDIENCE_SYNC_MAX_LAG = env_duration("AUDIENCE_SYNC_MAX_LAG")
RATE_LIMITS = {
    "ip": env_rate("SUBSCRIBER_RATE_LIMIT_IP"),
    "subscribe-ip": env_rate("SUBSCRIBER_RATE_LIMIT_SUBSCRIBE_IP"),
    "subscribe-address": env_rate("SUBSCRIBER_RATE_LIMIT_SUBSCRIBE_ADDRESS"),
    "confirmations": env_rate("SUBSCRIBER_RATE_LIMIT_CONFIRMATIONS"),
    "link": env_rate("SUBSCRIBER_RATE_LIMIT_LINK"),
    "admin-login-user": env_rate("ADMIN_LOGIN_RATE_LIMIT_USER"),
    "admin-login-ip": env_rate("ADMIN_LOGIN_RATE_LIMIT_IP"),
}
SUBSCRIBER_RATE_LIMIT_PREFIX = env("SUBSCRIBER_RATE_LIMIT_PREFIX")

# Celery (workers/celery_app.py reads the CELERY_ namespace). See DESIGN.md's reliability rules.
CELERY_BROKER_URL = (
    REDIS_URL.replace("unix://", "redis+socket://", 1)
    if REDIS_URL.startswith("unix://")
    else REDIS_URL
)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_TIMEZONE = "UTC"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
# Retries back off exponentially with jitter, never longer than this between two attempts.
CELERY_TASK_ANNOTATIONS = {"*": {"retry_backoff_max": 300, "retry_jitter": True}}
# Longer than every countdown, retry backoff and time limit we use, so nothing is redelivered
# while it is still legitimately waiting or running (tests/workers/test_celery_config.py).
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
# Wagtail's background chores (search and reference index, ...) run on the workers after the
# transaction that queued them, not inside every publish (workers/django_tasks_backend.py).
TASKS = {"default": {"BACKEND": "workers.django_tasks_backend.CeleryBackend"}}
# The beat entries (workers/celery_app.py) and the health check's patience with the sweep.
PUBLISHING_SWEEP_INTERVAL = env_float("PUBLISHING_SWEEP_INTERVAL", positive=True)
PUBLISHING_SWEEP_EXPIRES = env_float("PUBLISHING_SWEEP_EXPIRES", positive=True)
PUBLISHING_ON_TIME_HORIZON = env_float("PUBLISHING_ON_TIME_HORIZON", positive=True)
HEALTH_SWEEP_MAX_AGE_SECONDS = env_int("HEALTH_SWEEP_MAX_AGE_SECONDS", minimum=1)
# /metrics and /health/alerts/ (config/ops_views.py): the token, and how long one scrape's
# database gauges are reused (each scrape must not aggregate the whole delivery table).
METRICS_TOKEN = env("METRICS_TOKEN")
METRICS_DATABASE_CACHE_SECONDS = 5
CAMPAIGNS_SWEEP_INTERVAL = env_float("CAMPAIGNS_SWEEP_INTERVAL", positive=True)
# Campaigns (pipeline/campaigns/services): claims, retries, the expiry guard, local delivery.
CAMPAIGN_LEASE = env_duration("CAMPAIGN_LEASE")
CAMPAIGN_MAX_ATTEMPTS = env_int("CAMPAIGN_MAX_ATTEMPTS", minimum=1)
CAMPAIGN_RETRY_BACKOFF_SECONDS = env_float("CAMPAIGN_RETRY_BACKOFF_SECONDS")
CAMPAIGN_OFFER_SAFETY_MARGIN = env_duration("CAMPAIGN_OFFER_SAFETY_MARGIN")
# Keyed by CampaignKind's values (settings cannot import models).
CAMPAIGN_MAX_LATENESS = {
    "announcement": env_duration("CAMPAIGN_MAX_LATENESS_ANNOUNCEMENT"),
    "discount": env_duration("CAMPAIGN_MAX_LATENESS_DISCOUNT"),
    "last_chance": env_duration("CAMPAIGN_MAX_LATENESS_LAST_CHANCE"),
}
CAMPAIGN_DEFAULT_TIME_ZONE = env_time_zone("CAMPAIGN_DEFAULT_TIME_ZONE")
CAMPAIGN_SMTP_CONNECTIONS = env_int("CAMPAIGN_SMTP_CONNECTIONS", minimum=1)
CAMPAIGN_SMTP_MESSAGES_PER_CONNECTION = env_int("CAMPAIGN_SMTP_MESSAGES_PER_CONNECTION",
                                                minimum=1)
CAMPAIGN_LEDGER_WINDOW = env_int("CAMPAIGN_LEDGER_WINDOW", minimum=1)  # None: 2 per session
CAMPAIGN_SEND_RUN_SECONDS = env_float("CAMPAIGN_SEND_RUN_SECONDS")
# Pacing of local (SMTP) sending, shared by every mail worker through Redis
# (pipeline/campaigns/services/pacing.py); all off by default.
CAMPAIGN_SMTP_RATE = env_int("CAMPAIGN_SMTP_RATE", minimum=1)
CAMPAIGN_SMTP_DAILY_CAP = env_int("CAMPAIGN_SMTP_DAILY_CAP", minimum=1)
CAMPAIGN_SMTP_WARMUP = env_int_list("CAMPAIGN_SMTP_WARMUP", minimum=1)
CAMPAIGN_SMTP_WARMUP_START = env_date("CAMPAIGN_SMTP_WARMUP_START")
# DKIM signing of local campaign email (pipeline/providers/dkim_signing.py); off when no key.
DKIM_PRIVATE_KEY_FILE = env_file("DKIM_PRIVATE_KEY_FILE")
DKIM_SELECTOR = env("DKIM_SELECTOR")
DKIM_DOMAIN = env("DKIM_DOMAIN")
# Engagement (pipeline/engagement): clicks are counted per campaign that asks for it; opens only
# when the operator turns them on.
CAMPAIGN_OPEN_TRACKING = env_bool("CAMPAIGN_OPEN_TRACKING")
# Bounces and complaints (pipeline/deliverability): VERP, the bounce mailbox, provider webhooks.
BOUNCE_DOMAIN = env("BOUNCE_DOMAIN")
BOUNCE_MAILBOX = env("BOUNCE_MAILBOX")
BOUNCE_IMAP_HOST = env("BOUNCE_IMAP_HOST")
BOUNCE_IMAP_PORT = env_int("BOUNCE_IMAP_PORT", minimum=1)
BOUNCE_IMAP_SECURITY = env("BOUNCE_IMAP_SECURITY").lower()
if BOUNCE_IMAP_SECURITY not in {"tls", "starttls", "plain"}:
    raise ConfigurationError("Partwork refuses to start: BOUNCE_IMAP_SECURITY must be tls, "
                             f"starttls or plain, not {BOUNCE_IMAP_SECURITY!r}.")
BOUNCE_IMAP_USER = env("BOUNCE_IMAP_USER")
BOUNCE_IMAP_PASSWORD = env("BOUNCE_IMAP_PASSWORD")
BOUNCE_IMAP_FOLDER = env("BOUNCE_IMAP_FOLDER")
BOUNCE_IMAP_PROCESSED_FOLDER = env("BOUNCE_IMAP_PROCESSED_FOLDER")
BOUNCE_IMAP_DELETE = env_bool("BOUNCE_IMAP_DELETE")
BOUNCE_IMAP_CA_FILE = None  # tests point this at their own CA; production uses the system's
BOUNCE_POLL_INTERVAL = env_float("BOUNCE_POLL_INTERVAL", positive=True)
BOUNCE_POLL_BATCH = env_int("BOUNCE_POLL_BATCH", minimum=1)
BOUNCE_SOFT_LIMIT = env_int("BOUNCE_SOFT_LIMIT", minimum=1)
BOUNCE_SOFT_WINDOW = env_duration("BOUNCE_SOFT_WINDOW")
SES_SNS_TOPIC_ARNS = env_list("SES_SNS_TOPIC_ARNS")
SES_SNS_CERT_URL_PATTERN = env("SES_SNS_CERT_URL_PATTERN")
SES_SNS_MAX_AGE = env_duration("SES_SNS_MAX_AGE")
POSTMARK_WEBHOOK_AUTH = env("POSTMARK_WEBHOOK_AUTH")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_TASK_DEFAULT_QUEUE = "publishing"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

LOG_FORMAT = env("LOG_FORMAT")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {
            "format": "%(asctime)s %(levelname)s %(name)s [req=%(request_id)s task=%(task_id)s "
            "part=%(part_id)s campaign=%(campaign_id)s] %(message)s"
        },
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(task_id)s "
            "%(part_id)s %(campaign_id)s",
        },
    },
    "filters": {
        "context": {"()": "pipeline.observability.context.ContextFilter"},
        # Webhook secrets and subscriber tokens in request paths never reach a log line.
        "redact": {"()": "config.redaction.RedactSecrets"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["context", "redact"],
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "django_tasks": {"level": "WARNING"},
    },
}
