"""`python3 uv ...` (the README's two commands) on a machine without uv: the script in the
repository fetches uv's wheel from the package index with the standard library alone, checks its
sha256, unpacks uv into .tools/ and hands over to it. Here against a local index serving a fake
wheel, so no network is needed; .ci/readme-first-command runs it for real on Debian's Python."""

import ast
import hashlib
import http.server
import importlib.machinery
import importlib.util
import io
import json
import shutil
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "uv"


def load_script():
    loader = importlib.machinery.SourceFileLoader("uv_bootstrap", str(SCRIPT))
    spec = importlib.util.spec_from_loader("uv_bootstrap", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


bootstrap = load_script()


def test_the_script_needs_only_the_standard_library():
    tree = ast.parse(SCRIPT.read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.level == 0}
    assert imported - {"__future__"} <= sys.stdlib_module_names, imported


@pytest.mark.parametrize(("machine", "libc", "tag", "fits"), [
    ("x86_64", ("glibc", "2.36"), "manylinux_2_17_x86_64", True),
    ("x86_64", ("glibc", "2.36"), "manylinux2014_x86_64", True),
    ("x86_64", ("glibc", "2.12"), "manylinux_2_17_x86_64", False),
    ("x86_64", ("glibc", "2.36"), "musllinux_1_1_x86_64", False),
    ("x86_64", ("glibc", "2.36"), "manylinux_2_28_aarch64", False),
    ("aarch64", ("glibc", "2.39"), "manylinux_2_28_aarch64", True),
    ("x86_64", ("musl", ""), "musllinux_1_1_x86_64", True),
    ("armv6l", ("glibc", "2.31"), "linux_armv6l", True),
])
def test_the_wheel_for_this_linux_machine_is_chosen(monkeypatch, machine, libc, tag, fits):
    monkeypatch.setattr(bootstrap.sys, "platform", "linux")
    monkeypatch.setattr(bootstrap.platform, "machine", lambda: machine)
    monkeypatch.setattr(bootstrap, "_linux_libc",
                        lambda: (libc[0], bootstrap._version(libc[1] or "1.1")))
    assert bootstrap.platform_fits(tag) is fits


def test_a_pep_503_html_index_page_is_read_with_its_hashes():
    parser = bootstrap._Links()
    parser.feed('<html><body><a href="../../files/uv-1-py3-none-any.whl#sha256=abc">'
                "uv-1-py3-none-any.whl</a><br/></body></html>")
    assert parser.files == [{"filename": "uv-1-py3-none-any.whl",
                             "url": "../../files/uv-1-py3-none-any.whl",
                             "hashes": {"sha256": "abc"}}]


class _Index(http.server.BaseHTTPRequestHandler):
    wheel = b""
    listing = b""
    requests: list[str] = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.requests.append(self.path)
        if self.path == "/simple/uv/":
            body, kind = self.listing, "application/vnd.pypi.simple.v1+json"
        elif self.path.startswith("/files/"):
            body, kind = self.wheel, "application/octet-stream"
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def index(tmp_path):
    """A package index serving a fake uv wheel for this machine (uv prints its arguments)."""
    version = bootstrap.UV_VERSION
    machine = bootstrap._machine()
    name = f"uv-{version}-py3-none-manylinux_2_17_{machine}.manylinux2014_{machine}.whl"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as wheel:
        wheel.writestr(f"uv-{version}.data/scripts/uv", '#!/bin/sh\necho "fake uv: $*"\n')
    _Index.wheel = buffer.getvalue()
    _Index.requests = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Index)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def serve(digest: str | None = None) -> str:
        digest = digest or hashlib.sha256(_Index.wheel).hexdigest()
        _Index.listing = json.dumps({"files": [
            {"filename": f"uv-{version}.tar.gz", "url": "/files/sdist", "hashes": {}},
            {"filename": name, "url": f"/files/{name}", "hashes": {"sha256": digest}},
        ]}).encode()
        return f"http://127.0.0.1:{server.server_port}/simple"

    yield serve
    server.shutdown()


def _run(checkout: Path, index_url: str) -> subprocess.CompletedProcess:
    """The script in a checkout of its own, on a PATH without uv (a stock server's)."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(checkout), "UV_DEFAULT_INDEX": index_url}
    return subprocess.run([sys.executable, str(checkout / "uv"), "run", "--frozen", "pytest"],
                          cwd=checkout, env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.skipif(sys.platform != "linux" or shutil.which("uv", path="/usr/bin:/bin"),
                    reason="needs Linux with no uv in /usr/bin or /bin")
def test_without_uv_it_fetches_checks_and_hands_over_to_uv_once(tmp_path, index):
    shutil.copy(SCRIPT, tmp_path / "uv")
    first = _run(tmp_path, index())
    assert first.returncode == 0, first.stderr
    assert first.stdout == "fake uv: run --frozen pytest\n"
    assert "fetching uv" in first.stderr
    assert (tmp_path / ".tools" / f"uv-{bootstrap.UV_VERSION}" / "uv").exists()
    again = _run(tmp_path, index())
    assert again.stdout == "fake uv: run --frozen pytest\n" and again.stderr == ""
    assert sum(path.startswith("/files/") for path in _Index.requests) == 1


@pytest.mark.skipif(sys.platform != "linux", reason="the fake wheel is a Linux one")
def test_a_wheel_whose_hash_differs_from_the_index_is_refused(tmp_path, index):
    shutil.copy(SCRIPT, tmp_path / "uv")
    result = _run(tmp_path, index(digest="0" * 64))
    assert result.returncode != 0 and "nothing was installed" in result.stderr
    assert not (tmp_path / ".tools" / f"uv-{bootstrap.UV_VERSION}" / "uv").exists()
