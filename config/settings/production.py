"""Production: everything from the environment, nothing assumed; `check --deploy` prints nothing.

Behind the TLS proxy production assumes: the proxy sets X-Forwarded-Proto, Django redirects plain
HTTP to HTTPS (except the probes, which compose and Prometheus make from inside the network),
browsers are told to keep to HTTPS (HSTS), and cookies go over HTTPS only.
"""

from config.settings.env import env_duration, refuse_weak_secret_keys, require

require("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL")
# The example's placeholder, or any key anyone could guess, would let anyone mint unsubscribe,
# preference and confirmation links and forge sessions: refuse to start with one.
refuse_weak_secret_keys("SECRET_KEY", "SECRET_KEY_FALLBACKS")

from config.settings.base import *  # noqa: E402,F403

DEBUG = False
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = True
SECURE_REDIRECT_EXEMPT = [r"^health/", r"^metrics$"]
SECURE_HSTS_SECONDS = int(env_duration("HSTS_MAX_AGE").total_seconds())
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = False
