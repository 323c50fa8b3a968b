"""Issue 17, item 6: the list comes in (CSV import) and goes out (CSV export), through the
service the admin and ``manage.py import_subscribers`` / ``export_subscribers`` share."""

import csv
import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from pipeline.subscribers.csv_io import (
    CsvImportError,
    auto_mapping,
    check_mapping,
    csv_safe,
    export_lines,
    import_csv,
    read_headers,
    sniff_utf8,
)
from pipeline.subscribers.models import (
    ConsentKind,
    ConsentRecord,
    ConsentSource,
    Subscriber,
    SubscriberStatus,
)
from pipeline.subscribers.personal_data import subscriber_erase
from tests.support.subscribers import confirmations_requested

pytestmark = pytest.mark.django_db

HEADER = "Email,Name,Series,Consent basis,Consent date,Source\n"


def run(text: str, **options):
    binary = io.BytesIO(text.encode("utf-8") if isinstance(text, str) else text)
    mapping = auto_mapping(read_headers(binary))
    binary.seek(0)
    return import_csv(binary, mapping=mapping, label="list.csv", **options)


def test_rows_with_proof_are_subscribed_with_their_consent_basis_date_and_source(series):
    report = run(HEADER + "  Ann@Example.COM ,Ann,moving-well,consent,2024-05-31,spring fair\n"
                 "bob@example.com,Bob,,,,\n")
    assert report.summary() == {"rows": 2, "created": 2, "subscribed": 1, "pending": 1,
                                "errors": 0}
    ann = Subscriber.objects.get(email="ann@example.com")  # normalised as everywhere else
    assert (ann.status, ann.name) == (SubscriberStatus.SUBSCRIBED, "Ann")
    assert list(ann.series.all()) == [series]
    consent = ann.consents.get()
    assert (consent.kind, consent.source, consent.basis, consent.form_id) == (
        ConsentKind.CONFIRMED, ConsentSource.IMPORT, "consent", "spring fair")
    assert consent.recorded_at.date().isoformat() == "2024-05-31"
    bob = Subscriber.objects.get(email="bob@example.com")
    assert bob.status == SubscriberStatus.PENDING  # no proof of consent: waits for the person
    assert bob.consents.get().kind == ConsentKind.GIVEN


def test_confirmation_email_is_owed_only_when_asked_and_only_without_proof(series):
    with confirmations_requested() as requested:
        run(HEADER + "ann@example.com,,,consent,2024-05-31,\nbob@example.com,,,,,\n",
            send_confirmation=True)
    bob_consent = ConsentRecord.objects.get(subscriber__email="bob@example.com")
    assert requested == [bob_consent.pk]
    assert bob_consent.confirmation_due_at is not None
    ann_consent = ConsentRecord.objects.get(subscriber__email="ann@example.com")
    assert ann_consent.confirmation_due_at is None


def test_re_import_updates_and_never_duplicates(series, other_series):
    run(HEADER + "ann@example.com,Ann,moving-well,consent,2024-05-31,\n")
    report = run(HEADER + f"ANN@example.com,Ann Smith,{other_series.slug},consent,2024-06-01,\n")
    assert report.counts["updated"] == 1 and "created" not in report.counts
    assert Subscriber.objects.count() == 1
    ann = Subscriber.objects.get()
    assert ann.name == "Ann Smith"
    assert set(ann.series.all()) == {series, other_series}  # added, never removed
    assert ann.consents.count() == 2  # each import's consent is on the record


def test_a_pending_address_with_proof_is_subscribed_through_the_status_service(series):
    run(HEADER + "ann@example.com,,,,,\n")
    run(HEADER + "ann@example.com,,,consent,2024-05-31,\n")
    ann = Subscriber.objects.get()
    assert ann.status == SubscriberStatus.SUBSCRIBED and ann.confirmed_at is not None
    assert list(ann.consents.order_by("id").values_list("kind", flat=True)) == [ConsentKind.GIVEN,
                                                                ConsentKind.CONFIRMED]


def test_unsubscribed_and_erased_addresses_are_never_re_added(series):
    Subscriber.objects.create(email="left@example.com", status=SubscriberStatus.UNSUBSCRIBED)
    erased = Subscriber.objects.create(email="gone@example.com",
                                       status=SubscriberStatus.SUBSCRIBED)
    subscriber_erase(subscriber_id=erased.pk, actor="test")
    report = run(HEADER + "left@example.com,,,consent,2024-05-31,\n"
                 "Gone@Example.com,,,consent,2024-05-31,\n")
    assert report.counts["created"] == 0 and report.error_count == 2
    assert Subscriber.objects.get(email="left@example.com").status == SubscriberStatus.UNSUBSCRIBED
    assert not Subscriber.objects.filter(email="gone@example.com").exists()
    problems = {email: message for _line, email, message in report.errors}
    assert "erased at its owner's request" in problems["gone@example.com"]
    assert "unsubscribed or bounced" in problems["left@example.com"]


def test_dry_run_reports_the_same_outcome_and_changes_nothing(series):
    Subscriber.objects.create(email="old@example.com", status=SubscriberStatus.SUBSCRIBED)
    text = HEADER + ("old@example.com,,,,,\nnew@example.com,,,consent,2024-05-31,\n"
                     "bad-address,,,,,\n")
    dry = run(text, dry_run=True)
    assert Subscriber.objects.count() == 1 and ConsentRecord.objects.count() == 0
    real = run(text)
    for key in ("rows", "created", "updated", "errors", "subscribed"):
        assert dry.summary()[key] == real.summary()[key], key


def test_bad_rows_fail_alone_with_their_line_and_the_rest_is_imported(series, settings):
    settings.SUBSCRIBER_IMPORT_MAX_FIELD = 300
    future = (timezone.now() + timedelta(days=3)).date().isoformat()
    text = (HEADER + "ok@example.com,,,,,\n"             # line 2
            "not-an-address,,,,,\n"                      # 3
            "x@example.com,,no-such-series,,,\n"         # 4
            f"y@example.com,,,consent,{future},\n"       # 5
            "z@example.com,,,consent,31/05/2024,\n"      # 6
            f"w@example.com,{'A' * 5000},,,,\n"          # 7: huge field
            "v@example.com,,,,,,extra\n"                 # 8: more fields than the header
            "ok@example.com,,,,,\n"                      # 9: same address in the batch
            "\n"                                         # blank: skipped
            "u@example.com,,,,,\n")                      # 11
    report = run(text)
    assert sorted(Subscriber.objects.values_list("email", flat=True)) == [
        "ok@example.com", "u@example.com"]
    lines = {line: message for line, _email, message in report.errors}
    assert set(lines) == {3, 4, 5, 6, 7, 8, 9}
    assert "Invalid email address" in lines[3]
    assert "Unknown series: no-such-series" in lines[4]
    assert "future" in lines[5] and "not a date" in lines[6]
    assert "longer than 300" in lines[7] and "7 fields" in lines[8]
    assert "same address as line 2" in lines[9]


@pytest.mark.parametrize("payload, message", [
    (b"Email\nann@example.com\n\xff\xfe broken\n", "not UTF-8"),
    (b"Email\nann@exa\x00mple.com\n", "NUL"),
])
def test_files_that_are_not_utf8_text_are_refused_before_anything_is_stored(payload, message):
    with pytest.raises(CsvImportError, match=message):
        sniff_utf8(io.BytesIO(payload))


def test_a_file_over_the_size_limit_is_refused():
    with pytest.raises(CsvImportError, match="larger than"):
        sniff_utf8(io.BytesIO(b"Email\n" + b"a@example.com\n" * 100), limit=500)


def test_a_bom_is_accepted_and_header_problems_are_named():
    assert read_headers(io.BytesIO("\ufeffE-mail,Name\n".encode())) == ["E-mail", "Name"]
    with pytest.raises(CsvImportError, match="more than once"):
        read_headers(io.BytesIO(b"Email,email,Email\n"))
    with pytest.raises(CsvImportError, match="no name"):
        read_headers(io.BytesIO(b"Email,,Name\n"))
    with pytest.raises(CsvImportError, match="empty"):
        read_headers(io.BytesIO(b""))
    headers = ["Mail", "Who"]
    assert check_mapping(headers, {}) == ["Choose the column that holds the email address."]
    assert "has no column 'Nope'" in " ".join(check_mapping(headers, {"email": "Nope"}))
    assert "more than one field" in " ".join(
        check_mapping(headers, {"email": "Mail", "name": "Mail"}))


def test_invalid_utf8_in_the_middle_is_refused_before_any_row_is_imported(series, tmp_path):
    text = HEADER.encode() + b"a@example.com,,,,,\n" * 5000 + b"b@example.com,\xff,,,,\n"
    source = tmp_path / "latin1.csv"
    source.write_bytes(text)
    with pytest.raises(CommandError, match="not UTF-8 text \\(near line 5002\\)"):
        call_command("import_subscribers", str(source), "--no-progress")
    assert not Subscriber.objects.exists()
    with pytest.raises(CsvImportError, match="not UTF-8"):
        # The reader itself refuses it too, once it reaches it: mid-import, after committed
        # batches (of 100 rows: one-row batches took 4,700 transactions to get there).
        run(text, batch_size=100)


def test_export_escapes_formulas_and_leaves_erased_rows_out(series):
    Subscriber.objects.create(email="ann@example.com", name="=HYPERLINK(\"http://x\")",
                              status=SubscriberStatus.SUBSCRIBED).series.add(series)
    Subscriber.objects.create(email="bob@example.com", name="+1 555", status="pending")
    gone = Subscriber.objects.create(email="gone@example.com", status="subscribed")
    subscriber_erase(subscriber_id=gone.pk, actor="test")
    rows = list(csv.DictReader(io.StringIO("".join(export_lines(Subscriber.objects.all(),
                                                                chunk_size=1)))))
    assert [r["email"] for r in rows] == ["ann@example.com", "bob@example.com"]
    assert rows[0]["name"] == "'=HYPERLINK(\"http://x\")" and rows[0]["series"] == series.slug
    assert rows[1]["name"] == "'+1 555"
    assert [csv_safe(v) for v in ("-2", "@SUM(A1)", "\tx", "plain")] == [
        "'-2", "'@SUM(A1)", "'\tx", "plain"]


def test_the_commands_round_trip_a_list(tmp_path, series):
    source = tmp_path / "in.csv"
    source.write_text("mail,full name,series,basis,consented_at\n"
                      "ann@example.com,Ann,moving-well,consent,2024-05-31\n"
                      "broken,,,,\n", encoding="utf-8")
    out = io.StringIO()
    errors = tmp_path / "errors.csv"
    call_command("import_subscribers", str(source), "--map", "email=mail", "--errors",
                 str(errors), "--no-progress", stdout=out)
    assert "created" in out.getvalue()
    assert "Invalid email address" in errors.read_text()
    exported = tmp_path / "out.csv"
    call_command("export_subscribers", "-o", str(exported), "--no-progress")
    rows = list(csv.DictReader(exported.open(encoding="utf-8")))
    assert [(r["email"], r["name"], r["status"], r["series"]) for r in rows] == [
        ("ann@example.com", "Ann", "subscribed", "moving-well")]
    # Importing the export again changes nothing but the consent trail.
    call_command("import_subscribers", str(exported), "--no-progress", stdout=io.StringIO())
    assert Subscriber.objects.count() == 1


def test_the_import_command_refuses_an_unusable_mapping(tmp_path):
    source = tmp_path / "in.csv"
    source.write_text("who,when\nann@example.com,2024\n", encoding="utf-8")
    with pytest.raises(CommandError, match="email address"):
        call_command("import_subscribers", str(source), "--no-progress")
