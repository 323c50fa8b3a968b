"""Issue 17, item 6 in a real browser (Playwright with Debian's chromium) and a real Celery
worker: an operator uploads a CSV, checks the column mapping, runs the dry run (its progress bar
shown while it waits for the worker), imports, sees the per-row problems and downloads them."""

import csv
import io

import pytest

from pipeline.subscribers.models import ImportState, Subscriber, SubscriberImport
from tests.support import processes as proc
from tests.support.factories import make_series

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

ROWS = 4500  # three batches of 2,000


def the_file(path):
    lines = ["E-mail,Full name,Series,Legal basis,Opt-in date,Where\n"]
    for n in range(ROWS):
        basis = "consent,2024-05-31" if n % 2 == 0 else ","
        lines.append(f"reader{n}@example.com,Reader {n},moving-well,{basis},fair\n")
    lines.append("not-an-address,,,,,\n")  # line ROWS + 2
    lines.append("late@example.com,,no-such-series,,,\n")  # line ROWS + 3
    path.write_text("".join(lines), encoding="utf-8")
    return path


def test_operator_imports_a_csv_with_dry_run_progress_and_row_errors(
        logged_in, live_server, screenshot, tmp_path):
    proc.purge_queues()
    make_series(title="Moving Well", slug="moving-well")
    page = logged_in
    page.goto(f"{live_server.url}/admin/snippets/subscribers/subscriber/")
    # The listing's header menu holds the import (and the CSV export of its filters).
    page.click("button[aria-label='Actions']")
    assert page.locator("a:has-text('Download CSV')").get_attribute("href").endswith(
        "?export=csv")
    page.click("a:has-text('Import CSV')")
    page.set_input_files("#id_file", str(the_file(tmp_path / "readers.csv")))
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#mapping-form")
    # The columns were recognised by name; the operator can still change them.
    assert page.input_value("#id_map_email") == "E-mail"
    assert page.input_value("#id_map_consent_basis") == "Legal basis"
    page.select_option("#id_map_source", "Where")
    page.click("button[value=dry_run]")

    # No worker yet: the job waits, and the page shows its progress bar and follows it.
    page.wait_for_selector("#import-progress")
    assert "Dry run running" in page.inner_text("#import-state")
    screenshot("subscriber-import-waiting")
    worker = proc.celery_worker("import-worker", tmp_path, concurrency=1)
    with proc.running(worker):
        page.wait_for_selector("#dry-run", timeout=120_000)
        dry_run = page.inner_text("#dry-run")
        assert f"created\t{ROWS}" in dry_run and "errors\t2" in dry_run
        assert Subscriber.objects.count() == 0  # a dry run changes nothing
        screenshot("subscriber-import-dry-run")

        page.click(f"button[value=import]:has-text('Import {ROWS + 2} rows')")
        page.wait_for_selector("#import-result", timeout=120_000)
    result = page.inner_text("#import-result")
    assert f"created\t{ROWS}" in result and f"subscribed\t{ROWS // 2}" in result
    assert "Done" in page.inner_text("#import-state")
    errors = page.inner_text("#import-errors")
    assert f"{ROWS + 2}\tnot-an-address\tInvalid email address" in errors
    assert "Unknown series: no-such-series" in errors
    screenshot("subscriber-import-done")

    with page.expect_download() as download:
        page.click("#errors-download")
    rows = list(csv.reader(io.StringIO(download.value.path().read_text(encoding="utf-8"))))
    assert [r[0] for r in rows] == ["line", str(ROWS + 2), str(ROWS + 3)]

    job = SubscriberImport.objects.get()
    assert (job.state, job.rows_done, job.error_count) == (ImportState.DONE, ROWS + 2, 2)
    assert Subscriber.objects.count() == ROWS
    reader = Subscriber.objects.get(email="reader0@example.com")
    assert reader.consents.get().form_id == "fair"
