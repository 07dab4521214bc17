"""Federation, both ways: SERVICE calls out of our endpoint (only to the allow-list) and engines calling in.

The outbound tests point SERVICE at a *recording server* on 127.0.0.1 that counts every connection
it accepts: a refused query must be refused (403, or 400 when it cannot be read) before pyoxigraph
runs it, so the recorder sees nothing at all. The allowed endpoint is a real ``oxigraph serve``.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import httpx
import pytest
from pyoxigraph import Literal, NamedNode, Quad, Store

from tests.conftest import stop_process
from tests.server.conftest import BASE, local_count, make_settings, running_server

PROJECT = f"{BASE}id/project/22-010-S04"
PROJECT_TITLE = "Värmlands Skolsamverkan"
# The pre-study in Klarälvdalen lists Karlstad (1780) and Kil (1715) among its municipalities; Solna (0184) it does not.
PRESTUDY = f"{BASE}id/project/digest/0caabebe770ed572"
POPULATION = "http://example.org/population"
PREFIXES = ("PREFIX kg: <https://w3id.org/kgbuild/ontology#>\n"
            "PREFIX skos: <http://www.w3.org/2004/02/skos/core#>\n"
            "PREFIX dct: <http://purl.org/dc/terms/>\n")
JSON_RESULTS = "application/sparql-results+json"
OXIGRAPH = Path(sys.executable).parent / "oxigraph"
# Written by scripts/install-comunica into the repository's git-ignored .cache/ (Comunica, Node.js >= 22 if needed)
COMUNICA_WRAPPER = Path(__file__).resolve().parents[2] / ".cache" / "comunica" / "comunica-sparql"
COMUNICA_INSTALL = "scripts/install-comunica"


# --- a recording SPARQL endpoint -----------------------------------------------------------------

class Recorder:
    """An HTTP server on 127.0.0.1 (ephemeral port) that records every connection and request.

    It answers any request with one SPARQL JSON row (``?s`` = ``http://example.org/recorded``); with
    ``hang`` seconds it keeps the client waiting that long first (until the recorder is closed); with
    ``redirect_to`` it answers 302 to that URL instead.
    """

    def __init__(self, hang: float = 0.0, redirect_to: str = "") -> None:
        self.connections = 0
        self.requests: list[tuple[str, str, bytes]] = []
        self._lock = threading.Lock()
        self._release = threading.Event()
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                with recorder._lock:
                    recorder.requests.append((self.command, self.path, body))
                if redirect_to:
                    with contextlib.suppress(OSError):
                        self.send_response(302)
                        self.send_header("Location", redirect_to)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                    return
                if hang:
                    recorder._release.wait(hang)
                data = json.dumps({"head": {"vars": ["s"]}, "results": {"bindings": [
                    {"s": {"type": "uri", "value": "http://example.org/recorded"}}]}}).encode()
                with contextlib.suppress(OSError):
                    self.send_response(200)
                    self.send_header("Content-Type", JSON_RESULTS)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)

            do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = do_OPTIONS = _answer

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def verify_request(self, request: Any, client_address: Any) -> bool:
                with recorder._lock:
                    recorder.connections += 1
                return True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that went away (a killed query worker) is expected here

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port: int = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True, name=f"recorder-{self.port}")

    def __enter__(self) -> Recorder:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def release(self) -> None:
        """Answer the requests kept waiting (``hang``), and every later one at once."""
        self._release.set()

    def seen(self) -> tuple[int, int]:
        """(connections accepted, requests read) so far."""
        with self._lock:
            return self.connections, len(self.requests)


@pytest.fixture(scope="module")
def recorder() -> Iterator[Recorder]:
    with Recorder() as rec:
        yield rec


def test_the_recorder_does_record_what_pyoxigraph_sends() -> None:
    """The control: unguarded, pyoxigraph really calls the recorder (so "zero requests" below means something)."""
    with Recorder() as rec:
        rows = list(Store().query(f"SELECT ?s WHERE {{ SERVICE <{rec.url}sparql> {{ ?s ?p ?o }} }}"))
        assert [row["s"] for row in rows] == [NamedNode("http://example.org/recorded")]
        assert rec.seen() == (1, 1)
        assert rec.requests[0][:2] == ("POST", "/sparql")


# --- outbound: refused, and nothing leaves ------------------------------------------------------

_TRIPLE = "{ ?s ?p ?o }"
# (id, query with {R} = the recorder's base URL and {HP} = its host:port, expected status)
REFUSED: list[tuple[str, str, int]] = [
    ("plain-iri", f"SELECT * WHERE {{ SERVICE <{{R}}sparql> {_TRIPLE} }}", 403),
    ("silent", f"SELECT * WHERE {{ SERVICE SILENT <{{R}}sparql> {_TRIPLE} }}", 403),
    ("lowercase-silent", f"select * where {{ sErViCe silent <{{R}}sparql> {_TRIPLE} }}", 403),
    ("variable-values", f"SELECT * WHERE {{ VALUES ?endpoint {{ <{{R}}sparql> }} SERVICE ?endpoint {_TRIPLE} }}", 403),
    ("variable-bind", f"SELECT * WHERE {{ BIND(<{{R}}sparql> AS ?e) SERVICE ?e {_TRIPLE} }}", 403),
    ("variable-dollar", f"SELECT * WHERE {{ VALUES $e {{ <{{R}}sparql> }} SERVICE $e {_TRIPLE} }}", 403),
    ("silent-variable", f"SELECT * WHERE {{ VALUES ?e {{ <{{R}}sparql> }} SERVICE SILENT ?e {_TRIPLE} }}", 403),
    ("prefixed-name", f"PREFIX r: <{{R}}>\nSELECT * WHERE {{ SERVICE r:sparql {_TRIPLE} }}", 403),
    ("empty-prefix", f"PREFIX : <{{R}}>\nSELECT * WHERE {{ SERVICE :sparql {_TRIPLE} }}", 403),
    ("base-relative", f"BASE <{{R}}>\nSELECT * WHERE {{ SERVICE <sparql> {_TRIPLE} }}", 403),
    ("base-dot-segments", f"BASE <{{R}}a/b/c>\nSELECT * WHERE {{ SERVICE <../../sparql> {_TRIPLE} }}", 403),
    ("base-absolute-path", f"BASE <{{R}}a/b/c>\nSELECT * WHERE {{ SERVICE </sparql> {_TRIPLE} }}", 403),
    ("base-then-relative-prefix", f"BASE <{{R}}>\nPREFIX r: <>\nSELECT * WHERE {{ SERVICE r:sparql {_TRIPLE} }}",
     403),
    ("escaped-iri-path", f"SELECT * WHERE {{ SERVICE <http://{{HP}}/\\u0073parql> {_TRIPLE} }}", 403),
    ("escaped-iri-colon", f"SELECT * WHERE {{ SERVICE <http\\u003A//{{HP}}/sparql> {_TRIPLE} }}", 403),
    ("escaped-iri-long-form", f"SELECT * WHERE {{ SERVICE <http://{{HP}}/\\U00000073parql> {_TRIPLE} }}", 403),
    ("escaped-keyword-end", f"SELECT * WHERE {{ SERVIC\\u0045 <{{R}}sparql> {_TRIPLE} }}", 403),
    ("escaped-keyword-start", f"SELECT * WHERE {{ \\u0053ERVICE <{{R}}sparql> {_TRIPLE} }}", 403),
    # pyoxigraph does not decode escapes outside IRIs and strings, so this one cannot be read: 400.
    ("escaped-silent", f"SELECT * WHERE {{ SERVICE \\u0053ILENT <{{R}}sparql> {_TRIPLE} }}", 400),
    ("escaped-local-name", f"PREFIX r: <{{R}}>\nSELECT * WHERE {{ SERVICE r:sp\\u0061rql {_TRIPLE} }}", 403),
    ("escaped-prefix-iri", f"PREFIX r: <http://{{HP}}/\\u0073>\nSELECT * WHERE {{ SERVICE r:parql {_TRIPLE} }}", 403),
    ("escape-ends-a-comment", f"SELECT * WHERE {{ # note\\u000A SERVICE <{{R}}sparql> {_TRIPLE} }}", 403),
    ("escaped-angle-brackets", f"SELECT * WHERE {{ SERVICE \\u003C{{R}}sparql\\u003E {_TRIPLE} }}", 400),
    ("comment-between", f"SELECT * WHERE {{ SERVICE # the endpoint:\n <{{R}}sparql> {_TRIPLE} }}", 403),
    ("no-whitespace", f"SELECT*WHERE{{SERVICE<{{R}}sparql>{_TRIPLE}}}", 403),
    ("optional", f"SELECT * WHERE {{ ?a ?b ?c OPTIONAL {{ SERVICE <{{R}}sparql> {_TRIPLE} }} }}", 403),
    ("union", f"SELECT * WHERE {{ {{ ?a ?b ?c }} UNION {{ SERVICE <{{R}}sparql> {_TRIPLE} }} }}", 403),
    ("subquery", f"SELECT * WHERE {{ {{ SELECT ?s WHERE {{ SERVICE <{{R}}sparql> {_TRIPLE} }} }} }}", 403),
    ("nested-deep", f"SELECT * WHERE {{ OPTIONAL {{ {{ SELECT * WHERE {{ {{ }} UNION {{ GRAPH ?g {{ "
                    f"SERVICE SILENT <{{R}}sparql> {_TRIPLE} }} }} }} }} }} }}", 403),
    ("filter-exists", f"SELECT * WHERE {{ ?a ?b ?c FILTER EXISTS {{ SERVICE <{{R}}sparql> {_TRIPLE} }} }}", 403),
    ("minus", f"SELECT * WHERE {{ ?a ?b ?c MINUS {{ SERVICE <{{R}}sparql> {_TRIPLE} }} }}", 403),
    ("ask", f"ASK {{ SERVICE <{{R}}sparql> {_TRIPLE} }}", 403),
    ("construct", f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ SERVICE <{{R}}sparql> {_TRIPLE} }}", 403),
    ("describe", f"DESCRIBE ?s WHERE {{ SERVICE <{{R}}sparql> {_TRIPLE} }}", 403),
]


def _send(client: httpx.Client, url: str, query: str, method: str) -> httpx.Response:
    headers = {"Accept": JSON_RESULTS}
    if method == "GET":
        return client.get(f"{url}/sparql", params={"query": query}, headers=headers)
    if method == "POST-form":
        return client.post(f"{url}/sparql", data={"query": query}, headers=headers)
    return client.post(f"{url}/sparql", content=query.encode(),
                       headers={**headers, "Content-Type": "application/sparql-query"})


@pytest.mark.parametrize("method", ["GET", "POST-form", "POST-direct"])
@pytest.mark.parametrize(("query", "status"), [pytest.param(q, s, id=i) for i, q, s in REFUSED])
def test_service_to_an_unlisted_endpoint_is_refused_and_nothing_is_fetched(
        server_url: str, recorder: Recorder, query: str, status: int, method: str) -> None:
    text = query.replace("{R}", recorder.url).replace("{HP}", f"127.0.0.1:{recorder.port}")
    with httpx.Client(timeout=20) as client:
        response = _send(client, server_url, text, method)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/plain")
    if status == 403:
        assert "allow-list" in response.text or "variable endpoint" in response.text
    assert recorder.seen() == (0, 0), recorder.requests


@pytest.fixture(scope="module")
def oxigraph_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``oxigraph serve`` on 127.0.0.1 (a free port it picks) with populations of two municipalities."""
    if not OXIGRAPH.exists():
        pytest.fail(f"the oxigraph server binary is missing at {OXIGRAPH} (pip install oxigraph)")
    root = tmp_path_factory.mktemp("oxigraph")
    data = root / "population.ttl"
    data.write_text(f"<{BASE}id/municipality/1780> <{POPULATION}> 94000 .\n"
                    f"<{BASE}id/municipality/1715> <{POPULATION}> 12000 .\n"
                    f"<{BASE}id/municipality/0184> <{POPULATION}> 85000 .\n", encoding="utf-8")
    location = root / "db"
    subprocess.run([str(OXIGRAPH), "load", "--location", str(location), "--file", str(data)],
                   check=True, capture_output=True, timeout=60)
    log = (root / "serve.log").open("wb")
    process = subprocess.Popen([str(OXIGRAPH), "serve", "--location", str(location), "--bind", "127.0.0.1:0"],
                               stdout=log, stderr=subprocess.STDOUT)
    try:
        port = _listening_port(process, time.monotonic() + 20)
        url = f"http://127.0.0.1:{port}/query"
        _wait_until_answers(url, time.monotonic() + 20)
        yield url
    finally:
        stop_process(process, timeout=5)
        log.close()


def _listening_port(process: subprocess.Popen[bytes], deadline: float) -> int:
    """The TCP port ``process`` listens on, read from /proc (it was told to bind port 0 and does not print it)."""
    proc = Path(f"/proc/{process.pid}")
    if not proc.is_dir():
        pytest.skip("needs /proc to find the port oxigraph picked")
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"oxigraph serve exited with {process.returncode}")
        inodes = set()
        for fd in (proc / "fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[len("socket:["):-1])
        for line in (proc / "net" / "tcp").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                address, port = fields[1].split(":")
                assert address == "0100007F", "oxigraph must listen on 127.0.0.1 only"
                return int(port, 16)
        time.sleep(0.05)
    raise RuntimeError("oxigraph serve did not start listening")


def _wait_until_answers(url: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, params={"query": "ASK {}"}, headers={"Accept": JSON_RESULTS}, timeout=2).is_success:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


@pytest.fixture(scope="module")
def hanging() -> Iterator[Recorder]:
    with Recorder(hang=30) as rec:
        yield rec


@pytest.fixture(scope="module")
def listed() -> Iterator[Recorder]:
    with Recorder() as rec:
        yield rec


@pytest.fixture(scope="module")
def redirecting(recorder: Recorder) -> Iterator[Recorder]:
    with Recorder(redirect_to=f"{recorder.url}sparql") as rec:
        yield rec


@pytest.fixture(scope="module")
def federating_url(bundled_store: Path, oxigraph_endpoint: str, hanging: Recorder, listed: Recorder,
                   redirecting: Recorder) -> Iterator[str]:
    """Our server with four endpoints on its allow-list and a 2 s deadline."""
    settings = make_settings(bundled_store, query_timeout=2.0, query_workers=2, service_allowlist=(
        oxigraph_endpoint, f"{hanging.url}sparql", f"{listed.url}sparql", f"{redirecting.url}sparql"))
    with running_server(settings) as url:
        yield url


def _select(url: str, query: str, timeout: float = 20) -> list[dict[str, Any]]:
    response = httpx.post(f"{url}/sparql", data={"query": query}, headers={"Accept": JSON_RESULTS}, timeout=timeout)
    assert response.status_code == 200, response.text
    bindings: list[dict[str, Any]] = response.json()["results"]["bindings"]
    return bindings


def test_allowed_endpoint_is_joined_with_our_data(federating_url: str, oxigraph_endpoint: str) -> None:
    query = PREFIXES + f"""SELECT ?code ?name ?pop WHERE {{
      <{PRESTUDY}> kg:municipality ?m .
      ?m skos:notation ?code ; skos:prefLabel ?name .
      SERVICE <{oxigraph_endpoint}> {{ ?m <{POPULATION}> ?pop }}
    }} ORDER BY ?code"""
    rows = [(r["code"]["value"], r["name"]["value"], int(r["pop"]["value"])) for r in _select(federating_url, query)]
    assert rows == [("1715", "Kil", 12000), ("1780", "Karlstad", 94000)]  # Solna (0184) is not in the project


def test_allowed_endpoint_through_a_prefix_and_a_single_municipality(federating_url: str,
                                                                      oxigraph_endpoint: str) -> None:
    endpoint_base, _, local = oxigraph_endpoint.rpartition("/")
    query = PREFIXES + f"""PREFIX ox: <{endpoint_base}/>
    SELECT ?pop WHERE {{
      ?m a kg:Municipality ; skos:notation "1780" . SERVICE ox:{local} {{ ?m <{POPULATION}> ?pop }}
    }}"""
    assert [r["pop"]["value"] for r in _select(federating_url, query)] == ["94000"]


@pytest.mark.parametrize("target", [
    "{R}other", "{R}sparql/", "{R}sparql?x=1", "{R}sparql#frag", "{R}SPARQL", "{R}", "http://localhost:{P}/sparql",
    "https://127.0.0.1:{P}/sparql", "http://127.0.0.1:{P2}/sparql", "http://127.0.0.1:0{P}/sparql",
    "http://user@127.0.0.1:{P}/sparql", "http://127.0.0.1:{P}/sparql/../sparql", "http://127.0.0.1:{P}//sparql",
])
def test_a_listed_endpoint_does_not_open_other_ports_or_paths(federating_url: str, listed: Recorder,
                                                              recorder: Recorder, target: str) -> None:
    iri = (target.replace("{R}", listed.url).replace("{P2}", str(recorder.port))
           .replace("{P}", str(listed.port)))
    before = listed.seen()
    response = httpx.post(f"{federating_url}/sparql", data={"query": f"SELECT * WHERE {{ SERVICE <{iri}> {_TRIPLE} }}"},
                          timeout=20)
    assert response.status_code == 403, response.text
    assert listed.seen() == before
    assert recorder.seen() == (0, 0)


def test_one_unlisted_service_refuses_the_whole_query(federating_url: str, listed: Recorder,
                                                      recorder: Recorder) -> None:
    before = listed.seen()
    query = (f"SELECT * WHERE {{ SERVICE <{listed.url}sparql> {_TRIPLE} "
             f"OPTIONAL {{ SERVICE SILENT <{recorder.url}sparql> {{ ?s ?q ?r }} }} }}")
    response = httpx.post(f"{federating_url}/sparql", data={"query": query}, timeout=20)
    assert response.status_code == 403, response.text
    assert listed.seen() == before
    assert recorder.seen() == (0, 0)


@pytest.mark.parametrize("query", [
    "SELECT ?s WHERE {{ SERVICE <{R}sparql> {{ ?s ?p ?o }} }}",
    "BASE <{R}>\nSELECT ?s WHERE {{ SERVICE <sparql> {{ ?s ?p ?o }} }}",
    "PREFIX r: <{R}>\nSELECT ?s WHERE {{ SERVICE SILENT r:sparql {{ ?s ?p ?o }} }}",
], ids=["iri", "base-relative", "prefixed-silent"])
def test_the_listed_endpoint_itself_is_called(federating_url: str, listed: Recorder, query: str) -> None:
    """The control for the test above: the very same recorder, named exactly, is called and answers."""
    before = listed.seen()[1]
    rows = _select(federating_url, query.format(R=listed.url))
    assert [r["s"]["value"] for r in rows] == ["http://example.org/recorded"]
    assert listed.seen()[1] == before + 1
    assert listed.requests[-1][:2] == ("POST", "/sparql")


def test_a_listed_endpoint_cannot_redirect_the_call_elsewhere(federating_url: str, redirecting: Recorder,
                                                              recorder: Recorder) -> None:
    """pyoxigraph follows no redirect: a listed endpoint answering 302 to an unlisted one is a failed call."""
    query = f"SELECT * WHERE {{ SERVICE <{redirecting.url}sparql> {_TRIPLE} }}"
    response = httpx.post(f"{federating_url}/sparql", data={"query": query}, timeout=20)
    assert response.status_code == 502, response.text
    assert "federated endpoint failed" in response.text and "redirect" in response.text
    assert redirecting.seen()[1] >= 1
    assert recorder.seen() == (0, 0)


def test_a_hanging_endpoint_meets_the_deadline_and_others_are_still_answered(
        federating_url: str, hanging: Recorder, oxigraph_endpoint: str) -> None:
    outcome: dict[str, Any] = {}

    def slow() -> None:
        started = time.monotonic()
        try:
            outcome["response"] = httpx.post(
                f"{federating_url}/sparql", data={"query": f"SELECT * WHERE {{ SERVICE <{hanging.url}sparql> "
                                                           f"{_TRIPLE} }}"}, timeout=30)
        except Exception as exc:  # noqa: BLE001 - reported by the assertions below
            outcome["error"] = exc
        outcome["elapsed"] = time.monotonic() - started

    thread = threading.Thread(target=slow, name="hanging-query")
    thread.start()
    deadline = time.monotonic() + 10
    while hanging.seen()[1] == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert hanging.seen()[1] == 1, "the allowed, hanging endpoint was never called"
    # While one worker waits on the hanging endpoint, the other answers (before that one meets its deadline).
    assert [r["t"]["value"] for r in _select(federating_url, PREFIXES + f"SELECT ?t {{ <{PROJECT}> dct:title ?t }}")] \
        == [PROJECT_TITLE]
    assert "response" not in outcome and thread.is_alive()
    thread.join(timeout=20)
    assert not thread.is_alive()
    assert "error" not in outcome, outcome.get("error")
    response = outcome["response"]
    assert response.status_code == 503, response.text
    assert "deadline" in response.text
    assert response.headers.get("retry-after")
    assert 1.5 < outcome["elapsed"] < 8
    # The killed worker was replaced: queries (federated too) go on.
    health = httpx.get(f"{federating_url}/healthz", timeout=10).json()
    assert health["queries_stopped_at_deadline"] >= 1
    for _ in range(4):
        assert _select(federating_url, PREFIXES + f"SELECT ?t {{ <{PROJECT}> dct:title ?t }}")
    query = (f"SELECT ?pop WHERE {{ SERVICE <{oxigraph_endpoint}> "
             f"{{ <{BASE}id/municipality/1715> <{POPULATION}> ?pop }} }}")
    assert [r["pop"]["value"] for r in _select(federating_url, query)] == ["12000"]


# --- inbound: other engines federate into us -----------------------------------------------------

def test_pyoxigraph_federates_into_our_endpoint(server_url: str) -> None:
    query = PREFIXES + f"SELECT ?t WHERE {{ SERVICE <{server_url}/sparql> {{ <{PROJECT}> dct:title ?t }} }}"
    rows = list(Store().query(query))
    assert [row["t"] for row in rows] == [Literal(PROJECT_TITLE, language="sv")]


def test_pyoxigraph_joins_its_own_data_with_ours(server_url: str) -> None:
    local = Store()
    local.add(Quad(NamedNode(PROJECT), NamedNode("http://example.org/note"), Literal("local note")))
    local.add(Quad(NamedNode(f"{BASE}id/project/nowhere"), NamedNode("http://example.org/note"), Literal("other")))
    query = PREFIXES + f"""SELECT ?p ?note ?t WHERE {{
      ?p <http://example.org/note> ?note .
      SERVICE <{server_url}/sparql> {{ ?p a kg:Project ; dct:title ?t }}
    }}"""
    rows = [(row["p"], row["note"], row["t"]) for row in local.query(query)]
    assert rows == [(NamedNode(PROJECT), Literal("local note"), Literal(PROJECT_TITLE, language="sv"))]


def _unavailable(message: str) -> NoReturn:
    """Skip with the reason; under ``KGBUILD_CI`` (set by ``.ci/run``, which installs Comunica) fail instead."""
    if os.environ.get("KGBUILD_CI"):
        pytest.fail(f"{message}; KGBUILD_CI is set, so the Comunica test must run")
    pytest.skip(message)


def _comunica() -> Path:
    """The Comunica CLI, installed beforehand by ``scripts/install-comunica`` (never by the test run).

    Looked for in ``KGBUILD_COMUNICA``, then in the repository's ``.cache/comunica/`` (the wrapper there runs
    it on the Node.js >= 22 installed beside it when the machine's is older), then on ``PATH``.
    """
    candidates = [Path(os.environ["KGBUILD_COMUNICA"])] if os.environ.get("KGBUILD_COMUNICA") else []
    candidates.append(COMUNICA_WRAPPER)
    if found := shutil.which("comunica-sparql"):
        candidates.append(Path(found))
    binary = next((c for c in candidates if c.exists()), None)
    if binary is None:
        _unavailable(f"Comunica is not installed; to run this test: {COMUNICA_INSTALL}")
    try:
        # --listformats starts the engine and exits 0 (its --version exits 1)
        probe = subprocess.run([str(binary), "--listformats"], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        _unavailable(f"Comunica at {binary} does not start: {exc}")
    if probe.returncode != 0:
        error = next((line for line in probe.stderr.splitlines() if "Error" in line), probe.stderr.strip()[-300:])
        _unavailable(f"Comunica at {binary} does not start: {error.strip()} (it needs Node.js >= 22; "
                     f"{COMUNICA_INSTALL} installs one beside it)")
    return binary


def test_comunica_federates_into_our_endpoint(server_url: str) -> None:
    binary = _comunica()
    query = PREFIXES + f"SELECT ?t WHERE {{ <{PROJECT}> dct:title ?t }}"
    result = subprocess.run([str(binary), f"sparql@{server_url}/sparql", query, "-t", JSON_RESULTS],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    bindings = json.loads(result.stdout)["results"]["bindings"]
    assert [(b["t"]["value"], b["t"].get("xml:lang")) for b in bindings] == [(PROJECT_TITLE, "sv")]


def test_comunica_pulling_every_row_counts_what_the_store_counts(server_url: str, bundled_store: Path) -> None:
    """Two sources (the endpoint under two host names) so that Comunica cannot push the COUNT down: it
    pulls every triple from each (``SELECT ?s ?p ?o``, a streamed answer) and counts them itself."""
    binary = _comunica()
    other_name = server_url.replace("127.0.0.1", "localhost")
    result = subprocess.run([str(binary), f"sparql@{server_url}/sparql", f"sparql@{other_name}/sparql",
                             "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", "-t", JSON_RESULTS],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    counted = int(json.loads(result.stdout)["results"]["bindings"][0]["n"]["value"])
    local = local_count(bundled_store)
    assert counted == 2 * local and local > 13000
