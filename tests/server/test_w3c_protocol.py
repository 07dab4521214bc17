"""The W3C SPARQL 1.1 Protocol and Service Description tests, run from their manifests against a live server.

Source: ``tests/data/w3c/`` (copied unchanged from w3c/rdf-tests, ``sparql/sparql11/``; its README names
the commit and the licence), read relative to this file. The runner reads ``protocol/manifest.ttl``,
sends every ``ht:Request`` of every test with httpx (the ``/sparql/`` path prefix is the server's
``/sparql/``) and checks the status class and the result format the manifest expects
(``mf:expectedStatus``, ``mf:expectedFormat``, ``mf:expectedBoolean``).

The dataset: the dataset tests name, in ``ut:graphData``, files ``data1.nt``..``data3.nt`` and the
graph each belongs in (its ``rdfs:label``, e.g. ``http://kasei.us/2009/09/sparql/data/data1.rdf``);
the store holds exactly those named graphs, read from the manifest. No test needs default-graph
data: the tests that name ``data0.rdf`` (not among the files) ask ``ASK {}`` / ``SELECT (1 AS ?value) {}``,
true over any dataset, including the empty one that graph gives.

The 13 query, 7 bad-query and 7 bad-update tests must pass. The 7 positive update tests do not apply
to a read-only endpoint: each is run only as far as its update request (which must be refused with
403, leaving the store unchanged) and then reported as skipped "not applicable", never as passed.

Service Description: the runner reads ``service-description/manifest.ttl`` and runs each of its tests
(the manifest names them; the recommendation, section 2, says what each checks) with the check written
for it below; a test in the manifest without a check fails. All three apply to a read-only endpoint, so
none is skipped. The server is started on a socket bound beforehand (port 0), so its ``base_iri`` is its
own URL and ``sd:endpoint`` is checked against the exact URL the test used.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from pyoxigraph import NamedNode, RdfFormat, Store, parse
from rdflib import Graph
from rdflib.collection import Collection
from rdflib.namespace import RDF, RDFS, Namespace

from kgbuild.server.app import create_app
from kgbuild.settings import Settings
from kgbuild.store import StoreDirectory, open_read_only
from tests.jsonld import parse_rdf
from tests.server.conftest import make_settings

SPARQL11 = Path(__file__).resolve().parents[1] / "data" / "w3c" / "sparql" / "sparql11"
PROTOCOL = SPARQL11 / "protocol"
SERVICE_DESCRIPTION = SPARQL11 / "service-description"
MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
HT = Namespace("http://www.w3.org/2011/http#")
HTS = Namespace("http://www.w3.org/2011/http-statusCodes#")
CNT = Namespace("http://www.w3.org/2011/content#")
UT = Namespace("http://www.w3.org/2009/sparql/tests/test-update#")
SD = "http://www.w3.org/ns/sparql-service-description#"

RESULT_TYPES = {"application/sparql-results+json", "application/sparql-results+xml", "text/csv",
                "text/tab-separated-values"}
# "expect one of: RDF/XML, Turtle, N-Triples, RDFa" (the manifest's test names); JSON-LD is RDF too.
RDF_TYPES = {"application/rdf+xml": RdfFormat.RDF_XML, "text/turtle": RdfFormat.TURTLE,
             "application/n-triples": RdfFormat.N_TRIPLES, "application/ld+json": RdfFormat.JSON_LD}


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: bytes | None
    statuses: frozenset[int]  # acceptable status classes: 2, 3, 4
    expected_format: str | None
    expected_boolean: bool | None


@dataclass(frozen=True)
class ProtocolTest:
    name: str  # the manifest's local name, e.g. query_post_form
    title: str
    graphs: tuple[tuple[str, str], ...]  # (file, graph IRI)
    requests: tuple[Request, ...]

    @property
    def kind(self) -> str:
        """query, bad_query, update or bad_update (from the name: bad_multiple_updates is a bad update)."""
        operation = "update" if "update" in self.name else "query"
        return f"bad_{operation}" if self.name.startswith("bad_") else operation


def _items(graph: Graph, head: object) -> list[object]:
    return list(Collection(graph, head))  # type: ignore[arg-type]


def _request(graph: Graph, node: object) -> Request:
    headers = []
    for header_list in graph.objects(node, HT.headers):  # type: ignore[arg-type]
        for header in _items(graph, header_list):
            headers.append((str(graph.value(header, HT.fieldName)), str(graph.value(header, HT.fieldValue))))  # type: ignore[arg-type]
    body = None
    body_node = graph.value(node, HT.body)  # type: ignore[arg-type]
    if body_node is not None:
        encoding = str(graph.value(body_node, CNT.characterEncoding) or "UTF-8")
        body = str(graph.value(body_node, CNT.chars)).encode(encoding)
    response = graph.value(node, HT.resp)  # type: ignore[arg-type]
    statuses = frozenset(int(str(code).rsplit("StatusCode", 1)[1][0])
                         for code in graph.objects(response, MF.expectedStatus))  # type: ignore[arg-type]
    expected_format = graph.value(response, MF.expectedFormat)  # type: ignore[arg-type]
    expected_boolean = graph.value(response, MF.expectedBoolean)  # type: ignore[arg-type]
    return Request(str(graph.value(node, HT.methodName)), str(graph.value(node, HT.absolutePath)), tuple(headers),  # type: ignore[arg-type]
                   body, statuses, str(expected_format) if expected_format is not None else None,
                   expected_boolean.toPython() if expected_boolean is not None else None)  # type: ignore[union-attr]


def read_manifest(path: Path) -> list[ProtocolTest]:
    """Every test of a protocol manifest, in the manifest's order."""
    graph = Graph().parse(path, format="turtle", publicID=path.resolve().as_uri())
    manifest = next(graph.subjects(RDF.type, MF.Manifest))
    tests = []
    for entry in _items(graph, graph.value(manifest, MF.entries)):
        graphs = tuple(sorted((str(graph.value(data, UT.graph)).rsplit("/", 1)[1], str(graph.value(data, RDFS.label)))
                              for data in graph.objects(entry, UT.graphData)))  # type: ignore[arg-type]
        action = graph.value(entry, MF.action)  # type: ignore[arg-type]
        requests = tuple(_request(graph, node) for node in _items(graph, graph.value(action, HT.requests)))
        tests.append(ProtocolTest(str(entry).rsplit("#", 1)[1], str(graph.value(entry, MF.name)), graphs, requests))  # type: ignore[arg-type]
    return tests


TESTS = read_manifest(PROTOCOL / "manifest.ttl")


def test_manifest_has_the_34_tests() -> None:
    kinds = [t.kind for t in TESTS]
    assert len(TESTS) == 34
    assert {k: kinds.count(k) for k in set(kinds)} == {"query": 13, "bad_query": 7, "update": 7, "bad_update": 7}


@contextlib.contextmanager
def server_on_own_url(store: Path) -> Iterator[tuple[str, Settings]]:
    """A real uvicorn server whose base IRI is its own URL: the socket is bound (port 0) before the app exists."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = make_settings(store, base_iri=url + "/", query_timeout=10.0)
    config = uvicorn.Config(create_app(settings), log_level="warning", lifespan="on", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="test-uvicorn-w3c")
    thread.start()
    deadline = time.monotonic() + 30
    try:
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the W3C test server did not start")
            time.sleep(0.02)
        yield url, settings
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


@pytest.fixture(scope="module")
def w3c_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding the named graphs the manifest's ut:graphData name, loaded from data1.nt..data3.nt."""
    graphs = sorted({pair for test in TESTS for pair in test.graphs})
    assert [file for file, _ in graphs] == ["data1.nt", "data2.nt", "data3.nt"]
    root = tmp_path_factory.mktemp("w3c") / "store"

    def fill(store: Store, personal: Store) -> None:
        for file, graph in graphs:
            store.load(path=str(PROTOCOL / file), format=RdfFormat.N_TRIPLES, to_graph=NamedNode(graph))

    StoreDirectory(root).write_generation(fill)
    return root


@pytest.fixture(scope="module")
def w3c_server(w3c_store: Path) -> Iterator[tuple[str, Settings]]:
    with server_on_own_url(w3c_store) as running:
        yield running


def _send(client: httpx.Client, url: str, request: Request) -> httpx.Response:
    assert request.path.startswith("/sparql/")
    return client.request(request.method, url + "/sparql/" + request.path[len("/sparql/"):],
                          headers=dict(request.headers), content=request.body)


def _check(response: httpx.Response, request: Request) -> None:
    assert response.status_code // 100 in request.statuses, (response.status_code, response.text[:300])
    media = response.headers.get("content-type", "").split(";")[0].strip()
    if request.expected_format == "boolean":
        assert media in ("application/sparql-results+json", "application/sparql-results+xml"), media
        if media == "application/sparql-results+json":
            value = json.loads(response.content)["boolean"]
        else:
            node = ET.fromstring(response.content).find("{http://www.w3.org/2005/sparql-results#}boolean")
            assert node is not None
            value = node.text == "true"
        if request.expected_boolean is not None:
            assert value is request.expected_boolean
    elif request.expected_format == "tabular":
        assert media in RESULT_TYPES, media
        if media == "application/sparql-results+json":
            assert "bindings" in json.loads(response.content)["results"]
    elif request.expected_format == "RDF":
        assert media in RDF_TYPES, media
        list(parse(response.content, format=RDF_TYPES[media]))
    elif request.expected_format is not None:
        raise AssertionError(f"unknown mf:expectedFormat {request.expected_format}")


def _quads(store: Path) -> int:
    return len(open_read_only(store))


@pytest.mark.parametrize("test", TESTS, ids=[t.name for t in TESTS])
def test_w3c_protocol(test: ProtocolTest, w3c_server: tuple[str, Settings], w3c_store: Path) -> None:
    url, _ = w3c_server
    before = _quads(w3c_store)
    with httpx.Client(timeout=30) as client:
        if test.kind == "update":
            # Send the update itself: a read-only endpoint refuses it and nothing changes. The test's
            # expectations (2xx, then the update's effect) cannot hold here: it does not apply.
            response = _send(client, url, test.requests[0])
            assert response.status_code == 403, response.text
            assert "read-only" in response.text
            assert _quads(w3c_store) == before
            pytest.skip(f"not applicable: read-only endpoint (SPARQL 1.1 Update is not offered; the update "
                        f"was refused with 403 and the store is unchanged): {test.title}")
        for request in test.requests:
            _check(_send(client, url, request), request)
    assert _quads(w3c_store) == before


# --- Service Description -----------------------------------------------------------------------------
# The SD vocabulary (SPARQL 1.1 Service Description, section 3): its classes, properties and instances.
SD_CLASSES = {"Service", "Feature", "Language", "EntailmentRegime", "EntailmentProfile", "Function", "Aggregate",
              "Dataset", "GraphCollection", "Graph", "NamedGraph"}
SD_PROPERTIES = {"endpoint", "feature", "defaultEntailmentRegime", "entailmentRegime",
                 "defaultSupportedEntailmentProfile", "supportedEntailmentProfile", "extensionFunction",
                 "extensionAggregate", "languageExtension", "supportedLanguage", "propertyFeature", "defaultDataset",
                 "availableGraphs", "resultFormat", "inputFormat", "defaultGraph", "namedGraph", "name", "graph"}
SD_LANGUAGES = {"SPARQL10Query", "SPARQL11Query", "SPARQL11Update"}
SD_FEATURES = {"DereferencesURIs", "UnionDefaultGraph", "RequiresDataset", "EmptyGraphs", "BasicFederatedQuery"}


Triples = set[tuple[str, str, str]]
TYPE = str(RDF.type)


def _description(url: str, accept: str | None = None) -> tuple[httpx.Response, Triples]:
    """GET the endpoint without a query; the description as (subject, predicate, object) values."""
    response = httpx.get(url + "/sparql", headers={"accept": accept} if accept else {}, timeout=30)
    media = response.headers.get("content-type", "").split(";")[0].strip()
    triples = {(t.subject.value, t.predicate.value, t.object.value)
               for t in parse_rdf(response.content, RDF_TYPES[media])}  # JSON-LD: with kgbuild's context
    return response, triples


def _objects(triples: Triples, subject: str, predicate: str) -> set[str]:
    return {o for s, p, o in triples if s == subject and p == predicate}


def _returns_rdf(url: str) -> None:
    """returns-rdf: GET on the endpoint (no query) returns an RDF document, whatever RDF syntax is asked for."""
    for accept in (None, "text/turtle", "application/rdf+xml", "application/ld+json"):
        response, triples = _description(url, accept)
        assert response.status_code == 200, accept
        media = response.headers["content-type"].split(";")[0]
        assert media in RDF_TYPES, (accept, media)
        if accept is not None:
            assert media == accept
        assert len(triples) > 5, accept


def _has_endpoint_triple(url: str) -> None:
    """has-endpoint-triple: the description has ``?service sd:endpoint <the URL the client used>``."""
    _, triples = _description(url)
    services = [s for s, p, o in triples if p == SD + "endpoint" and o == url + "/sparql"]
    assert len(services) == 1, sorted(o for _, p, o in triples if p == SD + "endpoint")
    assert (services[0], TYPE, SD + "Service") in triples


def _conforms_to_schema(url: str) -> None:
    """conforms-to-schema: every SD term used exists in the SD vocabulary and is used as the vocabulary says."""
    _, triples = _description(url)
    for s, p, o in triples:
        if p.startswith(SD):
            assert p[len(SD):] in SD_PROPERTIES, p
        if p == TYPE and o.startswith(SD):
            assert o[len(SD):] in SD_CLASSES, o
        elif o.startswith(SD):
            assert o[len(SD):] in SD_LANGUAGES | SD_FEATURES, o
        assert not s.startswith(SD), s
    services = [s for s, p, o in triples if p == TYPE and o == SD + "Service"]
    assert len(services) == 1
    service = services[0]
    assert _objects(triples, service, SD + "endpoint")
    languages = _objects(triples, service, SD + "supportedLanguage")
    assert SD + "SPARQL11Query" in languages and SD + "SPARQL11Update" not in languages
    assert all(f[len(SD):] in SD_FEATURES for f in _objects(triples, service, SD + "feature"))
    for dataset in _objects(triples, service, SD + "defaultDataset"):
        assert (dataset, TYPE, SD + "Dataset") in triples
    formats = _objects(triples, service, SD + "resultFormat")
    assert formats and all(f.startswith(("http://", "https://")) for f in formats)


# The manifest names each test (mf:name) but gives no request: the check for each is written here, from
# the recommendation's section 2. None is skipped: all three hold for a read-only endpoint.
SD_CHECKS: dict[str, Callable[[str], None]] = {
    "returns-rdf": _returns_rdf,
    "has-endpoint-triple": _has_endpoint_triple,
    "conforms-to-schema": _conforms_to_schema,
}


@dataclass(frozen=True)
class ServiceDescriptionTest:
    name: str  # the manifest's local name, e.g. returns-rdf
    title: str


def read_service_description_manifest(path: Path) -> list[ServiceDescriptionTest]:
    """Every mf:ServiceDescriptionTest of the manifest, in the manifest's order."""
    graph = Graph().parse(path, format="turtle", publicID=path.resolve().as_uri())
    manifest = next(graph.subjects(RDF.type, MF.Manifest))
    entries = _items(graph, graph.value(manifest, MF.entries))
    assert all((entry, RDF.type, MF.ServiceDescriptionTest) in graph for entry in entries)  # type: ignore[operator]
    return [ServiceDescriptionTest(str(entry).rsplit("#", 1)[1], str(graph.value(entry, MF.name)))  # type: ignore[arg-type]
            for entry in entries]


SD_TESTS = read_service_description_manifest(SERVICE_DESCRIPTION / "manifest.ttl")


def test_service_description_manifest_has_the_3_tests() -> None:
    assert [t.name for t in SD_TESTS] == ["has-endpoint-triple", "returns-rdf", "conforms-to-schema"]


@pytest.mark.parametrize("test", SD_TESTS, ids=[t.name for t in SD_TESTS])
def test_w3c_service_description(test: ServiceDescriptionTest, w3c_server: tuple[str, Settings]) -> None:
    url, settings = w3c_server
    assert settings.base_iri == url + "/"  # the server was started knowing its own URL
    check = SD_CHECKS.get(test.name)
    assert check is not None, f"no check written for the manifest's {test.name} ({test.title})"
    check(url)
