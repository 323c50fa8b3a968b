"""--fetch-images against a local HTTP server on 127.0.0.2, the one address these tests trust
(FetchPolicy.trusted_addresses): everything else on the loopback is refused as it would be in
production, so a redirect to 127.0.0.1 or localhost shows the address rule at work."""

import io
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.management import call_command
from PIL import Image as PILImage
from wagtail.images import get_image_model

from cms.models import PartPage
from pipeline.importing.services import ImportOptions, series_import_files
from pipeline.importing.services.fetching import FetchPolicy, FetchRefused, ImageFetcher
from tests.support.factories import make_series
from tests.support.importing import wxr_document, wxr_item

SERVER = "127.0.0.2"


def png(color="red", size=(8, 6)) -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


class Routes(BaseHTTPRequestHandler):
    routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
    requests: list[str] = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.requests.append(self.path)
        if self.path == "/slow.png":
            time.sleep(1)  # longer than the read timeout the test gives
        if self.path == "/trickle.png":  # a byte at a time, each well within the read timeout
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", "40")
            self.end_headers()
            for _ in range(40):
                self.wfile.write(b"\0")
                self.wfile.flush()
                time.sleep(0.05)
            return
        status, headers, body = self.routes.get(self.path, (404, {}, b"missing"))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if "Content-Length" not in headers and "Transfer-Encoding" not in headers:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if headers.get("Transfer-Encoding") == "chunked":
            for start in range(0, len(body), 4096):
                piece = body[start:start + 4096]
                self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    Routes.routes, Routes.requests = {}, []
    httpd = ThreadingHTTPServer((SERVER, 0), Routes)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    base = f"http://{SERVER}:{httpd.server_address[1]}"
    image = png()
    Routes.routes.update({
        "/ok.png": (200, {"Content-Type": "image/png"}, image),
        "/same-bytes.png": (200, {"Content-Type": "image/png"}, image),
        "/moved.png": (302, {"Location": "/ok.png"}, b""),
        "/to-loopback.png": (302, {"Location": f"http://127.0.0.1:{httpd.server_address[1]}"
                                               "/ok.png"}, b""),
        "/to-localhost.png": (302, {"Location": f"http://localhost:{httpd.server_address[1]}"
                                                "/ok.png"}, b""),
        "/big.png": (200, {"Content-Type": "image/png"}, image + b"\0" * 5000),
        "/big-chunked.png": (200, {"Content-Type": "image/png",
                                   "Transfer-Encoding": "chunked"}, image + b"\0" * 5000),
        "/page.png": (200, {"Content-Type": "text/html"}, b"<html>not an image</html>"),
        "/svg.png": (200, {"Content-Type": "image/svg+xml"}, b"<svg onload='alert(1)'/>"),
        "/fake.png": (200, {"Content-Type": "image/png"}, b"not an image at all" * 10),
        "/loop.png": (302, {"Location": "/loop.png"}, b""),
    })
    yield base
    httpd.shutdown()
    httpd.server_close()


def fetcher(**policy) -> ImageFetcher:
    return ImageFetcher(FetchPolicy(trusted_addresses=frozenset({SERVER}), **{
        "allowed_hosts": frozenset({SERVER, "127.0.0.1", "localhost"}), "max_bytes": 2048,
        **policy}))


def refusal(base: str, path: str, **policy) -> str:
    with pytest.raises(FetchRefused) as refused:
        fetcher(**policy).fetch(base + path)
    return str(refused.value)


def test_an_image_is_fetched_and_checked_by_pillow(server):
    fetched = fetcher().fetch(f"{server}/ok.png")
    assert (fetched.format, fetched.name, fetched.data) == ("PNG", "ok.png", png())


def test_a_redirect_on_the_same_host_is_followed(server):
    fetched = fetcher().fetch(f"{server}/moved.png")
    assert fetched.url == f"{server}/ok.png"
    assert Routes.requests == ["/moved.png", "/ok.png"]


@pytest.mark.parametrize("path,host", [("/to-loopback.png", "127.0.0.1"),
                                        ("/to-localhost.png", "localhost")])
def test_a_redirect_to_the_loopback_is_refused_after_resolution(server, path, host):
    """The host is on the allow-list here: the address rule alone refuses, on the redirect."""
    reason = refusal(server, path)
    assert reason.startswith(f"{host} is at ")
    assert reason.endswith("a private, loopback or link-local address")
    assert Routes.requests == [path]  # the loopback target was never asked


def test_the_loopback_is_refused_on_the_first_request_too(server):
    port = server.rsplit(":", 1)[1]
    assert "private, loopback or link-local" in refusal(f"http://127.0.0.1:{port}", "/ok.png")
    assert Routes.requests == []


def test_a_host_the_source_does_not_name_is_refused_before_any_request(server):
    reason = refusal(server, "/ok.png", allowed_hosts=frozenset({"blog.example"}))
    assert reason == f"host {SERVER} is not the site's own; add --allow-host {SERVER} to fetch " \
                     "from it"
    assert Routes.requests == []


@pytest.mark.parametrize("path,reason", [
    ("/big.png", "larger than 2 KB (5 KB)"),  # refused on Content-Length
    ("/big-chunked.png", "larger than 2 KB"),  # no length: refused while reading
    ("/page.png", "not an image we import (Content-Type 'text/html')"),
    ("/svg.png", "not an image we import (Content-Type 'image/svg+xml')"),
    ("/fake.png", "not a valid image (UnidentifiedImageError)"),
    ("/loop.png", "more than 5 redirects"),
    ("/missing.png", "the server answered 404"),
])
def test_what_is_refused(server, path, reason):
    assert refusal(server, path) == reason


def test_a_server_that_does_not_answer_in_time_is_given_up(server):
    assert refusal(server, "/slow.png", timeout=(0.5, 0.2)) == "timed out"


def test_a_server_trickling_bytes_meets_the_deadline(server):
    assert refusal(server, "/trickle.png", deadline_seconds=0.5) == "took longer than 0.5 s"


def test_non_web_addresses_are_refused():
    assert refusal("file:///etc/", "passwd") == "not an http(s) address: 'file:///etc/passwd'"


def test_each_address_is_fetched_once_per_run(server):
    once = fetcher()
    once.fetch(f"{server}/ok.png")
    once.fetch(f"{server}/ok.png")
    with pytest.raises(FetchRefused):
        once.fetch(f"{server}/page.png")
    with pytest.raises(FetchRefused):
        once.fetch(f"{server}/page.png")
    assert Routes.requests == ["/ok.png", "/page.png"]


def _export(tmp_path, base: str):
    post = wxr_item(31, "Hinge", (
        f'<figure><img src="{base}/ok.png" alt="A hinge"><figcaption>the hinge</figcaption>'
        f'</figure><p>Hinge at the hips.</p><img src="{base}/same-bytes.png" alt="Again">'
        f'<img src="{base}/page.png" alt="Not an image">'
        '<img src="https://elsewhere.example/far.jpg" alt="Elsewhere">'
    ))
    export = tmp_path / "export.xml"
    export.write_text(wxr_document(post).replace("https://blog.example", base))
    return export


@pytest.mark.django_db
def test_import_fetches_reuses_by_content_hash_and_keeps_placeholders(server, tmp_path):
    series = make_series(slug="fetch")
    options = ImportOptions(image_fetch=FetchPolicy(trusted_addresses=frozenset({SERVER})))
    report = series_import_files(series=series, paths=[_export(tmp_path, server)],
                                 options=options)
    article = report.articles[0]
    assert article.status == "created", article.error
    body = PartPage.objects.get(series=series).get_latest_revision_as_object().body
    images = [block.value for block in body if block.block_type == "image"]
    first, again, page, far = images
    assert first["image"] is not None and first["caption"] == "the hinge"
    assert (first["image"].width, first["image"].height) == (8, 6)
    assert again["image"].pk == first["image"].pk  # the same bytes: one image in the library
    assert page["image"] is None and far["image"] is None and far["alt_text"] == "Elsewhere"
    assert get_image_model().objects.count() == 1
    assert (article.images_attached, article.image_placeholders) == (2, 2)
    notes = article.notes
    assert f"image placeholder (not fetched: not an image we import (Content-Type 'text/html'))" \
           f": {server}/page.png" in notes
    assert "image placeholder (not fetched: host elsewhere.example is not the site's own; add " \
           "--allow-host elsewhere.example to fetch from it): https://elsewhere.example/far.jpg" \
           in notes

    again_report = series_import_files(series=series, paths=[_export(tmp_path, server)],
                                       options=options)
    assert again_report.articles[0].status == "unchanged"
    assert get_image_model().objects.count() == 1


@pytest.mark.django_db
def test_the_command_fetches_only_with_the_flag_and_refuses_the_loopback(server, tmp_path,
                                                                         capsys):
    make_series(slug="fetch")
    export = _export(tmp_path, server)
    call_command("import_series", "--series", "fetch", "--dry-run", str(export))
    assert Routes.requests == []
    # From the command nothing is trusted: the export's own host, 127.0.0.2, is refused by
    # the address rule (its name is allowed, it is the site's).
    call_command("import_series", "--series", "fetch", "--fetch-images",
                 "--allow-host", "*.elsewhere.example", str(export))
    out = " ".join(capsys.readouterr().out.split())
    assert Routes.requests == []
    assert f"{SERVER} is at {SERVER}, a private, loopback or link-local address" in out
    assert "images: 0 attached, 4 placeholder(s)" in out
