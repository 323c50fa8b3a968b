from config.settings.base import *  # noqa: F403
from config.settings.base import DATA_DIR

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
MEDIA_ROOT = DATA_DIR / "test-media"
ALLOWED_HOSTS = ["*"]
# Wagtail's chores run in the saving process, so a test reads the index it just changed and no
# message is left on the shared broker; tests/workers/test_django_tasks_backend.py runs them on a
# worker as production does.
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
# Every scrape reads the database afresh: a test sees the rows it just made.
METRICS_DATABASE_CACHE_SECONDS = 0

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not memory: worker processes started by the tests open the same test database.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test-partwork.sqlite3")}  # noqa: F405
