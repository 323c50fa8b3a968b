"""Download an image an article uses from its source, safely (``--fetch-images``).

The rules, each one checked on the first request and again on every redirect:
- only http:// and https:// addresses, only hosts the export or page names as its own (plus
  any given with ``--allow-host``; ``*.example.com`` allows the subdomains);
- never a private, loopback, link-local, multicast or reserved address: the host name is
  resolved, the address checked and the connection made to that very address (Saleor's
  requests-hardened), so a DNS answer that changes between check and connect cannot slip
  through; proxies from the environment are ignored, they would hide the address;
- at most ``max_redirects`` redirects, a connect and read timeout and an overall deadline;
- a size cap, checked on Content-Length and again while reading;
- an image content type (JPEG, PNG, GIF, WebP; never SVG, which can carry scripts), then
  Pillow's own check of the bytes: the format it finds must be one of those, the file must
  verify, and its pixel count stay under a cap (decompression bombs).

Anything refused raises ``FetchRefused`` with the reason in words; the caller keeps the
placeholder and notes the reason."""

import io
import time
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from urllib.parse import unquote, urljoin, urlsplit

import requests
import urllib3
from PIL import Image, UnidentifiedImageError
from requests.adapters import HTTPAdapter
from requests_hardened import Config, HTTPSession
from requests_hardened.ip_filter import InvalidIPAddress
from requests_hardened.ip_filter_adapter import IPFilterAdapter

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
CONTENT_TYPES = {"image/jpeg": "JPEG", "image/pjpeg": "JPEG", "image/png": "PNG",
                 "image/gif": "GIF", "image/webp": "WEBP"}
SUFFIXES = {"JPEG": ".jpg", "PNG": ".png", "GIF": ".gif", "WEBP": ".webp"}
CHUNK = 64 * 1024


class FetchRefused(Exception):
    """The image was not fetched; the message says why, for the report."""


@dataclass(frozen=True)
class FetchPolicy:
    allowed_hosts: frozenset[str] = frozenset()  # besides the hosts the source names
    max_bytes: int = DEFAULT_MAX_BYTES
    max_pixels: int = 50_000_000
    timeout: tuple[float, float] = (5.0, 15.0)  # connect, read (between bytes)
    deadline_seconds: float = 60.0  # the whole download
    max_redirects: int = 5
    # Exact IP literals exempt from the address rule: for tests against a local server only.
    trusted_addresses: frozenset[str] = frozenset()


@dataclass
class FetchedImage:
    url: str  # where the bytes finally came from
    data: bytes
    name: str  # a file name with the suffix of the format Pillow found
    format: str


@dataclass
class ImageFetcher:
    """One session for a whole import; each URL is fetched at most once."""

    policy: FetchPolicy
    _results: dict[str, FetchedImage | FetchRefused] = field(default_factory=dict)
    _session: requests.Session | None = None

    def fetch(self, url: str, *, hosts: frozenset[str] = frozenset()) -> FetchedImage:
        if url not in self._results:
            try:
                self._results[url] = self._download(url, hosts | self.policy.allowed_hosts)
            except FetchRefused as refused:
                self._results[url] = refused
        result = self._results[url]
        if isinstance(result, FetchRefused):
            raise result
        return result

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    # -- the download ------------------------------------------------------------------------

    def _download(self, url: str, hosts: frozenset[str]) -> FetchedImage:
        started = time.monotonic()
        response = None
        try:
            for _hop in range(self.policy.max_redirects + 1):
                _check_address(url, hosts)
                response = self._get(url)
                if not response.is_redirect:
                    break
                url = urljoin(url, response.headers["Location"])
                response.close()
            else:
                raise FetchRefused(f"more than {self.policy.max_redirects} redirects")
            data = self._body(response, started)
        except InvalidIPAddress as refused:
            raise FetchRefused(f"{urlsplit(url).hostname} is at {refused}, a private, loopback "
                               "or link-local address") from None
        except (requests.Timeout, urllib3.exceptions.TimeoutError):
            raise FetchRefused("timed out") from None
        except (requests.RequestException, urllib3.exceptions.HTTPError) as error:
            raise FetchRefused(f"{type(error).__name__}: {str(error)[:120]}") from None
        finally:
            if response is not None:
                response.close()
        image_format = self._verify(data)
        return FetchedImage(url=url, data=data, name=_file_name(url, image_format),
                            format=image_format)

    def _get(self, url: str) -> requests.Response:
        if self._session is None:
            self._session = _session(self.policy)
        return self._session.get(url, stream=True, allow_redirects=False,
                                 timeout=self.policy.timeout,
                                 headers={"Accept": "image/jpeg,image/png,image/gif,image/webp"})

    def _body(self, response: requests.Response, started: float) -> bytes:
        if response.status_code != 200:
            raise FetchRefused(f"the server answered {response.status_code}")
        content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type not in CONTENT_TYPES:
            raise FetchRefused(f"not an image we import (Content-Type {content_type or 'none'!r})")
        limit = self.policy.max_bytes
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            raise FetchRefused(f"larger than {_size(limit)} ({_size(int(declared))})")
        chunks, size = [], 0
        # read1 returns what one read of the socket brings, so a server trickling bytes meets
        # the deadline too (each read is bounded by the read timeout).
        while chunk := response.raw.read1(CHUNK, decode_content=True):
            size += len(chunk)
            if size > limit:
                raise FetchRefused(f"larger than {_size(limit)}")
            if time.monotonic() - started > self.policy.deadline_seconds:
                raise FetchRefused(f"took longer than {self.policy.deadline_seconds:g} s")
            chunks.append(chunk)
        return b"".join(chunks)

    def _verify(self, data: bytes) -> str:
        try:
            with Image.open(io.BytesIO(data)) as image:
                image_format, (width, height) = image.format, image.size
                if image_format not in SUFFIXES:
                    raise FetchRefused(f"Pillow reads it as {image_format}, not an image format "
                                       "we import")
                if width * height > self.policy.max_pixels:
                    raise FetchRefused(f"{width}×{height} pixels is too large")
                image.verify()
        except FetchRefused:
            raise
        except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError,
                ValueError) as error:
            raise FetchRefused(f"not a valid image ({type(error).__name__})") from None
        return image_format


class _Adapter(IPFilterAdapter):
    """requests-hardened's address filter, with the exact addresses a test trusts exempt."""

    def __init__(self, *, https: bool, trusted: frozenset[str]):
        super().__init__(is_https_proto=https, allow_loopback=False)
        self._trusted = trusted

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        if urlsplit(request.url).hostname in self._trusted:
            return HTTPAdapter.build_connection_pool_key_attributes(self, request, verify, cert)
        return super().build_connection_pool_key_attributes(request, verify, cert)


def _session(policy: FetchPolicy) -> requests.Session:
    session = HTTPSession(Config(
        ip_filter_enable=True, ip_filter_allow_loopback_ips=False, never_redirect=True,
        default_timeout=policy.timeout, user_agent_override="Partwork importer",
    ))
    session.trust_env = False  # an environment proxy would hide the real address
    session.mount("http://", _Adapter(https=False, trusted=policy.trusted_addresses))
    session.mount("https://", _Adapter(https=True, trusted=policy.trusted_addresses))
    return session


def _check_address(url: str, hosts: frozenset[str]) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchRefused(f"not an http(s) address: {url[:80]!r}")
    if not host_allowed(parts.hostname, hosts):
        raise FetchRefused(f"host {parts.hostname} is not the site's own; add --allow-host "
                           f"{parts.hostname} to fetch from it")


def host_allowed(host: str, hosts: frozenset[str]) -> bool:
    host = host.lower().rstrip(".")
    for allowed in hosts:
        allowed = allowed.lower().rstrip(".")
        if host == allowed or (allowed.startswith("*.") and host.endswith(allowed[1:])):
            return True
    return False


def _file_name(url: str, image_format: str) -> str:
    stem = PurePosixPath(unquote(urlsplit(url).path)).stem or "image"
    stem = "".join(c if c.isalnum() or c in "-_." else "-" for c in stem)[:80].strip(".-")
    return f"{stem or 'image'}{SUFFIXES[image_format]}"


def _size(size: int) -> str:
    return f"{size / 1_048_576:.1f} MB" if size >= 1_048_576 else f"{size / 1024:.0f} KB"
