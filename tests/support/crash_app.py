"""The Celery app with a test-only hook that freezes a publish half-way, until killed.

Used only by tests/publishing/test_worker_failures.py: ``celery -A tests.support.crash_app``.
The hook runs right after the announcement row is inserted inside the publish transaction (on the
signal the insert sends), writes a marker file so the test knows the worker is mid-publish, and
blocks until the test SIGKILLs it.
"""

import os
import time
from pathlib import Path

from pipeline.publishing.signals import announcement_created
from workers.celery_app import app

__all__ = ["app"]


def _freeze_mid_publish(**kwargs):
    Path(os.environ["PARTWORK_TEST_FREEZE_MARKER"]).write_text(str(os.getpid()))
    deadline = time.monotonic() + 120  # bounded: the test kills the worker long before
    while time.monotonic() < deadline:
        time.sleep(0.1)


announcement_created.connect(_freeze_mid_publish, weak=False)
