"""Read one input file safely: regular files only, a size limit checked before reading, binary
files refused, and the text decoded from its BOM, as UTF-8, or as Windows-1252 (with a note)."""

import codecs
import stat
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.importing.services.errors import ImportFileError

DEFAULT_MAX_BYTES = 20 * 1024 * 1024

_BOMS = [
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
]

_MAGIC = {
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"%PDF": "a PDF document",
    b"PK\x03\x04": "a ZIP archive (or a Word/ODF document)",
    b"\x1f\x8b": "a gzip archive",
    b"\x7fELF": "a program",
}


@dataclass
class SourceFile:
    path: Path
    kind: str  # "text", "html" or "wxr"
    data: bytes
    text: str
    encoding: str
    notes: list[str] = field(default_factory=list)


def source_file_read(*, path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> SourceFile:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ImportFileError("file not found") from None
    except OSError as error:
        raise ImportFileError(f"cannot read the file: {error.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise ImportFileError("not a regular file (directories and devices are refused)")
    if info.st_size == 0:
        raise ImportFileError("the file is empty")
    if info.st_size > max_bytes:
        raise ImportFileError(
            f"the file is {info.st_size / 1_048_576:.1f} MB, over the "
            f"{max_bytes / 1_048_576:.0f} MB limit (raise it with --max-mb if it is genuine)"
        )
    with path.open("rb") as handle:
        # Read one byte past the limit: the file may have grown since stat().
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ImportFileError(f"the file grew past the {max_bytes // 1_048_576} MB limit")
    text, encoding, notes = decode_bytes(data)
    if not text.strip():
        raise ImportFileError("the file contains only whitespace")
    return SourceFile(
        path=path, kind=_guess_kind(path, text), data=data, text=text, encoding=encoding,
        notes=notes,
    )


def decode_bytes(data: bytes) -> tuple[str, str, list[str]]:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding), encoding, []
            except UnicodeDecodeError as error:
                raise ImportFileError(
                    f"the file starts with a {encoding} byte-order mark but is not valid "
                    f"{encoding} (byte {error.start})"
                ) from None
    for magic, what in _MAGIC.items():
        if data.startswith(magic):
            raise ImportFileError(f"this is {what}, not a text, HTML or WordPress export file")
    if b"\x00" in data[:65536]:
        raise ImportFileError("binary data (NUL bytes) and no UTF-16 byte-order mark: not text")
    try:
        text = data.decode("utf-8")
        encoding = "utf-8"
        notes = []
    except UnicodeDecodeError as error:
        # Scraped pages saved by old tools are often Windows-1252 (a superset of Latin-1 in
        # practice). Decode as that, but say so: the editor should check accents and quotes.
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            raise ImportFileError(
                f"not valid UTF-8 (byte {error.start}) nor Windows-1252 text"
            ) from None
        encoding = "cp1252"
        notes = [f"not valid UTF-8 (byte {error.start}); decoded as Windows-1252/Latin-1"]
    if _control_ratio(text) > 0.02:
        raise ImportFileError("binary data (control characters): not a text file")
    return text, encoding, notes


def _control_ratio(text: str) -> float:
    sample = text[:65536]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\n\r\f")
    return controls / max(len(sample), 1)


def _guess_kind(path: Path, text: str) -> str:
    head = text.lstrip("\ufeff \t\r\n")[:4096].lower()
    suffix = path.suffix.lower()
    if suffix in {".xml", ".wxr"} or head.startswith("<?xml") or head.startswith("<rss"):
        return "wxr"
    if suffix in {".html", ".htm", ".xhtml"} or head.startswith(("<!doctype html", "<html")):
        return "html"
    return "text"
