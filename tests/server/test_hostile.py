"""Hostile requests, one row per attack, covering every class in ``design/SECURITY.md``.

Each row is sent as raw bytes (``http.client``: nothing normalised or re-encoded on the way) to a
real server with small limits. For every row: the expected status; the proof that nothing changed
(every quad in the store, counted by opening it directly, what the endpoint sees, and the store
generation); and the proof that nothing was fetched: a recording HTTP server on 127.0.0.1, named in
the SERVICE / LOAD / FROM clauses of the attacks, must have seen zero requests. No answer is a 5xx
except the documented 503 at the query deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import http.server
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

import httpx
import pytest
from pyoxigraph import Store

from kgbuild.store import open_read_only
from tests.server.conftest import BASE, make_settings, running_server

MAX_BODY = 131072
MAX_RESULT = 2_000_000  # more than is sent whole: an answer past it is aborted once begun
# What send() appends when the connection closed before the end of the body (an aborted answer).
INCOMPLETE = b"\n[the connection closed before the end of the body]"
DEADLINE = 2.0
MAX_CONCURRENT_PER_CLIENT = 2
FORM = "application/x-www-form-urlencoded"
RESET = 0  # "status" of a request the server refused by closing the connection
DIRECT = "application/sparql-query"


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen: list[str]

    def _record(self) -> None:
        self.seen.append(f"{self.command} {self.path}")
        body = b'{"head":{"vars":[]},"results":{"bindings":[]}}'
        self.send_response(200)
        self.send_header("content-type", "application/sparql-results+json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_HEAD = _record

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass


@dataclass
class Recording:
    url: str
    seen: list[str]


@pytest.fixture(scope="module")
def recorder() -> Iterator[Recording]:
    """A tiny HTTP server on 127.0.0.1 that records every request it gets (it must get none)."""
    seen: list[str] = []
    handler = type("Recorder", (_Recorder,), {"seen": seen})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True, name="test-recorder")
    thread.start()
    try:
        yield Recording(f"http://127.0.0.1:{server.server_address[1]}", seen)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_recorder_would_see_a_fetch(recorder: Recording) -> None:
    """The control: pyoxigraph itself does call a SERVICE, and the recorder sees it. So zero means zero."""
    before = len(recorder.seen)
    list(Store().query(f"SELECT * {{ SERVICE <{recorder.url}/control> {{ ?s ?p ?o }} }}"))
    assert len(recorder.seen) == before + 1
    del recorder.seen[before:]


@pytest.fixture(scope="module")
def hostile_server(bundled_store: Path) -> Iterator[str]:
    settings = make_settings(bundled_store, query_timeout=DEADLINE, max_result_bytes=MAX_RESULT,
                             max_body_bytes=MAX_BODY, max_concurrent_per_client=MAX_CONCURRENT_PER_CLIENT,
                             query_workers=2)
    with running_server(settings) as url:
        yield url


@dataclass(frozen=True)
class Raw:
    method: str
    target: str  # path and query string, sent exactly as written
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    chunked: bool = False


@dataclass(frozen=True)
class Row:
    id: str
    danger: str  # the class in SECURITY.md
    request: Callable[[str], Raw]  # recorder URL → the request
    status: int | tuple[int, ...]
    check: Callable[[http.client.HTTPResponse, bytes], None] | None = None


def get(query: str, **params: str) -> Raw:
    return Raw("GET", "/sparql?" + urlencode({"query": query, **params}, quote_via=quote))


def form(**fields: str) -> Raw:
    return Raw("POST", "/sparql", urlencode(fields, quote_via=quote).encode(), {"content-type": FORM})


def direct(query: str | bytes, media: str = DIRECT) -> Raw:
    return Raw("POST", "/sparql", query.encode() if isinstance(query, str) else query,
               {"content-type": media} if media else {})


def aborted(response: http.client.HTTPResponse, body: bytes) -> None:
    """Begun, then aborted at the size bound: never a short answer that ends well."""
    assert body.endswith(INCOMPLETE), body[-300:]
    assert b"this answer is incomplete and was aborted" in body[-1000:]
    assert len(body) <= MAX_RESULT + 1000


def deadline_message(response: http.client.HTTPResponse, body: bytes) -> None:
    assert f"{DEADLINE:g} s deadline".encode() in body
    assert response.getheader("retry-after")


def values_count(n: int) -> Callable[[http.client.HTTPResponse, bytes], None]:
    def check(response: http.client.HTTPResponse, body: bytes) -> None:
        assert f'"value":"{n}"'.encode() in body, body[:200]
    return check


def not_found_no_content(response: http.client.HTTPResponse, body: bytes) -> None:
    for secret in (b"root:", b"[project]", b"gen-0000", b"import "):
        assert secret not in body


def _values(n: int) -> str:
    return f"SELECT (COUNT(*) AS ?n) {{ VALUES ?x {{ {' '.join(str(i) for i in range(n))} }} }}"


def _iri_values(rec: str, n: int) -> str:
    return f"SELECT (COUNT(*) AS ?n) {{ VALUES ?x {{ {' '.join(f'<{rec}/{i}>' for i in range(n))} }} }}"


ROWS = [
    # --- protocol: malformed SPARQL, encodings, NUL, content types, query+update -----------------
    Row("malformed", "protocol", lambda r: get("SELECT * WHERE { ?s ?p }"), 400),
    Row("malformed-with-service", "protocol", lambda r: get(f"SELECT * {{ SERVICE <{r}/a> {{ ?s ?p ?o }}"), 403),
    Row("garbage", "protocol", lambda r: get("\x7f\x01 ;;; }}}"), 400),
    Row("deep-nesting", "protocol", lambda r: direct("SELECT * " + "{" * 5000 + "}" * 5000), 400),
    Row("deep-parentheses", "protocol",
        lambda r: direct("SELECT * { FILTER(" + "(" * 20000 + "1" + ")" * 20000 + ") }"), 400),
    # Long chains overflowed the engine's 8 MB stack and killed the worker (SIGSEGV, then 503); they now run.
    Row("long-unary-chain", "protocol", lambda r: direct("SELECT * { FILTER(" + "!" * 30000 + "true) }"), 200),
    Row("long-binary-chain", "protocol",
        lambda r: direct("SELECT * { FILTER(" + "||".join(["false"] * 15000) + "||true) }"), 200),
    # Chains of 300,000 (300 kB under the default body limit) crashed a worker even on its 256 MB stack:
    # more than 50,000 operators are refused (this server's body limit is 128 kB).
    Row("longer-unary-chain", "protocol", lambda r: direct("SELECT * { FILTER(" + "!" * 60_000 + "true) }"), 400),
    Row("longer-binary-chain", "protocol", lambda r: direct("SELECT (" + "1+" * 55_000 + "1 AS ?n) {}"), 400),
    Row("invalid-utf8-query-string", "protocol", lambda r: Raw("GET", "/sparql?query=SELECT%20%FF%FE%20%7B%7D"), 400),
    Row("overlong-utf8-query-string", "protocol", lambda r: Raw("GET", "/sparql?query=SELECT%20%C0%AF%20%7B%7D"), 400),
    Row("invalid-utf8-form", "protocol",
        lambda r: Raw("POST", "/sparql", b"query=ASK%20%7B%7D%FF", {"content-type": FORM}), 400),
    Row("invalid-utf8-direct", "protocol", lambda r: direct(b"ASK { FILTER(\"\xff\" = \"\xff\") }"), 400),
    Row("latin1-direct", "protocol", lambda r: direct("ASK { FILTER(\"å\" = \"å\") }".encode("latin-1"),
                                                      DIRECT + "; charset=ISO-8859-1"), 400),
    Row("utf16-direct", "protocol", lambda r: direct("ASK {}".encode("utf-16"), DIRECT + "; charset=UTF-16"), 400),
    Row("nul-query-string", "protocol", lambda r: Raw("GET", "/sparql?query=ASK%20%7B%7D%00"), 400),
    Row("nul-form", "protocol", lambda r: Raw("POST", "/sparql", b"query=ASK%20%00%7B%7D", {"content-type": FORM}),
        400),
    Row("nul-direct", "protocol", lambda r: direct(b"ASK {\x00}"), 400),
    Row("nul-hidden-in-escape", "protocol", lambda r: get(r'ASK { FILTER("\u0000" = "") }'), (200, 400)),
    Row("text-plain-body", "protocol", lambda r: direct("ASK {}", "text/plain"), 415),
    Row("json-body", "protocol", lambda r: direct('{"query": "ASK {}"}', "application/json"), 415),
    Row("multipart-body", "protocol", lambda r: direct(
        b'--x\r\nContent-Disposition: form-data; name="query"\r\n\r\nASK {}\r\n--x--\r\n',
        "multipart/form-data; boundary=x"), 415),
    Row("no-content-type", "protocol", lambda r: direct("ASK {}", ""), 415),
    Row("rdf-xml-body", "protocol", lambda r: direct(
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">&b;</rdf:RDF>', "application/rdf+xml"), 415),
    Row("unknown-accept", "protocol",
        lambda r: Raw("GET", "/sparql?query=ASK%20%7B%7D", headers={"accept": "image/png"}), 406),
    # Control characters are not allowed in a header value: uvicorn's HTTP parser (httptools) refuses
    # the request before the application sees it.
    Row("control-chars-accept", "protocol",
        lambda r: Raw("GET", "/sparql?query=ASK%20%7B%7D", headers={"accept": "\x01\x02/\x03"}), 400),
    Row("query-and-update", "protocol", lambda r: get("ASK {}", update=f"LOAD <{r}/x>"), 400),
    Row("query-and-update-form", "protocol", lambda r: form(query="ASK {}", update=f"LOAD <{r}/x>"), 400),
    # --- protocol: updates in every form (refused, nothing changed, nothing fetched) -----------------
    Row("update-get", "protocol", lambda r: Raw("GET", "/sparql?update=" + quote("DROP ALL")), 403),
    Row("update-form", "protocol", lambda r: form(update="CLEAR ALL"), 403),
    Row("update-direct", "protocol", lambda r: direct("DELETE WHERE { ?s ?p ?o }", "application/sparql-update"), 403),
    Row("load-update-get", "protocol", lambda r: Raw("GET", "/sparql?update=" + quote(f"LOAD <{r}/data.ttl>")), 403),
    Row("load-update-form", "protocol", lambda r: form(update=f"LOAD SILENT <{r}/data.ttl> INTO GRAPH <urn:g>"), 403),
    Row("load-update-direct", "protocol", lambda r: direct(f"LOAD <{r}/data.ttl>", "application/sparql-update"), 403),
    Row("insert-as-query", "protocol", lambda r: get("INSERT DATA { <urn:a> <urn:b> <urn:c> }"), 403),
    Row("load-as-query", "protocol", lambda r: get(f"LOAD <{r}/data.ttl>"), 403),
    Row("load-as-query-form", "protocol", lambda r: form(query=f"LOAD <{r}/data.ttl>"), 403),
    Row("load-as-query-direct", "protocol", lambda r: direct(f"LOAD <{r}/data.ttl>"), 403),
    Row("escaped-insert", "protocol", lambda r: get(r"\u0049NSERT DATA { <urn:a> <urn:b> <urn:c> }"), 403),
    Row("escaped-load", "protocol", lambda r: get(f"\\u004cOAD <{r}/data.ttl>"), 403),
    Row("lowercase-drop", "protocol", lambda r: get("drop all"), 403),
    Row("update-after-prologue", "protocol", lambda r: get("PREFIX x: <urn:x:> BASE <urn:b> CLEAR ALL"), 403),
    Row("update-sequence", "protocol", lambda r: form(update=f"CLEAR ALL ; LOAD <{r}/data.ttl>"), 403),
    # --- protocol: federation (SERVICE) in every spelling: refused before anything runs ------------
    Row("service", "protocol", lambda r: get(f"SELECT * {{ SERVICE <{r}/sparql> {{ ?s ?p ?o }} }}"), 403),
    Row("service-silent", "protocol", lambda r: get(f"SELECT * {{ SERVICE SILENT <{r}/sparql> {{ ?s ?p ?o }} }}"), 403),
    Row("service-prefixed", "protocol",
        lambda r: get(f"PREFIX e: <{r}/> SELECT * {{ SERVICE e:sparql {{ ?s ?p ?o }} }}"), 403),
    Row("service-relative-to-base", "protocol",
        lambda r: get(f"BASE <{r}/> SELECT * {{ SERVICE <sparql> {{ ?s ?p ?o }} }}"), 403),
    Row("service-escaped-keyword", "protocol",
        lambda r: get(f"SELECT * {{ SERVIC\\u0045 <{r}/sparql> {{ ?s ?p ?o }} }}"), 403),
    Row("service-escaped-iri", "protocol",
        lambda r: get("SELECT * { SERVICE <" + r.replace("http", "\\u0068ttp") + "/sparql> { ?s ?p ?o } }"), 403),
    Row("service-variable", "protocol",
        lambda r: get(f"SELECT * {{ VALUES ?e {{ <{r}/sparql> }} SERVICE ?e {{ ?s ?p ?o }} }}"), 403),
    Row("service-in-subquery", "protocol",
        lambda r: get(f"SELECT * {{ {{ SELECT * {{ SERVICE <{r}/sparql> {{ ?s ?p ?o }} }} }} }}"), 403),
    Row("service-in-exists", "protocol",
        lambda r: get(f"ASK {{ FILTER EXISTS {{ SERVICE <{r}/sparql> {{ ?s ?p ?o }} }} }}"), 403),
    Row("service-in-construct", "protocol",
        lambda r: get(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ SERVICE <{r}/sparql> {{ ?s ?p ?o }} }}"), 403),
    Row("service-lowercase", "protocol", lambda r: get(f"select * {{ service <{r}/sparql> {{ ?s ?p ?o }} }}"), 403),
    Row("service-metadata-address", "protocol",
        lambda r: get("SELECT * { SERVICE <http://169.254.169.254/latest/meta-data/> { ?s ?p ?o } }"), 403),
    # --- protocol: other ways to make the engine fetch (it must not) -------------------------------
    Row("from-remote", "protocol", lambda r: get(f"SELECT * FROM <{r}/data.ttl> {{ ?s ?p ?o }}"), 200),
    Row("from-named-remote", "protocol",
        lambda r: get(f"SELECT * FROM NAMED <{r}/data.ttl> {{ GRAPH ?g {{ ?s ?p ?o }} }}"), 200),
    Row("default-graph-uri-remote", "protocol",
        lambda r: get("SELECT * { ?s ?p ?o }", **{"default-graph-uri": r}), 200),
    Row("named-graph-uri-remote", "protocol",
        lambda r: get("SELECT * { GRAPH ?g { ?s ?p ?o } }", **{"named-graph-uri": r + "/g"}), 200),
    Row("describe-remote", "protocol", lambda r: get(f"DESCRIBE <{r}/resource>"), 200),
    Row("iri-function", "protocol", lambda r: get(f'SELECT * {{ BIND(IRI("{r}/x") AS ?x) ?x ?p ?o }}'), 200),
    # --- protocol: size ---------------------------------------------------------------------------
    Row("oversize-direct", "protocol", lambda r: direct("ASK {} #" + "x" * MAX_BODY), 413),
    Row("oversize-form", "protocol", lambda r: form(query="ASK {} #" + "x" * MAX_BODY), 413),
    # A request line this long is refused by uvicorn itself (h11 keeps at most 16 KiB of an incomplete
    # request head): 400 "Invalid HTTP request", often seen by the client as a reset connection.
    Row("oversize-get", "protocol", lambda r: get("ASK {} #" + "x" * (MAX_BODY + 10)), (400, 413, RESET)),
    Row("oversize-chunked", "protocol",
        lambda r: Raw("POST", "/sparql", b"ASK {} #" + b"x" * (2 * MAX_BODY), {"content-type": DIRECT}, chunked=True),
        413),
    Row("oversize-declared", "protocol", lambda r: Raw("POST", "/sparql", b"ASK {}", {
        "content-type": DIRECT, "content-length": str(10 * MAX_BODY)}), 413),
    Row("huge-values-block", "protocol", lambda r: direct(_values(40000)), 413),
    Row("large-values-block", "protocol", lambda r: direct(_values(18000)), 200, values_count(18000)),
    Row("values-of-remote-iris", "protocol", lambda r: direct(_iri_values(r, 1000)), 200, values_count(1000)),
    # --- resources ----------------------------------------------------------------------------------
    Row("runaway-cartesian", "resources", lambda r: get("SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"),
        503, deadline_message),
    Row("millions-of-rows", "resources", lambda r: get("SELECT * { ?a ?b ?c . ?d ?e ?f }"), 200, aborted),
    Row("millions-of-triples", "resources",
        lambda r: get("CONSTRUCT { ?a ?b ?f } WHERE { ?a ?b ?c . ?d ?e ?f }", format="nt"), 200, aborted),
    # --- files ----------------------------------------------------------------------------------------
    Row("dumps-traversal-encoded", "files", lambda r: Raw("GET", "/dumps/..%2F..%2Fetc%2Fpasswd"), 404,
        not_found_no_content),
    Row("dumps-traversal-dots", "files", lambda r: Raw("GET", "/dumps/%2e%2e/CURRENT"), 404, not_found_no_content),
    Row("dumps-traversal-raw", "files", lambda r: Raw("GET", "/dumps/../CURRENT"), 404, not_found_no_content),
    Row("static-traversal", "files", lambda r: Raw("GET", "/static/../../pyproject.toml"), 404, not_found_no_content),
    Row("static-traversal-encoded", "files", lambda r: Raw("GET", "/static/..%2f..%2f..%2fpyproject.toml"), 404,
        not_found_no_content),
    Row("id-traversal", "files", lambda r: Raw("GET", "/id/..%2F..%2F..%2Fetc%2Fpasswd"), 404, not_found_no_content),
]


def send(base: str, raw: Raw) -> tuple[http.client.HTTPResponse | None, bytes]:
    """Send exactly these bytes; (None, b"") when the server refused by resetting the connection."""
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    headers = dict(raw.headers)
    body = raw.body or b""
    if raw.chunked:
        headers["transfer-encoding"] = "chunked"
    elif raw.body is not None and "content-length" not in headers:
        headers["content-length"] = str(len(body))
    try:
        connection.putrequest(raw.method, raw.target, skip_accept_encoding=True)
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.endheaders()
        # the server may answer (413) and close before reading it all: that is its right
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            if raw.chunked:
                for start in range(0, len(body), 4096):
                    chunk = body[start:start + 4096]
                    connection.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                connection.send(b"0\r\n\r\n")
            elif raw.body is not None:
                connection.send(body)
        response = connection.getresponse()
        try:
            return response, response.read()
        except http.client.IncompleteRead as exc:
            return response, exc.partial + INCOMPLETE
    except ConnectionResetError:
        return None, b""
    finally:
        connection.close()


@dataclass(frozen=True)
class State:
    quads: int
    visible: int
    generation: str


def state(base: str, store: Path) -> State:
    with httpx.Client(base_url=base, timeout=30) as client:
        visible = client.get("/sparql", params={"query": "SELECT (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } }"})
        assert visible.status_code == 200, visible.text
        generation = client.get("/healthz").json()["generation"]
    return State(len(open_read_only(store)), int(visible.json()["results"]["bindings"][0]["n"]["value"]), generation)


@pytest.fixture(scope="module")
def before(hostile_server: str, bundled_store: Path) -> State:
    return state(hostile_server, bundled_store)


@pytest.mark.parametrize("row", ROWS, ids=[f"{row.danger}:{row.id}" for row in ROWS])
def test_hostile_request(row: Row, hostile_server: str, recorder: Recording, before: State,
                         bundled_store: Path) -> None:
    fetched = len(recorder.seen)
    response, body = send(hostile_server, row.request(recorder.url))
    expected = row.status if isinstance(row.status, tuple) else (row.status,)
    status = response.status if response is not None else RESET
    assert status in expected, (row.id, status, body[:300])
    assert status < 500 or (status == 503 and row.id.startswith("runaway")), body[:300]
    if status >= 400:
        assert b"Traceback" not in body and b'File "' not in body
    if row.check is not None:
        assert response is not None
        row.check(response, body)
    assert recorder.seen[fetched:] == [], f"{row.id} made the server fetch {recorder.seen[fetched:]}"
    assert state(hostile_server, bundled_store) == before, f"{row.id} changed the store"


def test_many_slow_queries_from_one_client(hostile_server: str, recorder: Recording, before: State,
                                           bundled_store: Path) -> None:
    """Resources: one client keeps its whole share busy; past it, it gets 429 + Retry-After, at once.

    The share is taken by runaway queries (the store's cartesian product with itself, twice: it runs until
    the deadline however fast the machine), one per slot, sent together, while the same client keeps
    asking cheap queries (each its own text: no cached answer) until it is refused. Whichever of its
    requests comes when its share is full is refused with 429 (a cheap one while the runaways run, or a
    runaway if a cheap one was in flight when it came); none waits for a slot. No wall-clock bound is
    tight: each runaway let in is stopped at the deadline (503, the deadline message) however long the
    machine takes to get there, and afterwards the client's share is free again.
    """
    share = MAX_CONCURRENT_PER_CLIENT
    runaway = "SELECT (COUNT(*) AS ?n) {{ ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }} # runaway {}"

    async def fill_the_share() -> tuple[list[httpx.Response], list[httpx.Response]]:
        # generous: a runaway ends at the deadline; the client gives up only far past it
        async with httpx.AsyncClient(base_url=hostile_server, timeout=DEADLINE + 60,
                                     limits=httpx.Limits(max_connections=share + 1)) as client:
            runaways = [asyncio.ensure_future(client.get("/sparql", params={"query": runaway.format(n)}))
                        for n in range(share)]
            cheap: list[httpx.Response] = []
            while not all(r.done() for r in runaways):
                if any(r.done() and r.result().status_code == 429 for r in runaways):
                    break
                cheap.append(await client.get("/sparql", params={"query": f"ASK {{}} # cheap {len(cheap)}"}))
                if cheap[-1].status_code == 429:
                    break
            return list(await asyncio.gather(*runaways)), cheap

    runaways, cheap = asyncio.run(fill_the_share())
    statuses = ([r.status_code for r in runaways], [c.status_code for c in cheap])
    refused = [r for r in runaways + cheap if r.status_code == 429]
    assert refused, f"the client was never refused past its share of {share}: {statuses}"
    for response in refused:
        assert int(response.headers["retry-after"]) >= 1
        assert f"too many queries from 127.0.0.1 at once (limit {share})" in response.text, response.text
    codes = [c.status_code for c in cheap]  # answered until the one refused (the last), if a cheap one was
    assert set(codes[:-1]) <= {200} and set(codes[-1:]) <= {200, 429}, statuses
    stopped = [r for r in runaways if r.status_code != 429]
    assert stopped, statuses
    for response in stopped:  # each runaway let in was stopped at the deadline
        assert response.status_code == 503, (response.status_code, response.text)
        assert f"{DEADLINE:g} s deadline" in response.text and response.headers.get("retry-after")
    # the share is free again: the same client is served
    assert httpx.get(hostile_server + "/sparql", params={"query": "ASK {} # after"}, timeout=30).status_code == 200
    assert recorder.seen == []
    assert state(hostile_server, bundled_store) == before


def test_server_still_answers_after_the_table(hostile_server: str, recorder: Recording, before: State,
                                              bundled_store: Path) -> None:
    with httpx.Client(base_url=hostile_server, timeout=30) as client:
        for _ in range(3):
            answer = client.get("/sparql", params={"query": f"ASK {{ <{BASE}id/project/22-010-S04> ?p ?o }}"})
            assert answer.status_code == 200 and answer.json()["boolean"] is True
        assert client.get("/healthz").json()["status"] == "ok"
    assert recorder.seen == []
    assert state(hostile_server, bundled_store) == before
