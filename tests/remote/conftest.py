"""Remote stores for the tests: a real ``oxigraph serve`` and a real Virtuoso on 127.0.0.1, started here.

Each is a throw-away database in a temporary directory. Virtuoso (Debian's ``virtuoso-opensource-7-bin``)
is skipped, with the reason, only where its binary is absent and ``KGBUILD_CI`` is unset; in CI a missing
Virtuoso fails. A :class:`Proxy` in front of a store records every request and can stop the store in the
middle of a build.
"""

from __future__ import annotations

import contextlib
import http.client
import http.server
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.conftest import stop_process
from tests.server.test_federation import _listening_port

OXIGRAPH = Path(sys.executable).parent / "oxigraph"
VIRTUOSO = shutil.which("virtuoso-t") or "/usr/bin/virtuoso-t"
VIRTUOSO_INSTALL = "apt-get install virtuoso-opensource-7-bin"
# The throw-away Virtuoso's administrator: Virtuoso's initial password, used through the Digest-protected
# Graph Store endpoint as a deployment would (credentials in the environment only).
VIRTUOSO_USER, VIRTUOSO_PASSWORD = "dba", "dba"


@dataclass
class OxigraphServer:
    """``oxigraph serve`` on a database directory; can be stopped and started again on the same data."""

    location: Path
    log: Path
    union: bool = True
    process: subprocess.Popen[bytes] | None = None
    url: str = ""

    def start(self) -> str:
        if not OXIGRAPH.exists():
            pytest.fail(f"the oxigraph server binary is missing at {OXIGRAPH} (pip install oxigraph)")
        command = [str(OXIGRAPH), "serve", "--location", str(self.location), "--bind", "127.0.0.1:0",
                   "--timeout-s", "20"]  # bounds what a test's runaway query costs the shared machine
        if self.union:
            command.append("--union-default-graph")
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        port = _listening_port(self.process, time.monotonic() + 30)
        self.url = f"http://127.0.0.1:{port}/query"
        _wait_until_answers(self.url, time.monotonic() + 30)
        return self.url

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


def _wait_until_answers(url: str, deadline: float, auth: object = None) -> None:
    last = ""
    while time.monotonic() < deadline:
        try:
            response = httpx.get(url, params={"query": "ASK { ?s ?p ?o }"}, timeout=5,
                                 headers={"Accept": "application/sparql-results+json"})
            if response.is_success:
                return
            last = f"{response.status_code}"
        except httpx.HTTPError as exc:
            last = str(exc)
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer: {last}")


@contextlib.contextmanager
def oxigraph(tmp: Path, union: bool = True) -> Iterator[OxigraphServer]:
    server = OxigraphServer(tmp / "db", tmp / "serve.log", union)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def oxigraph_store(tmp_path: Path) -> Iterator[OxigraphServer]:
    """An empty Oxigraph server for one test."""
    with oxigraph(tmp_path) as server:
        yield server


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


VIRTUOSO_INI = """\
[Database]
DatabaseFile = {db}/virtuoso.db
ErrorLogFile = {db}/virtuoso.log
LockFile = {db}/virtuoso.lck
TransactionFile = {db}/virtuoso.trx
xa_persistent_file = {db}/virtuoso.pxa
ErrorLogLevel = 7
FileExtend = 200
Striping = 0
TempStorage = TempDatabase

[TempDatabase]
DatabaseFile = {db}/virtuoso-temp.db
TransactionFile = {db}/virtuoso-temp.trx

[Parameters]
ServerPort = 127.0.0.1:{sql_port}
DisableUnixSocket = 1
NumberOfBuffers = 20000
MaxDirtyBuffers = 15000
CheckpointInterval = 0
DirsAllowed = .

[HTTPServer]
ServerPort = 127.0.0.1:{http_port}
ServerThreads = 6
MaxKeepAlives = 10
KeepAliveTimeout = 10

[SPARQL]
; Virtuoso's shipped default of 10000 rows would cut kgbuild's dump copy short (and kgbuild says so).
ResultSetMaxRows = 1000000
MaxQueryExecutionTime = 20
"""


@pytest.fixture(scope="session")
def virtuoso(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A throw-away Virtuoso on 127.0.0.1; yields its SPARQL endpoint URL (``.../sparql``)."""
    if not Path(VIRTUOSO).exists():
        message = f"Virtuoso is not installed ({VIRTUOSO_INSTALL})"
        if os.environ.get("KGBUILD_CI"):
            pytest.fail(message + "; KGBUILD_CI is set, so the Virtuoso tests must run")
        pytest.skip(message)
    db = tmp_path_factory.mktemp("virtuoso")
    for attempt in range(3):
        http_port, sql_port = _free_port(), _free_port()
        (db / "virtuoso.ini").write_text(VIRTUOSO_INI.format(db=db, sql_port=sql_port, http_port=http_port),
                                         encoding="utf-8")
        log = (db / "out.log").open("ab")
        process = subprocess.Popen([VIRTUOSO, "+foreground", "+configfile", str(db / "virtuoso.ini")],
                                   stdout=log, stderr=subprocess.STDOUT, cwd=db)
        url = f"http://127.0.0.1:{http_port}/sparql"
        try:
            _wait_until_answers(url, time.monotonic() + 60)
            break
        except RuntimeError:
            process.kill()
            process.wait(timeout=10)
            log.close()
            if attempt == 2:
                raise
    try:
        yield url
    finally:
        stop_process(process, timeout=20)
        log.close()


@dataclass
class Seen:
    method: str
    path: str
    graph: str
    body: bytes


@dataclass
class Proxy:
    """An HTTP proxy on 127.0.0.1 in front of a store: records each request, forwards it to ``target``.

    ``on_request`` may act before a request is forwarded (stop the store, say); when the target cannot be
    reached the client's connection is closed without an answer, as a store that died would.
    """

    target: str  # http://host:port
    on_request: Callable[[Seen], None] | None = None
    seen: list[Seen] = field(default_factory=list)
    answered: list[Seen] = field(default_factory=list)  # requests the target answered, in the order answered
    port: int = 0

    def __post_init__(self) -> None:
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                graph = parse_qs(urlsplit(self.path).query).get("graph", [""])[0]
                seen = Seen(self.command, urlsplit(self.path).path, graph, body)
                proxy.seen.append(seen)
                if proxy.on_request:
                    proxy.on_request(seen)
                target = urlsplit(proxy.target)
                connection = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                    connection.request(self.command, self.path, body=body, headers=headers)
                    answer = connection.getresponse()
                    data = answer.read()
                except OSError:
                    self.close_connection = True
                    return
                finally:
                    # Closed before answering: a client gone by then (kgbuild's deadline) made the write
                    # below fail, and the upstream socket was left to the garbage collector's warning.
                    connection.close()
                self.send_response(answer.status, answer.reason)
                for key, value in answer.getheaders():
                    if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                proxy.answered.append(seen)

            do_GET = do_POST = do_PUT = do_DELETE = _forward

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True, name="test-proxy")
        self._thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def puts(self) -> list[str]:
        return [s.graph for s in self.seen if s.method == "PUT"]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
