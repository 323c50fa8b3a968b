"""Subscriber lists as CSV, in and out, streaming: flat memory whatever the file's length.

CSV from outside is hostile input. Reading refuses, with the line named: a file that is not UTF-8
(a UTF-8 byte-order mark is fine), NUL bytes, a header that does not map (no email column, a
column mapped twice, a column the file lacks, duplicate or empty header names); and fails only
its row for a bad address, a field longer than SUBSCRIBER_IMPORT_MAX_FIELD, more fields than the
header, an unknown series, a bad or future consent date. Per-row problems are reported (the
first MAX_REPORTED_ERRORS kept with their line; all counted) and nothing else is lost: the other
rows are imported.

Writing escapes formula injection: a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return gets a leading apostrophe, so a spreadsheet shows it as text instead of running
it (OWASP's CSV injection advice).

The rules of what an imported row does live in services.py (import_plan,
subscribers_import_batch); this module reads, checks, batches and counts.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time

from django.conf import settings
from django.db import IntegrityError, reset_queries, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from cms.models import SeriesPage
from pipeline.subscribers.email_address import InvalidEmail, normalize_email
from pipeline.subscribers.models import Subscriber
from pipeline.subscribers.services import (
    ImportEntry,
    ImportOutcome,
    import_plan,
    subscribers_import_batch,
)
from pipeline.subscribers.suppression import suppressed_among

FIELDS = ("email", "name", "series", "consent_basis", "consent_date", "source")
REQUIRED = ("email",)
FIELD_LABELS = {"email": "Email address", "name": "Name", "series": "Series (slugs)",
                "consent_basis": "Consent basis", "consent_date": "Consent date",
                "source": "Source"}
# Header names recognised without a mapping (lower-cased, spaces/dashes as underscores).
SYNONYMS = {
    "email": {"email", "e_mail", "email_address", "mail", "address"},
    "name": {"name", "full_name", "fullname"},
    "series": {"series", "series_slugs", "interests"},
    "consent_basis": {"consent_basis", "basis", "legal_basis", "lawful_basis"},
    "consent_date": {"consent_date", "consented_at", "opt_in_date", "optin_date", "opt_in_time",
                     "consent_time"},
    "source": {"source", "signup_source", "origin"},
}
MAX_REPORTED_ERRORS = 10_000
BATCH_SIZE = 2000
MAX_NAME = 200
MAX_BASIS = 100
MAX_SOURCE = 200
CSV_HARD_FIELD_LIMIT = 1_000_000  # beyond this the csv module itself gives up on the file
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
EXPORT_COLUMNS = ("email", "name", "status", "series", "created_at", "confirmed_at",
                  "status_changed_at")
_SPLIT_SERIES = re.compile(r"[\s,;|]+")

csv.field_size_limit(CSV_HARD_FIELD_LIMIT)


class CsvImportError(ValueError):
    """The file cannot be imported at all; ``str()`` says why and where."""


def _key(header: str) -> str:
    return re.sub(r"[\s\-]+", "_", header.strip().lower())


def open_text(binary) -> io.TextIOWrapper:
    """A strict UTF-8 text view of a binary file (a byte-order mark is skipped)."""
    return io.TextIOWrapper(binary, encoding="utf-8-sig", errors="strict", newline="")


def read_headers(binary) -> list[str]:
    """The header row, checked: the file must be UTF-8 CSV with unique, non-empty names."""
    text = open_text(binary)
    try:
        header = next(csv.reader(text), None)
    except UnicodeDecodeError:
        raise CsvImportError("The file is not UTF-8 text (line 1). Save it as CSV UTF-8.") from None
    except csv.Error as error:
        raise CsvImportError(f"Line 1 is not readable CSV: {error}.") from None
    finally:
        text.detach()
    if not header:
        raise CsvImportError("The file is empty: the first line must name the columns.")
    names = [name.strip() for name in header]
    if any(not name for name in names):
        raise CsvImportError("A column in the header (line 1) has no name.")
    if any(len(name) > 200 for name in names):
        raise CsvImportError("A column name in the header (line 1) is longer than 200 characters.")
    duplicates = sorted(name for name, n in Counter(names).items() if n > 1)
    if duplicates:
        raise CsvImportError("The header (line 1) names a column more than once: "
                             + ", ".join(duplicates[:5]) + ".")
    return names


def auto_mapping(headers: list[str]) -> dict[str, str]:
    """Field → column for the columns whose names are recognised."""
    mapping = {}
    for header in headers:
        for name, synonyms in SYNONYMS.items():
            if _key(header) in synonyms and name not in mapping:
                mapping[name] = header
    return mapping


def check_mapping(headers: list[str], mapping: dict[str, str]) -> list[str]:
    """What is wrong with a field → column mapping (empty: it is usable)."""
    problems = []
    used = {f: c for f, c in mapping.items() if c}
    for name in used:
        if name not in FIELDS:
            problems.append(f"Unknown field {name!r}.")
    for name in REQUIRED:
        if name not in used:
            problems.append(f"Choose the column that holds the {FIELD_LABELS[name].lower()}.")
    for name, column in used.items():
        if column not in headers:
            label = FIELD_LABELS.get(name, name)
            problems.append(f"The file has no column {column!r} (for {label}).")
    for column, n in Counter(used.values()).items():
        if n > 1:
            problems.append(f"The column {column!r} is chosen for more than one field.")
    return problems


def csv_safe(value) -> str:
    """A cell as text that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


@dataclass
class ImportReport:
    counts: Counter = field(default_factory=Counter)
    errors: list[tuple[int, str, str]] = field(default_factory=list)
    error_count: int = 0
    rows: int = 0

    def error(self, line: int, email: str, message: str) -> None:
        self.error_count += 1
        self.counts["errors"] += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append((line, csv_safe(email[:254]), message))

    def summary(self) -> dict:
        return {"rows": self.rows, **dict(self.counts), "errors": self.error_count}


def _parse_date(raw: str, now: datetime) -> datetime:
    value = raw.strip()
    moment = parse_datetime(value)
    if moment is None:
        day = parse_date(value)
        if day is None:
            raise ValueError(f"the consent date {value[:40]!r} is not a date "
                             "(use 2024-05-31 or 2024-05-31T09:30:00Z)")
        moment = datetime.combine(day, time(), tzinfo=timezone.get_current_timezone())
    elif timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    if moment > now:
        raise ValueError("the consent date is in the future")
    return moment


class _Rows:
    """Checked entries from a mapped CSV, with their line numbers; problems go to the report."""

    def __init__(self, binary, mapping: dict[str, str], report: ImportReport,
                 default_source: str, skip_rows: int = 0):
        self.text = open_text(binary)
        self.reader = csv.reader(self.text)
        self.report = report
        self.default_source = default_source
        self.skip_rows = skip_rows
        self.max_field = settings.SUBSCRIBER_IMPORT_MAX_FIELD
        self.now = timezone.now()
        self.series = dict(SeriesPage.objects.values_list("slug", "pk"))
        try:
            header = [h.strip() for h in next(self.reader)]
        except (StopIteration, UnicodeDecodeError, csv.Error):
            raise CsvImportError("The header (line 1) cannot be read.") from None
        self.width = len(header)
        self.index = {name: header.index(column) for name, column in mapping.items() if column}

    def _cell(self, values: list[str], name: str) -> str:
        position = self.index.get(name)
        return values[position].strip() if position is not None and position < len(values) else ""

    def _entry(self, line: int, values: list[str]) -> ImportEntry | None:
        email_raw = self._cell(values, "email")
        if len(values) > self.width:
            self.report.error(line, email_raw, f"{len(values)} fields where the header has "
                              f"{self.width}.")
            return None
        if any(len(v) > self.max_field for v in values):
            self.report.error(line, email_raw[:80], f"A field is longer than {self.max_field} "
                              "characters.")
            return None
        try:
            email = normalize_email(email_raw)
        except InvalidEmail as error:
            self.report.error(line, email_raw, str(error))
            return None
        name, basis = self._cell(values, "name"), self._cell(values, "consent_basis")
        source = self._cell(values, "source") or self.default_source
        for label, value, limit in (("name", name, MAX_NAME), ("consent basis", basis, MAX_BASIS),
                                    ("source", source, MAX_SOURCE)):
            if len(value) > limit or "\x00" in value:
                self.report.error(line, email, f"The {label} is longer than {limit} characters.")
                return None
        slugs = tuple(dict.fromkeys(s for s in _SPLIT_SERIES.split(self._cell(values, "series"))
                                    if s))
        unknown = [s for s in slugs if s not in self.series]
        if unknown:
            self.report.error(line, email, "Unknown series: " + ", ".join(unknown[:5]) + ".")
            return None
        consented_at = None
        raw_date = self._cell(values, "consent_date")
        if raw_date:
            try:
                consented_at = _parse_date(raw_date, self.now)
            except ValueError as error:
                self.report.error(line, email, str(error).capitalize() + ".")
                return None
        return ImportEntry(line=line, email=email, name=name,
                           series_ids=tuple(self.series[s] for s in slugs), series_slugs=slugs,
                           basis=basis, consented_at=consented_at, source=source)

    def batches(self, size: int) -> Iterator[list[ImportEntry]]:
        batch: list[ImportEntry] = []
        seen: dict[str, int] = {}
        line = 1
        while True:
            try:
                values = next(self.reader)
            except StopIteration:
                break
            except UnicodeDecodeError:
                raise CsvImportError(f"The file is not UTF-8 text (after line {line}). Save it "
                                     "as CSV UTF-8; nothing after that line was read.") from None
            except csv.Error as error:
                raise CsvImportError(f"Line {self.reader.line_num} is not readable CSV "
                                     f"({error}); nothing after line {line} was read.") from None
            line = self.reader.line_num
            if not any(v.strip() for v in values):
                continue  # blank lines
            self.report.rows += 1
            if self.report.rows <= self.skip_rows:
                continue
            entry = self._entry(line, values)
            if entry is None:
                continue
            if entry.email in seen:  # the same address twice in a batch: the first one counts
                self.report.error(line, entry.email, f"The same address as line "
                                  f"{seen[entry.email]}: skipped.")
                continue
            seen[entry.email] = line
            batch.append(entry)
            if len(batch) >= size:
                yield batch
                batch, seen = [], {}
        if batch:
            yield batch


def _plan(entries: list[ImportEntry]) -> dict[int, ImportOutcome]:
    emails = [e.email for e in entries]
    existing = {row["email"]: row for row in Subscriber.objects.filter(email__in=emails).values(
        "email", "status", "erased_at")}
    return import_plan(entries, existing=existing, suppressed=suppressed_among(emails))


_OUTCOME_ERRORS = {
    ImportOutcome.SUPPRESSED: "Not imported: this address was erased at its owner's request; "
                              "only its owner can subscribe it again.",
    ImportOutcome.NOT_READDED: "Not re-added: this address unsubscribed or bounced; only its "
                               "owner can subscribe it again.",
}


def _tally(report: ImportReport, batch: list[ImportEntry], plan: dict[int, ImportOutcome],
           written: dict[str, int] | None) -> None:
    """Count a written batch (or, ``written`` None, a planned one) into the report."""
    for entry in batch:
        message = _OUTCOME_ERRORS.get(plan[entry.line])
        if message:
            report.error(entry.line, entry.email, message)
            report.counts[str(plan[entry.line])] += 1
    if written is not None:
        report.counts.update({k: v for k, v in written.items() if v})
        return
    outcomes = Counter(plan.values())
    report.counts["created"] += outcomes[ImportOutcome.CREATED]
    report.counts["updated"] += outcomes[ImportOutcome.UPDATED]
    proof = sum(1 for e in batch if plan[e.line] == ImportOutcome.CREATED and e.has_proof)
    report.counts["subscribed"] += proof
    report.counts["pending"] += outcomes[ImportOutcome.CREATED] - proof


def import_csv(binary, *, mapping: dict[str, str], label: str, dry_run: bool = False,
               send_confirmation: bool = False, default_source: str = "",
               skip_rows: int = 0, batch_size: int = BATCH_SIZE,
               on_batch: Callable[[ImportReport], None] | None = None) -> ImportReport:
    """Import (or, with ``dry_run``, only plan) a mapped CSV; see the module docstring.

    ``skip_rows`` data rows are read but not imported (the resume point of an interrupted
    import); ``on_batch`` is called with the report so far inside each batch's transaction (what
    it writes commits with the batch; what it raises undoes the batch and ends the import), and
    once more at the end."""
    report = ImportReport()
    rows = _Rows(binary, mapping, report, default_source or label, skip_rows=skip_rows)
    try:
        for batch in rows.batches(batch_size):
            for attempt in range(3):
                plan = _plan(batch)
                try:
                    # The batch and the progress ``on_batch`` records commit together: a run
                    # killed between the two would otherwise import the batch again on resume.
                    with transaction.atomic():
                        written = None if dry_run else subscribers_import_batch(
                            entries=batch, plan=plan, label=label,
                            send_confirmation=send_confirmation)
                        _tally(report, batch, plan, written)
                        if on_batch:
                            on_batch(report)
                    break
                except IntegrityError:  # raised by the write, before the tally
                    if attempt == 2:  # a concurrent subscribe raced three times: give up loudly
                        raise
            reset_queries()  # with DEBUG on, Django keeps every query's SQL (megabytes a batch)
    finally:
        rows.text.detach()
    if on_batch:
        on_batch(report)
    return report


def errors_csv(errors: Iterable) -> Iterator[str]:
    """The per-row problems as CSV lines (line, email, problem), formula-escaped."""
    buffer = _Echo()
    writer = csv.writer(buffer)
    yield writer.writerow(["line", "email", "problem"])
    for line, email, message in errors:
        yield writer.writerow([line, csv_safe(email), csv_safe(message)])


class _Echo:
    def write(self, value):
        return value


def export_lines(queryset: QuerySet[Subscriber], *, chunk_size: int = 2000,
                 on_rows: Callable[[int], None] | None = None) -> Iterator[str]:
    """The subscribers of ``queryset`` as CSV lines (EXPORT_COLUMNS), streamed in chunks with
    their series; erased rows are left out. Memory stays flat: rows are read ``chunk_size`` at
    a time (a server-side cursor on PostgreSQL) and never kept."""
    writer = csv.writer(_Echo())
    yield writer.writerow(EXPORT_COLUMNS)
    through = Subscriber.series.through
    slugs = dict(SeriesPage.objects.values_list("pk", "slug"))
    rows = (queryset.filter(erased_at__isnull=True).order_by("pk")
            .values_list("pk", "email", "name", "status", "created_at", "confirmed_at",
                         "status_changed_at").iterator(chunk_size=chunk_size))
    chunk: list[tuple] = []

    def flush(chunk):
        follows: dict[int, list[str]] = {}
        for subscriber_id, series_id in through.objects.filter(
                subscriber_id__in=[r[0] for r in chunk]).values_list("subscriber_id",
                                                                     "seriespage_id"):
            follows.setdefault(subscriber_id, []).append(slugs.get(series_id, ""))
        out = []
        for pk, email, name, status, created, confirmed, changed in chunk:
            out.append(writer.writerow([
                csv_safe(email), csv_safe(name), status, " ".join(sorted(follows.get(pk, []))),
                _when(created), _when(confirmed), _when(changed)]))
        if on_rows:
            on_rows(len(chunk))
        return "".join(out)

    for row in rows:
        chunk.append(row)
        if len(chunk) >= chunk_size:
            yield flush(chunk)
            chunk = []
            reset_queries()  # with DEBUG on, Django keeps every query's SQL
    if chunk:
        yield flush(chunk)


def _when(value: datetime | date | None) -> str:
    return value.isoformat() if value else ""


def sniff_utf8(binary, *, limit: int | None = None) -> None:
    """Refuse a file that is not UTF-8 before anything is stored (reads it once, in blocks)."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
    read = 0
    line = 1
    while True:
        block = binary.read(1 << 16)
        if not block:
            break
        read += len(block)
        if limit is not None and read > limit:
            raise CsvImportError(f"The file is larger than {limit:,} bytes: split it, or use "
                                 "manage.py import_subscribers.")
        if b"\x00" in block:
            line += block[:block.index(b"\x00")].count(b"\n")
            raise CsvImportError(f"The file contains NUL bytes (near line {line}): it is not "
                                 "a text CSV file.")
        try:
            decoder.decode(block)
        except UnicodeDecodeError as error:
            line += block[:error.start].count(b"\n")
            raise CsvImportError(f"The file is not UTF-8 text (near line {line}). Save it as "
                                 "CSV UTF-8.") from None
        line += block.count(b"\n")
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise CsvImportError("The file ends in the middle of a UTF-8 character.") from None
    binary.seek(0)
