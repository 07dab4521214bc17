"""Fetching: URLs → pages in a source folder, each with the record of where and when it came from.

Input: http(s) URLs. Output: for each, ``NAME.EXT`` (the page's bytes as served, decoded from any
Content-Encoding) and ``NAME.meta.json``
(:class:`kgbuild.sidecar.PageRecord`) in the folder, and a :class:`FetchResult` saying what happened.
``NAME`` comes from the URL alone (host, path, a short hash of the whole URL), so a URL fetched again
lands on its earlier files; ``EXT`` from the content type (.html, .pdf, .docx, .txt).

Polite: robots.txt is read once per origin and honoured (RFC 9309: a 4xx robots.txt allows all, an
unreachable one allows nothing); requests go one at a time, with a delay between two requests to one
host (the larger of the policy's and robots.txt's Crawl-delay); the User-Agent names kgbuild, its
version and where to read about it; 429, 503 and connection errors are retried with exponential
back-off, honouring Retry-After up to a bound. A page fetched before is asked for conditionally
(If-None-Match, If-Modified-Since): a 304, or a 200 with the same bytes, leaves the page and its
record as they are, so a build sees nothing changed.

Safe: only http and https; a page larger than the size limit, or slower than the time limit, is
refused; redirects are followed to a bound; and no connection is made to an address that is not
global (private, loopback, link-local, multicast, reserved) unless the policy allows it. That check
is made on every address the host resolves to, when connecting (so after each redirect too), and the
connection goes to the checked address: a name cannot resolve to another one in between.

A URL that fails is a :class:`FetchResult` naming the problem; the others are still fetched.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import ipaddress
import re
import socket
import sys
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal
from urllib.robotparser import RobotFileParser

import httpcore
import httpx

from kgbuild import __version__
from kgbuild.errors import KgbuildError, SourceError
from kgbuild.sidecar import PageRecord, read_sidecar, write_sidecar

__all__ = ["FetchPolicy", "FetchResult", "fetch", "read_url_list", "page_stem", "USER_AGENT", "PAGE_TYPES",
           "AddressRefused"]

ABOUT = "https://w3id.org/kgbuild"
USER_AGENT = f"kgbuild/{__version__} (+{ABOUT})"
ROBOTS_AGENT = "kgbuild"  # the token robots.txt rules name
# The content types kgbuild reads, and the extension each page is saved with.
PAGE_TYPES = {
    "text/html": ".html",
    "application/xhtml+xml": ".html",
    "application/pdf": ".pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "text/plain": ".txt",
}
ACCEPT = ", ".join(dict.fromkeys(PAGE_TYPES)) + ";q=0.9"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_RETRIED = frozenset({429, 503})
ROBOTS_MAX_BYTES = 500 * 1024  # RFC 9309: at least 500 KiB are read; what follows is ignored
_STEM_SLUG_CHARS = 80

State = Literal["new", "changed", "unchanged", "not modified", "failed"]


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    """How politely and how far kgbuild fetches. The defaults suit a public site."""

    delay: float = 1.0  # seconds between two requests to one host (robots.txt's Crawl-delay if larger)
    timeout: float = 30.0  # seconds one answer may take, from connecting to its last byte
    max_bytes: int = 20 * 1024 * 1024  # a larger page is refused
    retries: int = 3  # of a request answered 429 / 503 or failing to connect
    backoff: float = 1.0  # the first retry's wait in seconds; each next one waits twice as long
    max_wait: float = 120.0  # the longest wait kgbuild accepts (Retry-After, Crawl-delay); longer: give up
    max_redirects: int = 5
    allow_private: bool = False  # allow connections to private, loopback, link-local, ... addresses
    user_agent: str = USER_AGENT

    def __post_init__(self) -> None:
        for name in ("delay", "backoff"):
            if not getattr(self, name) >= 0:
                raise KgbuildError(f"fetch {name}: expected 0 or more seconds")
        for name in ("timeout", "max_wait"):
            if not getattr(self, name) > 0:
                raise KgbuildError(f"fetch {name}: expected a positive number of seconds")
        if self.max_bytes <= 0 or self.retries < 0 or self.max_redirects < 0:
            raise KgbuildError("fetch: max_bytes must be positive, retries and max_redirects 0 or more")
        if not re.fullmatch(r"[\x20-\x7e]+", self.user_agent):
            raise KgbuildError("fetch: the User-Agent (and a contact in it) must be printable ASCII on one line")


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What fetching one URL did.

    ``state``: ``new`` (no earlier copy), ``changed`` (the copy was replaced), ``unchanged`` (a 200 with
    the same bytes), ``not modified`` (a 304), ``failed`` (``problem`` says why; nothing was written).
    """

    url: str
    state: State
    path: Path | None = None  # the page's file
    problem: str | None = None


class _Refused(Exception):
    """This URL is not fetched, for the reason given (one line, for the user)."""


class AddressRefused(Exception):
    """A connection refused before it was made: the host is not global, or does not resolve."""


class _AddressRefusal(_Refused):
    """:class:`AddressRefused`, for the user: it concerns the URL, not the robots.txt it was reading."""


def page_stem(url: str) -> str:
    """The name a URL's page and record are saved under, before their extensions.

    Host and path as a slug (at most 80 characters), then ten hex digits of the SHA-256 of the URL:
    readable, safe on every file system, and different for two URLs that slug alike.

    >>> page_stem("https://www.esf.se/projekt/Projekt-A?id=1")
    'www-esf-se-projekt-projekt-a-52844f98cb'
    >>> page_stem("http://example.org/") == page_stem("http://example.org/")
    True
    """
    parts = httpx.URL(url)
    text = unicodedata.normalize("NFKD", f"{parts.host} {parts.path}").encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:_STEM_SLUG_CHARS].strip("-") or "page"
    return f"{slug}-{hashlib.sha256(url.encode()).hexdigest()[:10]}"


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _extension(content_type: str, body: bytes) -> str:
    """The page's extension from its media type; a generic or missing one is told by the bytes."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media in PAGE_TYPES:
        return PAGE_TYPES[media]
    if media in ("", "application/octet-stream", "binary/octet-stream", "application/download"):
        if body.startswith(b"%PDF-"):
            return ".pdf"
        if body.startswith(b"PK\x03\x04"):
            from kgbuild.inputs.docx import is_docx  # the reader's own test of a Word document

            if is_docx(body):
                return ".docx"
    raise _Refused(f"content type {media or '(none)'} is not one kgbuild reads (HTML, PDF, DOCX, plain text)")


def _check_address(host: str, port: int, allow_private: bool) -> list[str]:
    """Every address ``host`` resolves to, once each is known to be allowed.

    :raises AddressRefused: the host does not resolve, or one of its addresses is not global.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise AddressRefused(f"cannot resolve {host}: {getattr(exc, 'strerror', None) or exc}") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if not allow_private and (not address.is_global or address.is_multicast):
            named = f"{host} is" if host == text else f"{host} resolves to {address},"
            raise AddressRefused(f"{named} a private, loopback, link-local, multicast or reserved address "
                                 "(--allow-private allows it)")
    return addresses


class _GuardedBackend(httpcore.SyncBackend):
    """Connects only to addresses :func:`_check_address` allowed: the check and the connection use the
    same resolution, so a name cannot resolve to a public address for the check and a private one after."""

    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[tuple[int, int, int | bytes | None]] | None = None  # type: ignore[override]
                    ) -> httpcore.NetworkStream:
        error: Exception | None = None
        for address in _check_address(host, port, self.allow_private):
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)  # type: ignore[arg-type]
            except httpcore.ConnectError as exc:  # the next address may answer
                error = exc
        raise error or httpcore.ConnectError(f"{host}: no address")


def _client(policy: FetchPolicy) -> httpx.Client:
    transport = httpx.HTTPTransport()
    # httpx takes no network backend; its pool is rebuilt with the guarded one (keeping its TLS context).
    transport._pool = httpcore.ConnectionPool(ssl_context=transport._pool._ssl_context, max_connections=4,
                                              network_backend=_GuardedBackend(policy.allow_private))
    # trust_env off: an environment proxy would be connected to instead of the host, and not checked.
    return httpx.Client(transport=transport, trust_env=False, follow_redirects=False,
                        timeout=httpx.Timeout(policy.timeout),
                        headers={"User-Agent": policy.user_agent, "Accept": ACCEPT})


def _retry_after(response: httpx.Response) -> float | None:
    """Retry-After in seconds (a number, or an HTTP date), or ``None`` when absent or unreadable."""
    value = response.headers.get("retry-after", "").strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


@dataclass
class _Robots:
    parser: RobotFileParser | None = None  # None: everything allowed
    refusal: str | None = None  # robots.txt could not be read: nothing allowed, for this reason

    def allows(self, url: str) -> bool:
        return self.refusal is None and (self.parser is None or self.parser.can_fetch(ROBOTS_AGENT, url))

    def crawl_delay(self) -> float:
        if self.parser is None:
            return 0.0
        delay = self.parser.crawl_delay(ROBOTS_AGENT)
        try:
            return float(delay) if delay is not None else 0.0
        except ValueError:
            return 0.0


@dataclass
class _Fetcher:
    """One run's state: the HTTP client, each origin's robots.txt, and when each host may be asked next."""

    policy: FetchPolicy
    client: httpx.Client
    robots: dict[str, _Robots] = field(default_factory=dict)
    next_turn: dict[str, float] = field(default_factory=dict)
    host_delay: dict[str, float] = field(default_factory=dict)

    def _wait_turn(self, host: str) -> None:
        wait = self.next_turn.get(host, 0.0) - time.monotonic()
        if wait > 0:
            time.sleep(wait)

    def _done(self, host: str, extra: float = 0.0) -> None:
        """A request to ``host`` ended: the next waits the host's delay (or ``extra``, if longer)."""
        delay = max(self.host_delay.get(host, self.policy.delay), extra)
        self.next_turn[host] = max(self.next_turn.get(host, 0.0), time.monotonic() + delay)

    def _send(self, url: httpx.URL, headers: dict[str, str]) -> tuple[httpx.Response, float]:
        """One request, retried on 429 / 503 and connection errors; the answer streamed, not yet read, and
        when the request that got it was sent (the time limit counts from there, not from the waits).

        The caller must call :meth:`_finish` when done with it.
        """
        host = url.host
        for attempt in range(self.policy.retries + 1):
            self._wait_turn(host)
            wait = self.policy.backoff * 2 ** attempt
            started = time.monotonic()
            try:
                response = self.client.send(self.client.build_request("GET", url, headers=headers), stream=True)
            except AddressRefused as exc:
                raise _AddressRefusal(str(exc)) from None
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError, httpx.ReadError) as exc:
                self._done(host, wait)
                if attempt == self.policy.retries:
                    raise _Refused(f"connection failed: {exc or type(exc).__name__}") from None
                continue
            except httpx.TimeoutException:
                self._done(host)
                raise _Refused(f"no answer within the time limit ({self.policy.timeout:g} s)") from None
            except httpx.HTTPError as exc:
                self._done(host)
                raise _Refused(f"request failed: {exc or type(exc).__name__}") from None
            if response.status_code not in _RETRIED or attempt == self.policy.retries:
                return response, started
            response.close()
            asked = _retry_after(response)
            if asked is not None and asked > self.policy.max_wait:
                self._done(host, asked)
                raise _Refused(f"HTTP {response.status_code}: the server asks to retry after {asked:g} s, "
                               f"more than the {self.policy.max_wait:g} s kgbuild waits")
            self._done(host, asked if asked is not None else wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _finish(self, response: httpx.Response) -> None:
        response.close()
        self._done(response.url.host)

    def _read(self, response: httpx.Response, limit: int, started: float, truncate: bool = False) -> bytes:
        """The answer's body (decoded), at most ``limit`` bytes, within the time limit.

        :raises _Refused: the body is larger than ``limit`` (unless ``truncate``), or too slow.
        """
        declared = response.headers.get("content-length", "")
        if not truncate and declared.isascii() and declared.isdigit() and int(declared) > limit:
            raise _Refused(f"larger than the size limit ({declared} bytes > {limit} bytes)")
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_bytes():
                size += len(chunk)
                chunks.append(chunk)
                if size > limit:
                    if truncate:
                        return b"".join(chunks)[:limit]
                    raise _Refused(f"larger than the size limit ({limit} bytes)")
                if time.monotonic() - started > self.policy.timeout:
                    raise _Refused(f"slower than the time limit ({self.policy.timeout:g} s)")
        except httpx.TimeoutException:
            raise _Refused(f"slower than the time limit ({self.policy.timeout:g} s)") from None
        except httpx.HTTPError as exc:
            raise _Refused(f"the answer broke off: {exc or type(exc).__name__}") from None
        return b"".join(chunks)

    def _robots_for(self, url: httpx.URL) -> _Robots:
        origin = f"{url.scheme}://{url.netloc.decode('ascii')}"
        if origin not in self.robots:
            self.robots[origin] = self._read_robots(httpx.URL(origin + "/robots.txt"))
            self.host_delay[url.host] = max(self.host_delay.get(url.host, self.policy.delay),
                                            min(self.robots[origin].crawl_delay(), self.policy.max_wait))
        return self.robots[origin]

    def _read_robots(self, url: httpx.URL) -> _Robots:
        """RFC 9309: a 2xx is parsed, a 4xx allows all, a 5xx or no answer allows nothing."""
        for _ in range(self.policy.max_redirects + 1):
            try:
                response, started = self._send(url, {"Accept": "text/plain"})
            except _AddressRefusal:
                raise
            except _Refused as exc:
                return _Robots(refusal=f"robots.txt could not be read ({exc})")
            try:
                if response.status_code in _REDIRECTS and "location" in response.headers:
                    url = response.url.join(response.headers["location"])
                    if url.scheme not in ("http", "https"):
                        return _Robots()
                    continue
                if 200 <= response.status_code < 300:
                    body = self._read(response, ROBOTS_MAX_BYTES, started, truncate=True)
                    parser = RobotFileParser()
                    parser.parse(body.decode("utf-8", "replace").splitlines())
                    return _Robots(parser)
                if 400 <= response.status_code < 500:
                    return _Robots()
                return _Robots(refusal=f"robots.txt could not be read (HTTP {response.status_code})")
            except _Refused as exc:
                return _Robots(refusal=f"robots.txt could not be read ({exc})")
            finally:
                self._finish(response)
        return _Robots(refusal="robots.txt could not be read (too many redirects)")

    def get(self, url: str, conditional: dict[str, str]) -> tuple[httpx.Response, bytes]:
        """The final answer for ``url`` (redirects followed) and its body (empty unless a 200).

        :raises _Refused: for every reason the page is not fetched.
        """
        target = _http_url(url)
        for hop in range(self.policy.max_redirects + 1):
            robots = self._robots_for(target)
            if robots.refusal is not None:
                raise _Refused(f"{robots.refusal}; {target} not fetched" if hop else robots.refusal)
            if not robots.allows(str(target)):
                raise _Refused(f"robots.txt disallows {target}" if hop else "disallowed by robots.txt")
            response, started = self._send(target, conditional)
            try:
                if response.status_code in _REDIRECTS and "location" in response.headers:
                    location = response.headers["location"]
                    try:
                        target = _http_url(str(response.url.join(location)))
                    except (_Refused, httpx.InvalidURL) as exc:
                        raise _Refused(f"redirected to {location!r}: {exc}") from None
                    continue
                if response.status_code == 304:
                    return response, b""
                if response.status_code != 200:
                    raise _Refused(f"HTTP {response.status_code} {response.reason_phrase}".rstrip())
                return response, self._read(response, self.policy.max_bytes, started)
            finally:
                self._finish(response)
        raise _Refused(f"more than {self.policy.max_redirects} redirects")


def _http_url(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        raise _Refused("not a valid URL") from None
    if parsed.scheme not in ("http", "https"):
        raise _Refused(f"not an http(s) URL ({parsed.scheme or 'no scheme'})")
    if not parsed.host:
        raise _Refused("not an http(s) URL (no host)")
    return parsed


def _write_atomically(path: Path, data: bytes) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    partial.replace(path)


def _sha256_of(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _fetch_one(fetcher: _Fetcher, url: str, into: Path) -> FetchResult:
    stem = page_stem(url)
    try:
        previous = read_sidecar(into / stem)
    except SourceError:
        previous = None  # an unreadable record: fetched as if new, and rewritten
    earlier = into / previous.file if previous is not None else None
    conditional: dict[str, str] = {}
    if previous is not None and earlier is not None and _sha256_of(earlier) == previous.sha256:
        if previous.etag:
            conditional["If-None-Match"] = previous.etag
        if previous.last_modified:
            conditional["If-Modified-Since"] = previous.last_modified
    response, body = fetcher.get(url, conditional)
    if response.status_code == 304:
        if not conditional or earlier is None:
            raise _Refused("HTTP 304 to a request that was not conditional")
        return FetchResult(url, "not modified", earlier)
    content_type = response.headers.get("content-type", "")
    page = into / (stem + _extension(content_type, body))
    digest = hashlib.sha256(body).hexdigest()
    record = PageRecord(url=url, final_url=str(response.url), retrieved=_now(), status=response.status_code,
                        etag=response.headers.get("etag"), last_modified=response.headers.get("last-modified"),
                        content_type=content_type, sha256=digest, bytes=len(body), file=page.name)
    if previous is not None and earlier == page and previous.sha256 == digest and _sha256_of(page) == digest:
        # The same bytes: the page stays untouched and its record keeps the time they were retrieved;
        # the record changes only if the answer's validators or final URL did.
        kept = replace(record, retrieved=previous.retrieved)
        if kept != previous:
            write_sidecar(page, kept)
        return FetchResult(url, "unchanged", page)
    _write_atomically(page, body)
    write_sidecar(page, record)
    if earlier is not None and earlier != page:
        earlier.unlink(missing_ok=True)  # the page changed type (.html → .pdf): one file per URL
    return FetchResult(url, "new" if previous is None else "changed", page)


def fetch(urls: Iterable[str], into: Path, policy: FetchPolicy | None = None,
          report: Callable[[FetchResult], None] | None = None) -> list[FetchResult]:
    """Fetch each URL into the folder ``into`` (created if missing), politely; see the module's docstring.

    :param urls: http(s) URLs; each is fetched once, in the order given.
    :param into: the source folder the pages and their records are saved in.
    :param policy: delays, limits and retries (:class:`FetchPolicy`).
    :param report: called with each URL's result as soon as it is known.
    :return: one result per URL; a failed one names its problem, and the others were still fetched.
    :raises KgbuildError: when the folder cannot be created.

    >>> fetch(["ftp://example.org/a.txt"], Path("."))[0].problem
    'not an http(s) URL (ftp)'
    """
    policy = policy or FetchPolicy()
    try:
        into.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise KgbuildError(f"{into}: cannot create the folder: {exc.strerror or exc}") from None
    results: list[FetchResult] = []
    with _client(policy) as client:
        fetcher = _Fetcher(policy, client)
        for url in dict.fromkeys(u.strip() for u in urls if u.strip()):
            try:
                _http_url(url)
                result = _fetch_one(fetcher, url, into)
            except _Refused as exc:
                result = FetchResult(url, "failed", problem=str(exc))
            except OSError as exc:
                result = FetchResult(url, "failed", problem=f"cannot write into {into}: {exc.strerror or exc}")
            results.append(result)
            if report is not None:
                report(result)
    return results


def read_url_list(path: Path | None, given: Iterable[str]) -> Iterator[str]:
    """The URLs given, then those of the list file (one a line; blank lines and ``#`` comments skipped;
    ``-`` reads standard input).

    :raises KgbuildError: when the list cannot be read.
    """
    yield from given
    if path is None:
        return
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise KgbuildError(f"{path}: {getattr(exc, 'strerror', None) or exc}") from None
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            yield line
