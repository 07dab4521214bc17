"""``kgbuild fetch`` (:mod:`kgbuild.fetch`) against a real HTTP server on a loopback port, and a fetched
page built into a store.

The server runs in a thread of this process and records every request (path, headers, when), so the
tests see what kgbuild sent: its User-Agent, its conditional headers, its pace. Timings are asserted as
lower bounds only: a slow machine cannot make them fail.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from kgbuild.fetch import USER_AGENT, FetchPolicy, FetchResult, fetch, page_stem
from kgbuild.handoffs import SourceFailure
from kgbuild.iris import Iris
from kgbuild.pipeline import build
from kgbuild.sidecar import fetched_url, read_sidecar, sidecar_path
from kgbuild.sources import read_sources, source_files
from kgbuild.store import open_read_only
from tests.conftest import BASE_IRI, ROOT, SOURCES

PROJECT_TEXT = (SOURCES / "001_49fdefbf50581b3b.txt").read_bytes()
ROBOTS = b"User-agent: *\nDisallow: /private/\n"
LAST_MODIFIED = "Wed, 01 Oct 2025 08:00:00 GMT"
# Test pace: no delay, no back-off, loopback allowed. Each test that needs other values says so.
QUICK = FetchPolicy(delay=0, backoff=0, retries=2, timeout=5, allow_private=True)


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    at: float  # time.monotonic() when the request arrived


@dataclass
class Site:
    """What the test server serves, and every request it got."""

    robots_status: int = 200
    requests: list[Seen] = field(default_factory=list)
    hits: dict[str, int] = field(default_factory=dict)
    changing: bytes = b"version 1\n"


def _answer(handler: BaseHTTPRequestHandler, status: int, body: bytes = b"", content_type: str = "text/plain",
            headers: dict[str, str] | None = None, length: bool = True) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    if length:
        handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


class Handler(BaseHTTPRequestHandler):
    """HTTP/1.0: each answer closes its connection, so a body without Content-Length ends at the close."""

    server: SiteServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        site = self.server.site
        site.requests.append(Seen(self.path, {k.lower(): v for k, v in self.headers.items()}, time.monotonic()))
        site.hits[self.path] = site.hits.get(self.path, 0) + 1
        path = self.path
        if path == "/robots.txt":
            _answer(self, site.robots_status, ROBOTS if site.robots_status == 200 else b"")
        elif path in ("/page.txt", "/a.txt", "/b.txt", "/c.txt", "/private/page.txt"):
            _answer(self, 200, b"plain page " + path.encode() + b"\n", "text/plain; charset=utf-8")
        elif path == "/project.txt":
            _answer(self, 200, PROJECT_TEXT, "text/plain; charset=utf-8")
        elif path == "/redirect/1":
            _answer(self, 302, headers={"Location": "/redirect/2"})
        elif path == "/redirect/2":
            _answer(self, 301, headers={"Location": f"http://127.0.0.1:{self.server.server_port}/page.txt"})
        elif path == "/loop":
            _answer(self, 302, headers={"Location": "/loop"})
        elif path == "/to-ftp":
            _answer(self, 302, headers={"Location": "ftp://127.0.0.1/file.txt"})
        elif path == "/etag.html":
            if self.headers.get("If-None-Match") == '"v1"':
                _answer(self, 304, headers={"ETag": '"v1"'}, length=False)
            else:
                _answer(self, 200, b"<html><body>Projekt</body></html>", "text/html; charset=utf-8",
                        {"ETag": '"v1"'})
        elif path == "/modified.txt":
            if self.headers.get("If-Modified-Since") == LAST_MODIFIED:
                _answer(self, 304, length=False)
            else:
                _answer(self, 200, b"modified page\n", "text/plain", {"Last-Modified": LAST_MODIFIED})
        elif path == "/same.txt":  # no validators: a re-fetch gets the same 200
            _answer(self, 200, b"the same every time\n")
        elif path == "/changing.txt":
            _answer(self, 200, site.changing, "text/plain", {"ETag": f'"{len(site.changing)}-{site.changing[-2]}"'})
        elif path == "/slow.txt":  # nothing for 3 s
            time.sleep(3)
            _answer(self, 200, b"late\n")
        elif path == "/trickle.txt":  # every read is quick, the whole answer is slow
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            for _ in range(30):
                self.wfile.write(b"x" * 10)
                self.wfile.flush()
                time.sleep(0.1)
        elif path == "/big.txt":
            _answer(self, 200, b"x" * 5000)
        elif path == "/big-stream.txt":  # no Content-Length: the limit is found while reading
            _answer(self, 200, b"x" * 5000, length=False)
        elif path == "/flaky.txt":
            if site.hits[path] == 1:
                _answer(self, 503, b"busy", headers={"Retry-After": "0"})
            else:
                _answer(self, 200, b"there now\n")
        elif path == "/busy.txt":
            _answer(self, 503, b"busy", headers={"Retry-After": "3600"})
        elif path == "/image.png":
            _answer(self, 200, b"\x89PNG\r\n", "image/png")
        elif path == "/download":
            _answer(self, 200, b"%PDF-1.4\n%fake\n", "application/octet-stream")
        else:
            _answer(self, 404, b"not found")


class SiteServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, site: Site) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.site = site


@dataclass
class Running:
    site: Site
    base: str

    def url(self, path: str) -> str:
        return self.base + path

    def paths(self) -> list[str]:
        return [seen.path for seen in self.site.requests]


@contextmanager
def _serve(site: Site) -> Iterator[Running]:
    server = SiteServer(site)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Running(site, f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def server() -> Iterator[Running]:
    with _serve(Site()) as running:
        yield running


def _only(results: list[FetchResult]) -> FetchResult:
    [result] = results
    return result


def _fetch_one(url: str, into: Path, policy: FetchPolicy = QUICK) -> FetchResult:
    return _only(fetch([url], into, policy))


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# --- saving a page and its record -----------------------------------------------------------------

def test_a_page_is_saved_with_its_record(server: Running, tmp_path: Path) -> None:
    result = _fetch_one(server.url("/page.txt"), tmp_path)
    assert result.state == "new" and result.path is not None
    stem = page_stem(server.url("/page.txt"))
    assert result.path == tmp_path / f"{stem}.txt"
    assert _files(tmp_path) == [f"{stem}.meta.json", f"{stem}.txt"]
    assert result.path.read_bytes() == b"plain page /page.txt\n"
    record = json.loads((tmp_path / f"{stem}.meta.json").read_text(encoding="utf-8"))
    assert record["url"] == record["final_url"] == server.url("/page.txt")
    assert record["status"] == 200
    assert record["content_type"] == "text/plain; charset=utf-8"
    assert record["bytes"] == len(b"plain page /page.txt\n")
    assert len(record["sha256"]) == 64 and record["file"] == result.path.name
    assert record["retrieved"].endswith("Z") and record["retrieved"][:4].isdigit()
    assert record["etag"] is None and record["last_modified"] is None


def test_the_extension_comes_from_the_content_type_or_the_bytes(server: Running, tmp_path: Path) -> None:
    html, pdf, image = fetch([server.url(p) for p in ("/etag.html", "/download", "/image.png")], tmp_path, QUICK)
    assert html.path is not None and html.path.suffix == ".html"
    assert pdf.path is not None and pdf.path.suffix == ".pdf"  # application/octet-stream, but %PDF-
    assert image.state == "failed" and "content type image/png" in (image.problem or "")


def test_page_names_are_safe_and_stable() -> None:
    url = "https://Example.org/projekt/Värmlands skolsamverkan/../x?id=1&b=<2>"
    assert page_stem(url) == page_stem(url)
    assert all(c.isascii() and (c.isalnum() or c == "-") for c in page_stem(url))
    assert page_stem("https://example.org/a?id=1") != page_stem("https://example.org/a?id=2")


def test_the_user_agent_names_kgbuild_its_version_and_where_to_read_about_it(server: Running,
                                                                            tmp_path: Path) -> None:
    from kgbuild import __version__

    fetch([server.url("/page.txt")], tmp_path, QUICK)
    agents = {seen.headers["user-agent"] for seen in server.site.requests}
    assert agents == {USER_AGENT}
    assert USER_AGENT.startswith(f"kgbuild/{__version__} (+https://")


# --- politeness -------------------------------------------------------------------------------------

def test_robots_txt_is_read_once_and_a_disallowed_url_is_not_requested(server: Running, tmp_path: Path) -> None:
    results = fetch([server.url(p) for p in ("/a.txt", "/private/page.txt", "/b.txt")], tmp_path, QUICK)
    assert [r.state for r in results] == ["new", "failed", "new"]
    assert results[1].problem == "disallowed by robots.txt"
    assert server.paths() == ["/robots.txt", "/a.txt", "/b.txt"]


def test_a_robots_txt_that_answers_404_allows_everything(tmp_path: Path) -> None:
    with _serve(Site(robots_status=404)) as running:
        assert _fetch_one(running.url("/private/page.txt"), tmp_path).state == "new"


def test_a_robots_txt_that_answers_500_allows_nothing(tmp_path: Path) -> None:
    with _serve(Site(robots_status=500)) as running:
        results = fetch([running.url("/a.txt"), running.url("/b.txt")], tmp_path, replace_policy(retries=0))
        assert all(r.state == "failed" and "robots.txt could not be read (HTTP 500)" in (r.problem or "")
                   for r in results)
        assert running.paths() == ["/robots.txt"]  # read once, and nothing else asked


def replace_policy(**changes: object) -> FetchPolicy:
    import dataclasses

    return dataclasses.replace(QUICK, **changes)  # type: ignore[arg-type]


def test_requests_to_one_host_are_spaced_by_the_delay(server: Running, tmp_path: Path) -> None:
    fetch([server.url(p) for p in ("/a.txt", "/b.txt", "/c.txt")], tmp_path, replace_policy(delay=0.2))
    times = [seen.at for seen in server.site.requests]
    assert server.paths() == ["/robots.txt", "/a.txt", "/b.txt", "/c.txt"]
    assert all(later - earlier >= 0.2 for earlier, later in zip(times, times[1:], strict=False)), times


def test_503_is_retried_after_retry_after(server: Running, tmp_path: Path) -> None:
    result = _fetch_one(server.url("/flaky.txt"), tmp_path)
    assert result.state == "new" and result.path is not None
    assert result.path.read_bytes() == b"there now\n"
    assert server.site.hits["/flaky.txt"] == 2


def test_a_retry_after_beyond_the_bound_gives_up_at_once(server: Running, tmp_path: Path) -> None:
    result = _fetch_one(server.url("/busy.txt"), tmp_path)
    assert result.state == "failed" and "retry after 3600 s" in (result.problem or "")
    assert server.site.hits["/busy.txt"] == 1


def test_a_refused_connection_is_retried_then_one_problem(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = _fetch_one(f"http://127.0.0.1:{port}/a.txt", tmp_path, replace_policy(retries=1))
    assert result.state == "failed" and "connection failed" in (result.problem or "")
    assert _files(tmp_path) == []


# --- redirects, limits ------------------------------------------------------------------------------

def test_redirects_are_followed_and_the_final_url_recorded(server: Running, tmp_path: Path) -> None:
    result = _fetch_one(server.url("/redirect/1"), tmp_path)
    assert result.state == "new" and result.path is not None
    record = read_sidecar(result.path)
    assert record is not None
    assert record.url == server.url("/redirect/1") and record.final_url == server.url("/page.txt")
    assert result.path.name.startswith(page_stem(server.url("/redirect/1")))  # named by the URL asked for


def test_redirects_are_bounded_and_only_to_http(server: Running, tmp_path: Path) -> None:
    loop, ftp = fetch([server.url("/loop"), server.url("/to-ftp")], tmp_path, replace_policy(max_redirects=3))
    assert loop.state == "failed" and loop.problem == "more than 3 redirects"
    assert server.site.hits["/loop"] == 4
    assert ftp.state == "failed" and "redirected to 'ftp://127.0.0.1/file.txt'" in (ftp.problem or "")
    assert _files(tmp_path) == []


@pytest.mark.parametrize("path", ["/big.txt", "/big-stream.txt"])
def test_a_page_over_the_size_limit_is_refused(server: Running, tmp_path: Path, path: str) -> None:
    result = _fetch_one(server.url(path), tmp_path, replace_policy(max_bytes=1000))
    assert result.state == "failed" and "size limit" in (result.problem or "")
    assert _files(tmp_path) == []


@pytest.mark.parametrize("path", ["/slow.txt", "/trickle.txt"])
def test_a_page_over_the_time_limit_is_refused(server: Running, tmp_path: Path, path: str) -> None:
    result = _fetch_one(server.url(path), tmp_path, replace_policy(timeout=0.5))
    assert result.state == "failed" and "time limit (0.5 s)" in (result.problem or "")
    assert _files(tmp_path) == []


def test_the_time_limit_does_not_count_the_wait_for_the_hosts_turn(server: Running, tmp_path: Path) -> None:
    results = fetch([server.url("/a.txt"), server.url("/b.txt")], tmp_path, replace_policy(delay=0.6, timeout=0.5))
    assert [r.state for r in results] == ["new", "new"], [r.problem for r in results]


# --- private addresses ------------------------------------------------------------------------------

@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_private_address_is_refused_without_allow_private(server: Running, tmp_path: Path, host: str) -> None:
    url = server.url("/page.txt").replace("127.0.0.1", host)
    result = _fetch_one(url, tmp_path, replace_policy(allow_private=False))
    assert result.state == "failed" and "--allow-private" in (result.problem or "")
    assert server.site.requests == []  # not even robots.txt was asked for
    assert _files(tmp_path) == []


def test_other_schemes_and_bad_urls_are_refused(tmp_path: Path) -> None:
    results = fetch(["file:///etc/passwd", "ftp://example.org/x", "no url", "http://"], tmp_path, QUICK)
    assert [r.state for r in results] == ["failed"] * 4
    assert all("URL" in (r.problem or "") for r in results), [r.problem for r in results]


# --- fetching again ---------------------------------------------------------------------------------

def _snapshot(page: Path) -> tuple[bytes, int, bytes, int]:
    record = sidecar_path(page)
    return page.read_bytes(), page.stat().st_mtime_ns, record.read_bytes(), record.stat().st_mtime_ns


def test_a_304_to_if_none_match_changes_nothing_on_disk(server: Running, tmp_path: Path) -> None:
    first = _fetch_one(server.url("/etag.html"), tmp_path)
    assert first.path is not None
    before = _snapshot(first.path)
    time.sleep(0.05)  # a rewrite would show in the mtimes
    again = _fetch_one(server.url("/etag.html"), tmp_path)
    assert again.state == "not modified" and again.path == first.path
    assert _snapshot(first.path) == before
    assert server.site.requests[-1].headers.get("if-none-match") == '"v1"'
    assert "if-none-match" not in server.site.requests[1].headers  # the first request was not conditional


def test_a_304_to_if_modified_since_changes_nothing_on_disk(server: Running, tmp_path: Path) -> None:
    first = _fetch_one(server.url("/modified.txt"), tmp_path)
    assert first.path is not None
    record = read_sidecar(first.path)
    assert record is not None and record.last_modified == LAST_MODIFIED
    before = _snapshot(first.path)
    time.sleep(0.05)
    assert _fetch_one(server.url("/modified.txt"), tmp_path).state == "not modified"
    assert server.site.requests[-1].headers.get("if-modified-since") == LAST_MODIFIED
    assert _snapshot(first.path) == before


def test_the_same_bytes_again_leave_the_page_and_its_record_untouched(server: Running, tmp_path: Path) -> None:
    first = _fetch_one(server.url("/same.txt"), tmp_path)
    assert first.path is not None
    before = _snapshot(first.path)
    time.sleep(0.05)
    assert _fetch_one(server.url("/same.txt"), tmp_path).state == "unchanged"
    assert _snapshot(first.path) == before  # the record keeps the time these bytes were retrieved


def test_changed_bytes_replace_the_page_and_its_record(server: Running, tmp_path: Path) -> None:
    first = _fetch_one(server.url("/changing.txt"), tmp_path)
    assert first.path is not None
    old = read_sidecar(first.path)
    server.site.changing = b"version 2, longer\n"
    again = _fetch_one(server.url("/changing.txt"), tmp_path)
    assert again.state == "changed" and again.path == first.path
    assert first.path.read_bytes() == b"version 2, longer\n"
    new = read_sidecar(first.path)
    assert old is not None and new is not None
    assert new.sha256 != old.sha256 and new.etag != old.etag and new.bytes == len(b"version 2, longer\n")
    assert server.site.requests[-1].headers.get("if-none-match") == old.etag


# --- the command ------------------------------------------------------------------------------------

def kgbuild(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kgbuild", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def test_the_command_names_each_failed_url_in_one_line_and_fetches_the_others(server: Running,
                                                                              tmp_path: Path) -> None:
    urls = [server.url("/a.txt"), server.url("/private/page.txt"), "not-a-url", server.url("/big.txt"),
            server.url("/missing")]
    run = kgbuild("fetch", *urls, "--into", tmp_path / "pages", "--allow-private", "--delay", "0",
                  "--max-bytes", "1000")
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr
    assert run.stdout.splitlines() == [str(tmp_path / "pages" / f"{page_stem(urls[0])}.txt")]
    errors = [line for line in run.stderr.splitlines() if line.startswith("error: ")]
    assert errors == [
        f"error: {urls[1]}: disallowed by robots.txt",
        "error: not-a-url: not an http(s) URL (no scheme)",
        f"error: {urls[3]}: larger than the size limit (5000 bytes > 1000 bytes)",
        f"error: {urls[4]}: HTTP 404 Not Found",
    ]


def test_the_command_refuses_loopback_without_allow_private(server: Running, tmp_path: Path) -> None:
    run = kgbuild("fetch", server.url("/a.txt"), "--into", tmp_path)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert f"error: {server.url('/a.txt')}: 127.0.0.1 is a private" in run.stderr
    assert server.site.requests == []


def test_the_command_reads_a_list_of_urls(server: Running, tmp_path: Path) -> None:
    listing = tmp_path / "urls.txt"
    listing.write_text(f"# pages\n{server.url('/a.txt')}\n\n{server.url('/b.txt')}\n", encoding="utf-8")
    run = kgbuild("fetch", "--list", listing, "--into", tmp_path / "pages", "--allow-private", "--delay", "0",
                  "--contact", "ops@example.org")
    assert run.returncode == 0, run.stderr
    assert len(run.stdout.splitlines()) == 2
    assert "fetched 2 of 2 URL(s)" in run.stderr
    assert server.paths() == ["/robots.txt", "/a.txt", "/b.txt"]
    assert {seen.headers["user-agent"] for seen in server.site.requests} == {USER_AGENT[:-1] + "; ops@example.org)"}


def test_a_contact_that_would_break_the_header_is_one_line(tmp_path: Path) -> None:
    run = kgbuild("fetch", "http://example.org/", "--into", tmp_path, "--contact", "me\r\nX-Evil: 1")
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert run.stderr.startswith("error: fetch: the User-Agent")


def test_the_command_without_urls_is_one_line() -> None:
    run = kgbuild("fetch")
    assert run.returncode == 1 and run.stderr == "error: give URLs, or --list FILE\n"


# --- downstream: the build --------------------------------------------------------------------------

def test_a_fetched_pages_url_is_its_records_source_url(server: Running, tmp_path: Path) -> None:
    page = _fetch_one(server.url("/project.txt"), tmp_path).path
    assert page is not None and fetched_url(page) == server.url("/project.txt")
    [(info, result)], failures = read_sources([page])
    assert not failures and info.url == server.url("/project.txt")
    assert result.records and all(r.source_url == server.url("/project.txt") for r in result.records)


def test_a_cluster_worker_gets_the_url_read_with_the_page(server: Running, tmp_path: Path) -> None:
    from kgbuild.sources import _parse_source, _source_text

    page = _fetch_one(server.url("/project.txt"), tmp_path).path
    assert page is not None
    job = _source_text(page, read=True)  # read here: a cluster's workers may not see this folder
    assert job.url == server.url("/project.txt")
    page.unlink()
    sidecar_path(page).unlink()
    outcome = _parse_source(job, None)
    assert not isinstance(outcome, SourceFailure) and outcome[0].url == server.url("/project.txt")


@pytest.mark.parametrize("url", ["javascript:alert(1)", "http://[bad", "http://x.test/%zz"])
def test_a_broken_record_is_a_failure_of_its_source(server: Running, tmp_path: Path, url: str) -> None:
    page = _fetch_one(server.url("/project.txt"), tmp_path).path
    assert page is not None
    record = json.loads(sidecar_path(page).read_text(encoding="utf-8"))
    sidecar_path(page).write_text(json.dumps(record | {"final_url": url}), encoding="utf-8")
    parsed, [failure] = read_sources([page])
    assert parsed == [] and ("not a fetch record" in failure.problem or "not an IRI" in failure.problem)


def test_fetch_then_build_the_source_graph_is_derived_from_the_url(server: Running, tmp_path: Path) -> None:
    pages, store = tmp_path / "pages", tmp_path / "kgstore"
    url = server.url("/project.txt")
    run = kgbuild("fetch", url, "--into", pages, "--allow-private", "--delay", "0")
    assert run.returncode == 0, run.stderr
    run = kgbuild("build", pages, "--store", store)
    assert run.returncode == 0, run.stderr
    graph = Iris(BASE_IRI).graph("source", page_stem(url)).value
    ask = f"""PREFIX prov: <http://www.w3.org/ns/prov#>
              PREFIX kg: <https://w3id.org/kgbuild/ontology#>
              ASK {{ GRAPH <{graph}> {{ ?document a kg:SourceDocument ; prov:wasDerivedFrom <{url}> .
                                       ?project prov:wasDerivedFrom ?document }} }}"""
    assert bool(open_read_only(store).query(ask))
    # Fetched again (a 304 or the same bytes): the next build finds nothing changed.
    run = kgbuild("fetch", url, "--into", pages, "--allow-private", "--delay", "0")
    assert run.returncode == 0 and "unchanged:" in run.stderr, run.stderr
    report = build(source_files([pages]), store, Iris(BASE_IRI))
    assert report.ok and report.replaced == [] and len(report.unchanged) == 1, report
