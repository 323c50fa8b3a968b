"""Admin CSV imports as durable jobs: the uploaded file is stored, its dry run and its import run
in a worker (``run_subscriber_import``) and write their progress on the SubscriberImport row,
which the admin's progress page reads.

A job survives a worker crash: the row keeps ``rows_done`` and the counts so far, written in
each batch's own transaction (so a batch is either imported and counted, or neither); the task
runs again (the sweep finding a job whose heartbeat is older than SUBSCRIBER_IMPORT_LEASE, or a
redelivery) and goes on from there. A run that finds ``rows_done`` moved by another run (a slow
worker taken for dead whose successor started) undoes its batch and stops: each row is
imported once.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from pipeline.subscribers.csv_io import (
    MAX_REPORTED_ERRORS,
    CsvImportError,
    ImportReport,
    check_mapping,
    import_csv,
    read_headers,
    sniff_utf8,
)
from pipeline.subscribers.models import ImportState, SubscriberImport
from pipeline.subscribers.signals import import_requested

logger = logging.getLogger(__name__)

FOLDER = "subscriber-imports"


class ImportSuperseded(Exception):
    """Another run of the same job has written progress since this one read it."""


def subscriber_import_upload(*, upload, user, max_bytes: int) -> SubscriberImport:
    """Check and store an uploaded CSV; raises CsvImportError (nothing stored) when unusable."""
    if upload.size > max_bytes:
        raise CsvImportError(f"The file is larger than {max_bytes:,} bytes: split it, or use "
                             "manage.py import_subscribers.")
    upload.seek(0)
    sniff_utf8(upload, limit=max_bytes)
    headers = read_headers(upload)
    upload.seek(0)
    stored = default_storage.save(f"{FOLDER}/{uuid.uuid4().hex}.csv", upload)
    return SubscriberImport.objects.create(
        created_by=user if user and user.is_authenticated else None,
        original_name=(upload.name or "upload.csv")[:255], stored_name=stored, size=upload.size,
        headers=headers)


def subscriber_import_start(*, import_id: int, mapping: dict[str, str], send_confirmation: bool,
                            dry_run: bool) -> SubscriberImport:
    """Queue the dry run or the import (after commit, by the signal's receiver)."""
    with transaction.atomic():
        job = SubscriberImport.objects.select_for_update().get(pk=import_id)
        busy = (ImportState.CHECKING, ImportState.QUEUED, ImportState.RUNNING, ImportState.DONE)
        if job.state in busy:
            return job
        clean = {name: column for name, column in mapping.items() if column}
        problems = check_mapping(job.headers, clean)
        if problems:
            raise CsvImportError(" ".join(problems))
        if not dry_run and job.state != ImportState.CHECKED:
            raise CsvImportError("Run the dry run first.")
        if not dry_run and (clean != job.mapping or send_confirmation != job.send_confirmation):
            raise CsvImportError("The mapping changed since the dry run: run it again.")
        job.mapping = clean
        job.send_confirmation = send_confirmation
        job.state = ImportState.CHECKING if dry_run else ImportState.QUEUED
        job.rows_done = 0
        job.counts, job.errors, job.error_count, job.last_error = {}, [], 0, ""
        job.heartbeat_at = None
        job.save()
        import_requested.send(sender=SubscriberImport, import_id=job.pk)
    return job


def _claim(import_id: int) -> SubscriberImport | None:
    now = timezone.now()
    with transaction.atomic():
        job = SubscriberImport.objects.select_for_update().filter(pk=import_id).first()
        if job is None or job.state not in (ImportState.CHECKING, ImportState.QUEUED,
                                            ImportState.RUNNING):
            return None
        if job.heartbeat_at and job.heartbeat_at > now - settings.SUBSCRIBER_IMPORT_LEASE:
            return None  # another worker has it
        if job.state == ImportState.QUEUED:
            job.state = ImportState.RUNNING
        job.heartbeat_at = now
        job.save(update_fields=["state", "heartbeat_at"])
        return job


def subscriber_import_run(*, import_id: int) -> str:
    """Run (or resume) a queued dry run or import; returns the state it ends in."""
    job = _claim(import_id)
    if job is None:
        return "not-due"
    dry_run = job.state == ImportState.CHECKING
    base_counts, base_errors = Counter(job.counts), list(job.errors)
    base_error_count, skip = job.error_count, job.rows_done
    written = {"rows_done": skip}

    def progress(report: ImportReport) -> None:
        counts = base_counts + report.counts
        # Only over this run's own last write: under another run's, this batch is undone.
        if not SubscriberImport.objects.filter(pk=job.pk, rows_done=written["rows_done"]).update(
                rows_done=report.rows, counts=dict(counts),
                errors=(base_errors + report.errors)[:MAX_REPORTED_ERRORS],
                error_count=base_error_count + report.error_count, heartbeat_at=timezone.now()):
            raise ImportSuperseded
        written["rows_done"] = report.rows

    try:
        with default_storage.open(job.stored_name, "rb") as binary:
            report = import_csv(binary, mapping=job.mapping, label=job.original_name,
                                dry_run=dry_run, send_confirmation=job.send_confirmation,
                                skip_rows=skip, on_batch=progress)
    except CsvImportError as error:
        SubscriberImport.objects.filter(pk=job.pk).update(
            state=ImportState.FAILED, last_error=str(error), finished_at=timezone.now())
        return ImportState.FAILED
    except ImportSuperseded:
        logger.warning("subscriber import %s: another run took it over; this one stops", job.pk)
        return "superseded"
    fields = {"finished_at": timezone.now(), "heartbeat_at": None}
    if dry_run:
        job.refresh_from_db()
        fields.update(state=ImportState.CHECKED, rows_total=report.rows,
                      dry_run={**job.counts, "rows": report.rows})
    else:
        fields.update(state=ImportState.DONE, rows_total=max(report.rows, job.rows_total))
    SubscriberImport.objects.filter(pk=job.pk).update(**fields)
    logger.info("subscriber import %s %s: %s", job.pk, "checked" if dry_run else "done",
                report.summary())
    return fields["state"]


def subscriber_imports_stalled() -> list[int]:
    """Jobs whose worker stopped mid-way (heartbeat older than the lease): the sweep requeues."""
    cutoff = timezone.now() - settings.SUBSCRIBER_IMPORT_LEASE
    return list(SubscriberImport.objects.filter(
        state__in=(ImportState.CHECKING, ImportState.QUEUED, ImportState.RUNNING),
        ).filter(Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, created_at__lt=cutoff)
                 ).values_list("pk", flat=True)[:20])
