"""Bad input: every bad file gets a clear error of its own, the good ones are imported, nothing
is half-imported, and no external entity is ever fetched."""

import http.server
import threading

import pytest

from cms.models import Offer, PartPage
from pipeline.importing.models import ImportedArticle
from pipeline.importing.services import ImportOptions, series_import_files
from pipeline.importing.services import importer as importer_module
from tests.support.factories import make_series
from tests.support.importing import wxr_document, wxr_item

pytestmark = pytest.mark.django_db

GOOD_TEXT = (
    "account My cart 0\n\nA Good Title For Testing\n\nA paragraph that is plainly content.\n"
)
SECRET = "TOP-SECRET-7f3a"


@pytest.fixture
def request_log():
    """A real HTTP server on 127.0.0.1 that records every request made to it."""
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the stdlib's name)
            seen.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"<!ENTITY leaked 'fetched'>")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], seen
    server.shutdown()
    server.server_close()


def _files(tmp_path, port):
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    laughs = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    files = {
        "empty.txt": b"",
        "whitespace.txt": b"  \n\n\t \n",
        "image.txt": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4,
        "random.bin": bytes((i * 97 + 13) % 256 for i in range(4096)),
        "malformed.xml": wxr_document(wxr_item(1, "Cut", "<p>text</p>"))[:-40].encode(),
        "not-wordpress.xml": b'<?xml version="1.0"?><feed><title>x</title></feed>',
        "billion-laughs.xml": wxr_document(
            wxr_item(2, "&lol9;", "<p>&lol9;</p>"),
            doctype=f'<!DOCTYPE rss [<!ENTITY lol0 "lol">{laughs}]>\n',
        ).encode(),
        "xxe-file.xml": wxr_document(
            wxr_item(3, "&xxe;", "<p>&xxe;</p>").replace("<![CDATA[<p>&xxe;</p>]]>", "&xxe;"),
            doctype=f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://{secret}">]>\n',
        ).encode(),
        "xxe-http.xml": wxr_document(
            wxr_item(4, "Remote", "<p>x</p>").replace("<![CDATA[<p>x</p>]]>", "&remote;"),
            doctype=f'<!DOCTYPE rss [<!ENTITY remote SYSTEM "http://127.0.0.1:{port}/x">]>\n',
        ).encode(),
        "xxe-parameter.xml": wxr_document(
            wxr_item(5, "Param", "<p>x</p>"),
            doctype=f'<!DOCTYPE rss [<!ENTITY % ext SYSTEM "http://127.0.0.1:{port}/dtd"> '
                    "%ext;]>\n",
        ).encode(),
        "wrong-declared-encoding.xml": wxr_document(
            wxr_item(6, "Caf\u00e9", "<p>Caf\u00e9 cr\u00e8me</p>")).encode("latin-1"),
        "nothing-but-markup.html": (
            b"<html><body><div><span></span></div><script>var a = '<p>';</script><p></p>"
            b"<img src='x.png'></body></html>"
        ),
        # Good files, some in unusual encodings:
        "good.txt": GOOD_TEXT.encode(),
        "latin1.txt": "Caf\u00e9 Notes On \u201cQuotes\u201d\n\nA caf\u00e9 cr\u00e8me paragraph "
                      "that says \u201chello\u201d.\n".encode("cp1252"),
        "utf16.txt": "Utf Sixteen Title Here\n\nCe texte est en UTF-16, d\u00e9j\u00e0 vu.\n"
                     .encode("utf-16"),
        "utf16-export.xml": wxr_document(wxr_item(7, "Sixteen", "<p>UTF-16 export \u00e9</p>"),
                                         encoding="UTF-16").encode("utf-16"),
        "malformed-but-readable.html": (
            b"<html><head><title>Broken Page Title</title></head><body><article>"
            b"<h1>Broken Page Title</h1><p>An unclosed paragraph with enough words to count as "
            b"the main content of a page, which trafilatura should still find without trouble."
            b"<p>Second paragraph <b>bold <i>nested</b> wrongly, still plenty of readable "
            b"words here for the extractor to keep.</article>"
        ),
    }
    paths = {}
    for name, data in files.items():
        path = tmp_path / name
        path.write_bytes(data)
        paths[name] = path
    directory = tmp_path / "a-directory"
    directory.mkdir()
    paths["a-directory"] = directory
    paths["missing.txt"] = tmp_path / "missing.txt"
    big = tmp_path / "gigantic.txt"
    with big.open("wb") as handle:
        chunk = b"All work and no play makes a very long file. " * 1024
        for _ in range(50 * 1024 * 1024 // len(chunk) + 1):
            handle.write(chunk)
    paths["gigantic.txt"] = big
    return paths


EXPECTED_ERRORS = {
    "empty.txt": "the file is empty",
    "whitespace.txt": "only whitespace",
    "image.txt": "PNG image",
    "random.bin": "binary data",
    "malformed.xml": "malformed XML at line",
    "not-wordpress.xml": "not a WordPress export",
    "billion-laughs.xml": "declares a DTD",
    "xxe-file.xml": "declares a DTD",
    "xxe-http.xml": "declares a DTD",
    "xxe-parameter.xml": "declares a DTD",
    "wrong-declared-encoding.xml": "not in the declared encoding",
    "nothing-but-markup.html": "no article text",
    "a-directory": "not a regular file",
    "missing.txt": "file not found",
    "gigantic.txt": "over the 20 MB limit",
}
GOOD = ["good.txt", "latin1.txt", "utf16.txt", "utf16-export.xml", "malformed-but-readable.html"]


def test_each_bad_file_fails_alone_and_nothing_is_fetched(tmp_path, request_log):
    port, requests_seen = request_log
    paths = _files(tmp_path, port)
    series = make_series(slug="robust")
    report = series_import_files(series=series, paths=list(paths.values()))

    errors = {f.path.rsplit("/", 1)[1]: f.error for f in report.files}
    for name, expected in EXPECTED_ERRORS.items():
        assert expected in errors[name], (name, errors[name])
    for name in GOOD:
        assert errors[name] == "", (name, errors[name])
    assert requests_seen == [], "an external entity was fetched"

    titles = set(PartPage.objects.filter(series=series).values_list("title", flat=True))
    assert titles == {"A Good Title For Testing", "Caf\u00e9 Notes On \u201cQuotes\u201d",
                      "Utf Sixteen Title Here", "Sixteen", "Broken Page Title"}
    everything = " ".join(str(p.get_latest_revision_as_object().body)
                          for p in PartPage.objects.filter(series=series))
    assert SECRET not in everything and "lollol" not in everything
    assert "caf\u00e9 cr\u00e8me paragraph that says \u201chello\u201d" in everything
    assert "d\u00e9j\u00e0 vu" in everything and "UTF-16 export \u00e9" in everything
    latin1 = next(f for f in report.files if f.path.endswith("latin1.txt"))
    assert latin1.encoding == "cp1252" and "Windows-1252" in latin1.notes[0]


def test_a_size_limit_can_be_raised(tmp_path):
    path = tmp_path / "page.txt"
    path.write_text(GOOD_TEXT + "More words. " * 200_000)  # about 2.4 MB
    series = make_series(slug="limits")
    small = series_import_files(series=series, paths=[path],
                                options=ImportOptions(max_bytes=1024 * 1024))
    assert "over the 1 MB limit" in small.files[0].error
    large = series_import_files(series=series, paths=[path],
                                options=ImportOptions(max_bytes=4 * 1024 * 1024))
    assert large.files[0].error == "" and large.count("created") == 1


def test_a_failing_article_is_rolled_back_whole_and_the_others_are_imported(
    tmp_path, monkeypatch
):
    export = tmp_path / "three.xml"
    export.write_text(wxr_document(
        wxr_item(11, "First", "<p>One.</p>"),
        wxr_item(12, "Second", "<p>Two, 35% off this week with code “second”.</p>"),
        wxr_item(13, "Third", "<p>Three.</p>"),
    ))
    real_record = importer_module._record

    def failing_record(**kwargs):
        if kwargs["draft"].title == "Second":
            raise RuntimeError("disk full while writing the import record")
        return real_record(**kwargs)

    monkeypatch.setattr(importer_module, "_record", failing_record)
    series = make_series(slug="atomic")
    report = series_import_files(series=series, paths=[export])

    statuses = {a.title: (a.status, a.error) for a in report.articles}
    assert statuses["First"][0] == statuses["Third"][0] == "created"
    assert statuses["Second"] == ("error", "RuntimeError: disk full while writing the import "
                                           "record")
    assert not report.files[0].ok
    # The failed article left nothing behind: no part, no record, no draft offer.
    assert set(PartPage.objects.filter(series=series).values_list("title", flat=True)) == {
        "First", "Third"}
    assert ImportedArticle.objects.filter(series=series).count() == 2
    assert not Offer.objects.filter(code="second").exists()

    monkeypatch.setattr(importer_module, "_record", real_record)
    again = series_import_files(series=series, paths=[export])
    assert sorted(a.status for a in again.articles) == ["created", "unchanged", "unchanged"]
    assert Offer.objects.filter(code="second", live=False).count() == 1
