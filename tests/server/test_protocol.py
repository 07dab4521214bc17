"""The SPARQL 1.1 Protocol at ``/sparql``, one row per request, against a real server with real clients.

Every row of ``CASES`` is one HTTP request with its expected status and content type; a 2xx body must
parse in the format it claims, a 4xx body must be a short readable message (never a traceback), and
after every row the store is what it was (same quad count, same generation). The values returned are
checked too: against facts about the bundled corpus and against the same query run by the library.
"""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from pyoxigraph import Literal, NamedNode, QuerySolutions, RdfFormat, parse
from rdflib import Graph, URIRef
from rdflib.namespace import RDF
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import CSV, JSON, TURTLE, XML, SPARQLWrapper

from kgbuild.export import public_graphs
from kgbuild.iris import Iris
from kgbuild.query import dataset_for, execute
from kgbuild.resources import queries_path
from kgbuild.sparql import inspect_query
from kgbuild.store import StoreDirectory, open_read_only
from tests.jsonld import parse_rdf
from tests.server.conftest import BASE

KG = "https://w3id.org/kgbuild/ontology#"
SD = "http://www.w3.org/ns/sparql-service-description#"
PROJECTS = f"PREFIX kg: <{KG}> SELECT ?project {{ ?project a kg:Project }} ORDER BY ?project"
COUNT_PROJECTS = f"PREFIX kg: <{KG}> SELECT (COUNT(?p) AS ?n) {{ ?p a kg:Project }}"
ASK_PROJECT = f"ASK {{ <{BASE}id/project/22-010-S04> a <{KG}Project> }}"
CONSTRUCT = f"CONSTRUCT {{ ?p a <{KG}Project> }} WHERE {{ ?p a <{KG}Project> }}"
DESCRIBE = f"DESCRIBE <{BASE}id/project/22-010-S04>"
GRAPH_COUNT = "SELECT (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } }"
ONTOLOGY_GRAPH = BASE + "graph/ontology"
REFERENCE_GRAPH = BASE + "graph/reference"
EXPECTED_PROJECTS = [BASE + "id/project/22-005-S01", BASE + "id/project/22-010-S04",
                     BASE + "id/project/digest/00fa4d25cd4df775",
                     BASE + "id/project/digest/0caabebe770ed572"]
FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Case:
    """One request to ``/sparql`` and what must come back."""

    id: str
    method: str
    status: int
    content_type: str | None = None  # media type without parameters; None: not checked (4xx are text/plain)
    params: dict[str, str | list[str]] = field(default_factory=dict)
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    accept: str | None = None


def _get(id: str, query: str, status: int, content_type: str | None, accept: str | None = None,
         **params: str | list[str]) -> Case:
    return Case(id, "GET", status, content_type, {"query": query, **params}, accept=accept)


def _form(id: str, status: int, content_type: str | None, accept: str | None = None, **fields: str) -> Case:
    return Case(id, "POST", status, content_type, body=httpx.QueryParams(fields).__str__().encode(),
                headers={"content-type": FORM}, accept=accept)


def _direct(id: str, body: str | bytes, status: int, content_type: str | None, media: str = "application/sparql-query",
            accept: str | None = None, **params: str | list[str]) -> Case:
    data = body.encode() if isinstance(body, str) else body
    return Case(id, "POST", status, content_type, dict(params), data, {"content-type": media}, accept)


CASES = [
    # the three ways to send a query
    _get("get-query", PROJECTS, 200, "application/sparql-results+json"),
    _form("post-form", 200, "application/sparql-results+json", query=PROJECTS),
    _direct("post-direct", PROJECTS, 200, "application/sparql-results+json"),
    _direct("post-direct-charset", PROJECTS, 200, "application/sparql-results+json",
            media="application/sparql-query; charset=utf-8"),
    _get("trailing-slash-path", PROJECTS, 200, "application/sparql-results+json"),
    # dataset parameters
    _get("default-graph-uri", GRAPH_COUNT, 200, "application/sparql-results+json",
         **{"default-graph-uri": ONTOLOGY_GRAPH}),
    _get("named-graph-uri", "SELECT DISTINCT ?g { GRAPH ?g { ?s ?p ?o } }", 200, "application/sparql-results+json",
         **{"named-graph-uri": [ONTOLOGY_GRAPH, REFERENCE_GRAPH]}),
    _direct("post-direct-dataset", "ASK { ?s ?p ?o }", 200, "application/sparql-results+json",
            **{"default-graph-uri": ONTOLOGY_GRAPH}),
    # SELECT / ASK negotiation
    _get("select-json", PROJECTS, 200, "application/sparql-results+json", "application/sparql-results+json"),
    _get("select-xml", PROJECTS, 200, "application/sparql-results+xml", "application/sparql-results+xml"),
    _get("select-csv", PROJECTS, 200, "text/csv", "text/csv"),
    _get("select-tsv", PROJECTS, 200, "text/tab-separated-values", "text/tab-separated-values"),
    _get("select-application-json", PROJECTS, 200, "application/sparql-results+json", "application/json"),
    _get("select-application-xml", PROJECTS, 200, "application/sparql-results+xml", "application/xml"),
    _get("select-text-plain", PROJECTS, 200, "text/csv", "text/plain"),
    _get("select-any", PROJECTS, 200, "application/sparql-results+json", "*/*"),
    _get("select-no-accept", PROJECTS, 200, "application/sparql-results+json", ""),
    _get("select-q-values", PROJECTS, 200, "text/csv", "text/csv;q=0.9, application/sparql-results+xml;q=0.2"),
    _get("select-q-values-reversed", PROJECTS, 200, "application/sparql-results+xml",
         "text/csv;q=0.2, application/sparql-results+xml;q=0.9"),
    _get("select-q-zero-excludes", PROJECTS, 200, "application/sparql-results+xml",
         "application/sparql-results+json;q=0, */*;q=0.1"),
    _get("select-browser-accept", PROJECTS, 200, "application/sparql-results+xml",
         "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
    _get("ask-json", ASK_PROJECT, 200, "application/sparql-results+json", "application/sparql-results+json"),
    _get("ask-xml", ASK_PROJECT, 200, "application/sparql-results+xml", "application/sparql-results+xml"),
    _get("select-image-png", PROJECTS, 406, None, "image/png"),
    _get("ask-image-png", ASK_PROJECT, 406, None, "image/png"),
    _get("select-turtle-refused", PROJECTS, 406, None, "text/turtle"),
    # CONSTRUCT / DESCRIBE negotiation
    _get("construct-turtle", CONSTRUCT, 200, "text/turtle", "text/turtle"),
    _get("construct-ntriples", CONSTRUCT, 200, "application/n-triples", "application/n-triples"),
    _get("construct-jsonld", CONSTRUCT, 200, "application/ld+json", "application/ld+json"),
    _get("construct-rdfxml", CONSTRUCT, 200, "application/rdf+xml", "application/rdf+xml"),
    _get("construct-default", CONSTRUCT, 200, "text/turtle"),
    _get("construct-any", CONSTRUCT, 200, "text/turtle", "*/*"),
    _get("construct-q-values", CONSTRUCT, 200, "application/n-triples",
         "text/turtle;q=0.1, application/n-triples;q=0.8"),
    _get("describe-turtle", DESCRIBE, 200, "text/turtle", "text/turtle"),
    _get("describe-ntriples", DESCRIBE, 200, "application/n-triples", "application/n-triples"),
    _get("describe-jsonld", DESCRIBE, 200, "application/ld+json", "application/ld+json"),
    _get("describe-rdfxml", DESCRIBE, 200, "application/rdf+xml", "application/rdf+xml"),
    _get("construct-image-png", CONSTRUCT, 406, None, "image/png"),
    _get("construct-results-json-refused", CONSTRUCT, 406, None, "application/sparql-results+json"),
    # the format parameter (wins over Accept)
    _get("format-csv", PROJECTS, 200, "text/csv", "application/sparql-results+json", format="csv"),
    _get("format-tsv", PROJECTS, 200, "text/tab-separated-values", format="tsv"),
    _get("format-xml", PROJECTS, 200, "application/sparql-results+xml", format="xml"),
    _get("format-json", PROJECTS, 200, "application/sparql-results+json", format="json"),
    _get("format-media-type", PROJECTS, 200, "text/csv", format="text/csv"),
    _get("format-turtle", CONSTRUCT, 200, "text/turtle", format="turtle"),
    _get("format-ntriples", CONSTRUCT, 200, "application/n-triples", format="nt"),
    _get("format-jsonld", CONSTRUCT, 200, "application/ld+json", format="jsonld"),
    _get("format-xml-for-graph", CONSTRUCT, 200, "application/rdf+xml", format="xml"),
    _get("format-unknown", PROJECTS, 406, None, format="png"),
    _get("format-graph-for-table", PROJECTS, 406, None, format="turtle"),
    # bad requests
    _direct("unknown-body-type", PROJECTS, 415, None, media="text/plain"),
    _direct("no-body-type", PROJECTS, 415, None, media=""),
    _direct("json-body-type", json.dumps({"query": PROJECTS}), 415, None, media="application/json"),
    _get("malformed-query", "SELECT * WHERE { ?s ?p }", 400, None),
    _get("not-a-query", "HELLO WORLD", 400, None),
    _get("unterminated-string", 'SELECT * { ?s ?p "open }', 400, None),
    _get("undefined-prefix", "SELECT * { ?s nope:p ?o }", 400, None),
    _direct("malformed-direct", "ASK {", 400, None),
    _get("query-and-update", PROJECTS, 400, None, update="CLEAR ALL"),
    _form("query-and-update-form", 400, None, query=PROJECTS, update="CLEAR ALL"),
    Case("two-queries", "GET", 400, None, {"query": [PROJECTS, ASK_PROJECT]}),
    Case("post-without-query", "POST", 400, None, body=b"", headers={"content-type": FORM}),
    Case("put-method", "PUT", 405, None, {"query": PROJECTS}),
    Case("delete-method", "DELETE", 405, None, {"query": PROJECTS}),
    # updates, in every form: all refused, the store unchanged
    Case("update-get", "GET", 403, None, {"update": "CLEAR ALL"}),
    Case("update-get-insert", "GET", 403, None, {"update": "INSERT DATA { <urn:a> <urn:b> <urn:c> }"}),
    _form("update-post-form", 403, None, update="DROP ALL"),
    _form("update-post-form-insert", 403, None, update="INSERT DATA { GRAPH <urn:g> { <urn:a> <urn:b> <urn:c> } }"),
    _direct("update-direct", "CLEAR ALL", 403, None, media="application/sparql-update"),
    _direct("update-direct-insert", "INSERT DATA { <urn:a> <urn:b> <urn:c> }", 403, None,
            media="application/sparql-update"),
    _get("insert-as-query", "INSERT DATA { <urn:a> <urn:b> <urn:c> }", 403, None),
    _get("delete-where-as-query", "DELETE WHERE { ?s ?p ?o }", 403, None),
    _get("clear-as-query", "CLEAR ALL", 403, None),
    _get("drop-as-query", "DROP GRAPH <" + ONTOLOGY_GRAPH + ">", 403, None),
    _get("with-insert-as-query", "WITH <urn:g> INSERT { ?s ?p ?o } WHERE { ?s ?p ?o }", 403, None),
    _form("insert-as-query-form", 403, None, query="INSERT DATA { <urn:a> <urn:b> <urn:c> }"),
    _direct("insert-as-query-direct", "PREFIX x: <urn:x:> INSERT DATA { x:a x:b x:c }", 403, None),
    _get("escaped-insert-as-query", r"\u0049NSERT DATA { <urn:a> <urn:b> <urn:c> }", 403, None),
]


def _send(client: httpx.Client, case: Case) -> httpx.Response:
    headers = dict(case.headers)
    if case.accept is not None:
        headers["accept"] = case.accept
    path = "/sparql/" if case.id == "trailing-slash-path" else "/sparql"
    return client.request(case.method, path, params=case.params, content=case.body, headers=headers)


def _media(response: httpx.Response) -> str:
    return response.headers.get("content-type", "").split(";")[0].strip()


def _parse_body(media: str, body: bytes) -> int:
    """Parse a 2xx body in the format it claims; the number of rows, triples or 1 for a boolean."""
    if media == "application/sparql-results+json":
        data = json.loads(body)
        return 1 if "boolean" in data else len(data["results"]["bindings"])
    if media == "application/sparql-results+xml":
        root = ET.fromstring(body)
        assert root.tag == "{http://www.w3.org/2005/sparql-results#}sparql"
        boolean = root.find("{http://www.w3.org/2005/sparql-results#}boolean")
        return 1 if boolean is not None else len(root.findall(".//{http://www.w3.org/2005/sparql-results#}result"))
    if media == "text/csv":
        return len(list(csv.reader(io.StringIO(body.decode())))) - 1
    if media == "text/tab-separated-values":
        return len(body.decode().splitlines()) - 1
    rdf_format = RdfFormat.from_media_type(media)
    assert rdf_format is not None, media
    return len(list(parse(body, format=rdf_format)))


@dataclass(frozen=True)
class Snapshot:
    quads_in_store: int
    quads_visible: int
    generation: str


def snapshot(client: httpx.Client, store: Path) -> Snapshot:
    """What must not change: every quad in the store (opened directly), what the endpoint sees, the generation."""
    visible = client.get("/sparql", params={"query": GRAPH_COUNT}, headers={"accept": "application/json"})
    assert visible.status_code == 200, visible.text
    health = client.get("/healthz")
    assert health.status_code == 200
    assert StoreDirectory(store).current() is not None
    return Snapshot(len(open_read_only(store)), int(visible.json()["results"]["bindings"][0]["n"]["value"]),
                    health.json()["generation"])


@pytest.fixture(scope="module")
def baseline(client: httpx.Client, bundled_store: Path) -> Snapshot:
    return snapshot(client, bundled_store)


def local_rows(store: Path, query: str) -> list[dict[str, str]]:
    """The same query run by the library on the same store: what the endpoint must answer."""
    opened = open_read_only(store)
    result = execute(opened, query, dataset_for([g.value for g in public_graphs(opened, Iris(BASE))],
                                                inspect_query(query)))
    assert isinstance(result, QuerySolutions)
    names = [v.value for v in result.variables]
    return [{name: row[name].value for name in names if row[name] is not None} for row in result]


def json_rows(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    return [{k: v["value"] for k, v in b.items()} for b in response.json()["results"]["bindings"]]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_protocol_table(case: Case, client: httpx.Client, baseline: Snapshot, bundled_store: Path) -> None:
    response = _send(client, case)
    assert response.status_code == case.status, (case.id, response.status_code, response.text[:300])
    media = _media(response)
    if case.content_type is not None:
        assert media == case.content_type, (case.id, response.headers.get("content-type"))
    if 200 <= response.status_code < 300:
        assert "; charset=utf-8; charset" not in response.headers["content-type"]
        _parse_body(media, response.content)
    elif case.status != 405:
        assert media == "text/plain", (case.id, response.headers.get("content-type"))
        message = response.text
        assert message.strip() and len(message) < 2000, message
        assert "Traceback" not in message and 'File "' not in message, message
    assert snapshot(client, bundled_store) == baseline, f"{case.id} changed the store"


def test_store_unchanged_after_every_request(client: httpx.Client, baseline: Snapshot, bundled_store: Path) -> None:
    for case in CASES:
        _send(client, case)
    assert snapshot(client, bundled_store) == baseline
    assert baseline.quads_in_store > 13000 and baseline.quads_visible > 13000


def test_malformed_query_message_names_the_problem(client: httpx.Client) -> None:
    response = client.get("/sparql", params={"query": "SELECT * WHERE { ?s ?p }"})
    assert response.status_code == 400
    assert response.text.startswith("malformed query: ") and "1:" in response.text


def test_update_message_says_read_only(client: httpx.Client) -> None:
    update_body = {"content-type": "application/sparql-update"}
    for response in (client.get("/sparql", params={"update": "CLEAR ALL"}),
                     client.post("/sparql", content=b"CLEAR ALL", headers=update_body),
                     client.get("/sparql", params={"query": "INSERT DATA { <urn:a> <urn:b> <urn:c> }"})):
        assert response.status_code == 403
        assert "read-only" in response.text


# --- values: the answers are right, in every format -------------------------------------------

def test_select_answers_agree_in_every_format(client: httpx.Client, bundled_store: Path) -> None:
    expected = [row["project"] for row in local_rows(bundled_store, PROJECTS)]
    assert expected == EXPECTED_PROJECTS
    as_json = [row["project"] for row in json_rows(client.get("/sparql", params={"query": PROJECTS}))]
    xml = ET.fromstring(client.get("/sparql", params={"query": PROJECTS, "format": "xml"}).content)
    as_xml = [e.text for e in xml.iter("{http://www.w3.org/2005/sparql-results#}uri")]
    as_csv = [r["project"] for r in csv.DictReader(io.StringIO(
        client.get("/sparql", params={"query": PROJECTS}, headers={"accept": "text/csv"}).text))]
    tsv = client.get("/sparql", params={"query": PROJECTS}, headers={"accept": "text/tab-separated-values"}).text
    as_tsv = [line.strip("<>") for line in tsv.splitlines()[1:]]
    assert tsv.splitlines()[0] == "?project"
    assert as_json == as_xml == as_csv == as_tsv == expected


def test_ask_answers(client: httpx.Client) -> None:
    yes = client.get("/sparql", params={"query": ASK_PROJECT})
    no = client.get("/sparql", params={"query": f"ASK {{ <{BASE}id/project/nope> ?p ?o }}"})
    assert yes.json() == {"head": {}, "boolean": True}
    assert no.json()["boolean"] is False
    xml = ET.fromstring(client.get("/sparql", params={"query": ASK_PROJECT},
                                   headers={"accept": "application/xml"}).content)
    assert xml.find("{http://www.w3.org/2005/sparql-results#}boolean").text == "true"  # type: ignore[union-attr]


def test_construct_and_describe_values(client: httpx.Client) -> None:
    for accept, rdf_format in (("text/turtle", RdfFormat.TURTLE), ("application/n-triples", RdfFormat.N_TRIPLES),
                               ("application/ld+json", RdfFormat.JSON_LD), ("application/rdf+xml", RdfFormat.RDF_XML)):
        body = client.get("/sparql", params={"query": CONSTRUCT}, headers={"accept": accept}).content
        subjects = sorted(t.subject.value for t in parse(body, format=rdf_format))
        assert subjects == EXPECTED_PROJECTS, accept
    described = list(parse(client.get("/sparql", params={"query": DESCRIBE}, headers={"accept": "text/turtle"}).content,
                           format=RdfFormat.TURTLE))
    titles = [t.object for t in described if t.predicate == NamedNode("http://purl.org/dc/terms/title")]
    assert [t.value for t in titles if isinstance(t, Literal)] == ["Värmlands Skolsamverkan"]


def test_dataset_parameters_narrow_the_dataset(client: httpx.Client, bundled_store: Path) -> None:
    in_ontology = local_rows(bundled_store, f"SELECT (COUNT(*) AS ?n) {{ GRAPH <{ONTOLOGY_GRAPH}> {{ ?s ?p ?o }} }}")
    narrowed = json_rows(client.get("/sparql", params={"query": "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }",
                                                        "default-graph-uri": ONTOLOGY_GRAPH}))
    assert narrowed == in_ontology and int(narrowed[0]["n"]) > 100
    named = json_rows(client.get("/sparql", params={
        "query": "SELECT DISTINCT ?g { GRAPH ?g { ?s ?p ?o } } ORDER BY ?g",
        "named-graph-uri": [ONTOLOGY_GRAPH, REFERENCE_GRAPH]}))
    assert [row["g"] for row in named] == [ONTOLOGY_GRAPH, REFERENCE_GRAPH]
    # protocol parameters win over FROM (SPARQL 1.1 Protocol 2.1.4)
    overridden = json_rows(client.post("/sparql", params={"default-graph-uri": ONTOLOGY_GRAPH}, content=(
        f"SELECT (COUNT(*) AS ?n) FROM <{REFERENCE_GRAPH}> {{ ?s ?p ?o }}").encode(),
        headers={"content-type": "application/sparql-query"}))
    assert overridden == in_ontology
    # FROM alone narrows too
    from_clause = json_rows(client.get("/sparql", params={
        "query": f"SELECT (COUNT(*) AS ?n) FROM <{ONTOLOGY_GRAPH}> {{ ?s ?p ?o }}"}))
    assert from_clause == in_ontology
    # a graph that is not there gives an empty dataset, not everything
    empty = json_rows(client.get("/sparql", params={"query": "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }",
                                                     "default-graph-uri": "http://example.org/no-such-graph"}))
    assert empty == [{"n": "0"}]


def test_granted_by_nuts2_named_query(client: httpx.Client, bundled_store: Path) -> None:
    query = (queries_path() / "granted-by-nuts2.rq").read_text(encoding="utf-8")
    rows = json_rows(client.post("/sparql", data={"query": query}))
    assert rows == local_rows(bundled_store, query)
    stockholm = [r for r in rows if r["region"] == "SE11"]
    assert stockholm and stockholm[0]["grantedSEK"] == "13857478" and stockholm[0]["regionLabel"] == "Stockholm"


# --- service description -----------------------------------------------------------------------

@pytest.mark.parametrize(("accept", "media", "rdf_format"), [
    (None, "text/turtle", RdfFormat.TURTLE),
    ("text/turtle", "text/turtle", RdfFormat.TURTLE),
    ("application/ld+json", "application/ld+json", RdfFormat.JSON_LD),
    ("application/rdf+xml", "application/rdf+xml", RdfFormat.RDF_XML),
    ("application/n-triples", "application/n-triples", RdfFormat.N_TRIPLES),
])
def test_service_description(client: httpx.Client, accept: str | None, media: str, rdf_format: RdfFormat) -> None:
    response = client.get("/sparql", headers={"accept": accept} if accept else {})
    assert response.status_code == 200
    assert _media(response) == media
    triples = parse_rdf(response.content, rdf_format)  # JSON-LD is compact: read with kgbuild's context
    by_predicate: dict[str, set[str]] = {}
    for t in triples:
        by_predicate.setdefault(t.predicate.value, set()).add(t.object.value)
    assert by_predicate[SD + "endpoint"] == {BASE + "sparql"}
    assert SD + "SPARQL11Query" in by_predicate[SD + "supportedLanguage"]
    assert SD + "SPARQL11Update" not in by_predicate[SD + "supportedLanguage"]
    assert {"http://www.w3.org/ns/formats/SPARQL_Results_JSON", "http://www.w3.org/ns/formats/SPARQL_Results_XML",
            "http://www.w3.org/ns/formats/SPARQL_Results_CSV", "http://www.w3.org/ns/formats/SPARQL_Results_TSV",
            "http://www.w3.org/ns/formats/Turtle"} <= by_predicate[SD + "resultFormat"]
    # federation is off by default (empty allow-list), so the description must not claim it
    assert SD + "BasicFederatedQuery" not in by_predicate.get(SD + "feature", set())


def test_service_description_unsatisfiable_accept(client: httpx.Client) -> None:
    assert client.get("/sparql", headers={"accept": "image/png"}).status_code == 406


# --- CORS ----------------------------------------------------------------------------------------

def test_cors_simple_request(client: httpx.Client) -> None:
    response = client.get("/sparql", params={"query": ASK_PROJECT}, headers={"origin": "http://other.example"})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] in ("*", "http://other.example")
    exposed = response.headers["access-control-expose-headers"].lower()
    assert "retry-after" in exposed


def test_cors_preflight(client: httpx.Client) -> None:
    response = client.options("/sparql", headers={"origin": "http://other.example",
                                                  "access-control-request-method": "POST",
                                                  "access-control-request-headers": "content-type"})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] in ("*", "http://other.example")
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "content-type" in response.headers["access-control-allow-headers"].lower()


# --- real clients --------------------------------------------------------------------------------

def _wrapper(server_url: str, query: str, return_format: str, method: str = "GET") -> SPARQLWrapper:
    sparql = SPARQLWrapper(server_url + "/sparql")
    sparql.setQuery(query)
    sparql.setReturnFormat(return_format)
    sparql.setMethod(method)
    return sparql


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_sparqlwrapper_json(server_url: str, method: str) -> None:
    query = (queries_path() / "granted-by-nuts2.rq").read_text(encoding="utf-8")
    result = _wrapper(server_url, query, JSON, method).queryAndConvert()
    assert isinstance(result, dict)
    rows = {(b["region"]["value"], b["period"]["value"]): b.get("grantedSEK", {}).get("value")
            for b in result["results"]["bindings"]}
    assert rows[("SE11", "2007-2013")] == "13857478"
    assert rows[("SE21", "2021-2027")] is None  # no amount stated: unbound (no binding), not 0
    count = _wrapper(server_url, COUNT_PROJECTS, JSON, method).queryAndConvert()
    assert count["results"]["bindings"][0]["n"]["value"] == "4"  # type: ignore[index]


def test_sparqlwrapper_csv_and_xml(server_url: str) -> None:
    query = (queries_path() / "granted-by-nuts2.rq").read_text(encoding="utf-8")
    body = _wrapper(server_url, query, CSV).queryAndConvert()
    assert isinstance(body, bytes)
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8"))))
    assert {(r["region"], r["grantedSEK"]) for r in rows} >= {("SE11", "13857478")}
    document = _wrapper(server_url, COUNT_PROJECTS, XML).queryAndConvert()
    literals = [node.firstChild.data for node in document.getElementsByTagName("literal")]  # type: ignore[union-attr]
    assert literals == ["4"]


# SPARQLWrapper converts RDF/XML into an rdflib ConjunctiveGraph, which rdflib 7 deprecates: not ours to fix.
@pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")
@pytest.mark.parametrize("return_format", [XML, TURTLE])
def test_sparqlwrapper_construct(server_url: str, return_format: str) -> None:
    # SPARQLWrapper sends format=xml for CONSTRUCT by default: that must mean RDF/XML, not a 406
    graph = _wrapper(server_url, CONSTRUCT, return_format).queryAndConvert()
    if isinstance(graph, bytes):
        graph = Graph().parse(data=graph.decode("utf-8"), format="turtle")
    assert sorted(str(s) for s in graph.subjects(RDF.type, None)) == EXPECTED_PROJECTS


def test_rdflib_sparqlstore(server_url: str) -> None:
    graph = Graph(store=SPARQLStore(server_url + "/sparql", returnFormat="json"))
    rows = list(graph.query(COUNT_PROJECTS))
    assert int(rows[0][0]) == 4  # type: ignore[index]
    query = (queries_path() / "granted-by-nuts2.rq").read_text(encoding="utf-8")
    by_region = {(str(r.region), str(r.period)): r.grantedSEK for r in graph.query(query)}  # type: ignore[union-attr]
    assert by_region[("SE11", "2007-2013")].toPython() == 13857478  # type: ignore[union-attr]
    assert by_region[("SE21", "2021-2027")] is None  # no amount stated: unbound, not 0
    projects = sorted(str(s) for s in graph.subjects(RDF.type, URIRef(KG + "Project")))
    assert projects == EXPECTED_PROJECTS
    ask = graph.query(ASK_PROJECT)
    assert ask.askAnswer is True
