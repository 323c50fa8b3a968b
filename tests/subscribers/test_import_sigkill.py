"""Issue 17, item 6: an admin CSV import survives a SIGKILL of its worker. The file goes in through
the admin's views (upload, dry run, import), a real Celery worker runs it, the worker and its pool
are killed mid-file, a new worker starts and the sweep (queued through the broker, as beat's tick
would) resumes the import: every row is imported once, its consent recorded once, and the
progress ends complete."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Count
from django.test import Client
from django.urls import reverse

from pipeline.subscribers.csv_io import BATCH_SIZE
from pipeline.subscribers.imports import subscriber_imports_stalled
from pipeline.subscribers.models import (
    ConsentRecord,
    ImportState,
    Subscriber,
    SubscriberImport,
    SubscriberStatus,
)
from tests.support.factories import make_series
from tests.support.processes import celery_worker, purge_queues, wait_until
from workers.tasks.subscribers import sweep_subscriber_imports

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

ROWS = 10 * BATCH_SIZE
LEASE_SECONDS = 3


def _bad(n: int) -> bool:
    return n % 500 == 499  # one row in 500 has no usable address


def _the_file() -> bytes:
    lines = ["E-mail,Full name,Series,Legal basis,Opt-in date\n"]
    for n in range(ROWS):
        address = f"reader{n}-at-example.com" if _bad(n) else f"Reader{n}@Example.com"
        proof = "consent,2024-05-31" if n % 2 == 0 else ","
        lines.append(f"{address},Reader {n},moving-well,{proof}\n")
    return "".join(lines).encode("utf-8")


def _valid_among_first(rows: int) -> int:
    return sum(1 for n in range(rows) if not _bad(n))


def _job() -> SubscriberImport:
    return SubscriberImport.objects.get()


def test_a_worker_killed_mid_import_is_resumed_and_every_row_lands_once(tmp_path, settings):
    settings.SUBSCRIBER_IMPORT_LEASE = timedelta(seconds=LEASE_SECONDS)  # as the workers have it
    purge_queues()
    make_series(title="Moving Well", slug="moving-well")
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("ops", "ops@example.com", "pw"))
    answer = client.post(reverse("subscribers_import"), {
        "file": SimpleUploadedFile("readers.csv", _the_file(), content_type="text/csv")})
    assert answer.status_code == 302
    job = _job()
    detail = reverse("subscribers_import_detail", args=[job.pk])
    mapping = {"map_email": "E-mail", "map_name": "Full name", "map_series": "Series",
               "map_consent_basis": "Legal basis", "map_consent_date": "Opt-in date"}
    env = {"DJANGO_SETTINGS_MODULE": "tests.support.worker_settings",
           "TRIAL_IMPORT_LEASE_SECONDS": str(LEASE_SECONDS)}
    valid = _valid_among_first(ROWS)

    worker = celery_worker("import0", tmp_path, concurrency=1, **env)
    try:
        assert client.post(detail, {**mapping, "action": "dry_run"}).status_code == 302
        wait_until(lambda: _job().state == ImportState.CHECKED, timeout=120, what="the dry run")
        assert _job().dry_run["created"] == valid

        assert client.post(detail, {**mapping, "action": "import"}).status_code == 302
        wait_until(lambda: _job().rows_done >= 3 * BATCH_SIZE, timeout=120,
                   what="three batches imported")
        worker.kill()
        at_kill = _job()
        assert at_kill.state == ImportState.RUNNING, "the kill came after the import had finished"
        # The batch in flight died with the worker; what committed is exactly what the progress
        # says was done (a batch and its progress commit together).
        assert Subscriber.objects.count() == _valid_among_first(at_kill.rows_done)
        assert ConsentRecord.objects.count() == _valid_among_first(at_kill.rows_done)

        worker = celery_worker("import1", tmp_path, concurrency=1, **env)
        wait_until(lambda: job.pk in subscriber_imports_stalled(), timeout=60,
                   what="the lease of the dead worker to run out")
        sweep_subscriber_imports.delay()
        wait_until(lambda: _job().state == ImportState.DONE, timeout=180,
                   what="the resumed import to finish")
    finally:
        worker.kill()

    progress = client.get(reverse("subscribers_import_progress", args=[job.pk])).json()
    assert progress["state"] == ImportState.DONE and progress["percent"] == 100
    assert progress["rows_done"] == progress["rows_total"] == ROWS
    assert progress["errors"] == ROWS - valid
    counts = progress["counts"]
    assert counts["created"] == valid and counts.get("updated", 0) == 0
    assert counts["subscribed"] + counts["pending"] == valid
    job = _job()
    assert len(job.errors) == ROWS - valid  # each bad row reported once
    assert sorted(line for line, _, _ in job.errors) == [n + 2 for n in range(ROWS) if _bad(n)]

    assert Subscriber.objects.count() == valid
    assert set(Subscriber.objects.values_list("email", flat=True)) == {
        f"reader{n}@example.com" for n in range(ROWS) if not _bad(n)}
    assert Subscriber.objects.filter(status=SubscriberStatus.SUBSCRIBED).count() == \
        counts["subscribed"]
    assert Subscriber.series.through.objects.count() == valid
    per_reader = ConsentRecord.objects.values("subscriber").annotate(n=Count("pk"))
    assert per_reader.count() == valid and {row["n"] for row in per_reader} == {1}
