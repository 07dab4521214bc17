"""The query check (``kgbuild.sparql``) as a security table, and the dataset a query may see.

Each row: a request and what the endpoint must do with it, with the allow-list
``["http://allowed.example/sparql"]``: run it ("allowed"), refuse it as forbidden (403: an update, or a
SERVICE call off the allow-list), or refuse it as unreadable (400).
"""

from __future__ import annotations

import pytest
from pyoxigraph import QueryBoolean, QuerySolutions

from kgbuild.export import public_graphs
from kgbuild.query import Dataset, QueryResult, dataset_for, execute
from kgbuild.sparql import MAX_OPERATORS, QUERY_FORMS, QueryRefused, check_query, inspect_query
from kgbuild.store import open_in_memory, open_read_only
from tests.conftest import BundledBuild

ALLOW = ["http://allowed.example/sparql"]
ALLOWED = "allowed"
EVIL = "http://evil.example/sparql"
SPO = "{ ?s ?p ?o }"
LOOPBACK_SERVICE = "http://127.0.0.1:9/sparql"  # port 9 (discard): pyoxigraph refuses it, no network

TABLE = [
    # plain queries
    ("plain SELECT", f"SELECT * WHERE {SPO}", ALLOWED),
    ("ASK", f"ASK {SPO}", ALLOWED),
    ("CONSTRUCT", f"CONSTRUCT WHERE {SPO}", ALLOWED),
    ("DESCRIBE", "DESCRIBE <http://example.org/x>", ALLOWED),
    # SERVICE
    ("SERVICE to the allowed IRI", f"SELECT * WHERE {{ SERVICE <{ALLOW[0]}> {SPO} }}", ALLOWED),
    ("SERVICE SILENT to the allowed IRI", f"SELECT * WHERE {{ SERVICE SILENT <{ALLOW[0]}> {SPO} }}", ALLOWED),
    ("SERVICE to another IRI", f"SELECT * WHERE {{ SERVICE <{EVIL}> {SPO} }}", 403),
    ("SERVICE to a loopback IRI", f"SELECT * WHERE {{ SERVICE <http://127.0.0.1:9/sparql> {SPO} }}", 403),
    ("SERVICE SILENT to another IRI", f"SELECT * WHERE {{ SERVICE SILENT <{EVIL}> {SPO} }}", 403),
    ("SERVICE ?var", f"SELECT * WHERE {{ SERVICE ?endpoint {SPO} }}", 403),
    ("SERVICE $var", f"SELECT * WHERE {{ SERVICE $endpoint {SPO} }}", 403),
    ("SERVICE SILENT ?var", f"SELECT * WHERE {{ SERVICE SILENT ?endpoint {SPO} }}", 403),
    ("a prefixed allowed IRI", f"PREFIX a: <http://allowed.example/> SELECT * WHERE {{ SERVICE a:sparql {SPO} }}",
     ALLOWED),
    ("a prefixed other IRI", f"PREFIX e: <http://evil.example/> SELECT * WHERE {{ SERVICE e:sparql {SPO} }}", 403),
    ("the empty prefix", f"PREFIX : <http://evil.example/> SELECT * WHERE {{ SERVICE :sparql {SPO} }}", 403),
    ("a prefix declared twice, the last wins",
     f"PREFIX a: <http://allowed.example/> PREFIX a: <http://evil.example/> SELECT * {{ SERVICE a:sparql {SPO} }}",
     403),
    ("an undefined prefix", f"SELECT * WHERE {{ SERVICE u:sparql {SPO} }}", 400),
    ("BASE and a relative IRI", f"BASE <http://evil.example/> SELECT * WHERE {{ SERVICE <sparql> {SPO} }}", 403),
    ("BASE and a relative IRI to the allowed one",
     f"BASE <http://allowed.example/x/> SELECT * WHERE {{ SERVICE <../sparql> {SPO} }}", ALLOWED),
    ("BASE and a scheme-relative IRI",
     f"BASE <http://allowed.example/> SELECT * WHERE {{ SERVICE <//evil.example/sparql> {SPO} }}", 403),
    ("BASE under a relative PREFIX",
     f"BASE <http://evil.example/> PREFIX a: <x/> SELECT * WHERE {{ SERVICE a:sparql {SPO} }}", 403),
    (r"\u escape in the IRI", r"SELECT * WHERE { SERVICE <http://evil\u002Eexample/sparql> { ?s ?p ?o } }", 403),
    (r"\u escape spelling the allowed IRI",
     r"SELECT * WHERE { SERVICE <http://allowed\u002Eexample/sparql> { ?s ?p ?o } }", ALLOWED),
    (r"\u escape in a PREFIX IRI",
     r"PREFIX a: <http://evil\u002Eexample/> SELECT * WHERE { SERVICE a:sparql { ?s ?p ?o } }", 403),
    (r"\u escape in the keyword", r"SELECT * WHERE { \u0053ERVICE <http://evil.example/sparql> { ?s ?p ?o } }", 403),
    (r"\U escape in the keyword",
     r"SELECT * WHERE { \U00000053ERVICE <http://evil.example/sparql> { ?s ?p ?o } }", 403),
    (r"\u escape closing a string early",
     r'SELECT * WHERE { ?s ?p "\u0022 } SERVICE <http://evil.example/sparql> { ?s ?p ?o } #" }', 403),
    ("SERVICE inside a string", f'SELECT * WHERE {{ ?s ?p "SERVICE <{EVIL}> {{ }}" }}', ALLOWED),
    ("SERVICE inside a single-quoted string", f"SELECT * WHERE {{ ?s ?p 'SERVICE <{EVIL}>' }}", ALLOWED),
    ("SERVICE inside a long string", f'SELECT * WHERE {{ ?s ?p """x\nSERVICE <{EVIL}> {{ }}""" }}', ALLOWED),
    ("SERVICE inside a comment", f"SELECT * WHERE {{ ?s ?p ?o # SERVICE <{EVIL}> {{ }}\n}}", ALLOWED),
    ("SERVICE inside an IRI", "SELECT * WHERE { <http://example.org/SERVICE> ?p ?o }", ALLOWED),
    ("a '#' in a string does not hide what follows",
     f'SELECT * WHERE {{ ?s ?p "#" . SERVICE <{EVIL}> {SPO} }}', 403),
    ("nested in a subquery", f"SELECT * WHERE {{ {{ SELECT ?s WHERE {{ SERVICE <{EVIL}> {SPO} }} }} }}", 403),
    ("nested in OPTIONAL", f"SELECT * WHERE {{ ?s ?p ?o OPTIONAL {{ SERVICE <{EVIL}> {{ ?s ?q ?r }} }} }}", 403),
    ("nested in UNION", f"SELECT * WHERE {{ {SPO} UNION {{ SERVICE <{EVIL}> {SPO} }} }}", 403),
    ("nested in MINUS", f"SELECT * WHERE {{ ?s ?p ?o MINUS {{ SERVICE <{EVIL}> {SPO} }} }}", 403),
    ("lower-case service", f"select * where {{ service <{EVIL}> {SPO} }}", 403),
    ("mixed-case service", f"SELECT * WHERE {{ SeRvIcE <{EVIL}> {SPO} }}", 403),
    ("no space around the IRI", f"SELECT * WHERE {{ SERVICE<{EVIL}>{SPO} }}", 403),
    ("a second SERVICE after an allowed one",
     f"SELECT * WHERE {{ SERVICE <{ALLOW[0]}> {SPO} SERVICE <{EVIL}> {SPO} }}", 403),
    ("SERVICE with no endpoint", "SELECT * WHERE { SERVICE", 400),
    # updates, in every form
    ("INSERT DATA", "INSERT DATA { <http://a.example/s> <http://a.example/p> <http://a.example/o> }", 403),
    ("lower-case insert data", "insert data { <http://a.example/s> <http://a.example/p> <http://a.example/o> }", 403),
    (r"\u escape in INSERT", r"\u0049NSERT DATA { <http://a.example/s> <http://a.example/p> 1 }", 403),
    ("DELETE DATA", "DELETE DATA { <http://a.example/s> <http://a.example/p> <http://a.example/o> }", 403),
    ("DELETE WHERE", f"DELETE WHERE {SPO}", 403),
    ("DELETE/INSERT WHERE", "DELETE { ?s ?p ?o } INSERT { ?s ?p 1 } WHERE { ?s ?p ?o }", 403),
    ("INSERT with a subquery", f"INSERT {{ ?s ?p 1 }} WHERE {{ {{ SELECT * WHERE {SPO} }} }}", 403),
    ("PREFIX then INSERT", "PREFIX e: <http://a.example/> INSERT DATA { e:s e:p e:o }", 403),
    ("LOAD", "LOAD <http://evil.example/data.ttl>", 403),
    ("LOAD SILENT INTO GRAPH", "LOAD SILENT <http://evil.example/data.ttl> INTO GRAPH <http://a.example/g>", 403),
    ("CLEAR", "CLEAR ALL", 403),
    ("DROP", "DROP GRAPH <http://a.example/g>", 403),
    ("CREATE", "CREATE GRAPH <http://a.example/g>", 403),
    ("COPY", "COPY <http://a.example/g> TO <http://a.example/h>", 403),
    ("MOVE", "MOVE <http://a.example/g> TO <http://a.example/h>", 403),
    ("ADD", "ADD <http://a.example/g> TO <http://a.example/h>", 403),
    ("WITH ... INSERT", "WITH <http://a.example/g> INSERT { ?s ?p 1 } WHERE { ?s ?p ?o }", 403),
    ("an update naming SELECT in a string", 'INSERT DATA { <http://a.example/s> <http://a.example/p> "SELECT" }', 403),
    # text that is not a query
    ("a NUL byte", f"SELECT * WHERE {SPO}\x00", 400),
    ("a NUL byte before SERVICE", f"SELECT * WHERE {{ SERVICE\x00<{EVIL}> {SPO} }}", 400),
    ("an unterminated string", 'SELECT * WHERE { ?s ?p "abc }', 400),
    ("an invalid codepoint escape", r"SELECT * WHERE { ?s ?p '\uD800' }", 400),
    ("empty", "", 400),
    ("not SPARQL", "hello world", 400),
    # chains long enough to overflow the engine's stack; the same characters in a string or IRI are text
    ("50,001 negations", "ASK { FILTER(" + "!" * 50_001 + "true) }", 400),
    ("50,001 UNIONs", "SELECT * { " + "{} UNION " * 50_001 + "{} }", 400),
    ("operators inside a string", 'ASK { FILTER("' + "!+|" * 30_000 + '" != "") }', ALLOWED),
    ("slashes inside IRIs", "SELECT * { VALUES ?x { " + "<http://a.example/b/c/d/e/f> " * 20_000 + "} }", ALLOWED),
]


@pytest.mark.parametrize(("query", "expected"), [pytest.param(q, e, id=i) for i, q, e in TABLE])
def test_security_table(query: str, expected: str | int) -> None:
    if expected == ALLOWED:
        info = check_query(query, ALLOW)
        assert info.form in QUERY_FORMS
        assert set(info.services) <= set(ALLOW)
    else:
        with pytest.raises(QueryRefused) as refused:
            check_query(query, ALLOW)
        assert refused.value.status == expected, str(refused.value)
        assert str(refused.value)  # always says why


def _drain(result: QueryResult) -> object:
    """Read a whole answer: pyoxigraph evaluates SELECT and CONSTRUCT lazily, a SERVICE call included."""
    return bool(result) if isinstance(result, QueryBoolean) else list(result)


def test_a_service_call_fails_only_when_the_answer_is_read() -> None:
    # The control for the test below: a real SERVICE, to a port pyoxigraph refuses to call, fails, and only
    # once the answer is read (so a test that does not read it would pass with a SERVICE in the query).
    result = execute(open_in_memory(), f"SELECT * WHERE {{ SERVICE <{LOOPBACK_SERVICE}> {SPO} }}", Dataset((), ()))
    with pytest.raises(OSError):
        _drain(result)


@pytest.mark.parametrize("query", [pytest.param(q, id=i) for i, q, e in TABLE
                                   if e == ALLOWED and not inspect_query(q).services])
def test_what_the_check_lets_through_without_a_service_runs_without_one(query: str) -> None:
    # The engine agrees: a SERVICE in a string, comment or IRI is not a SERVICE. On an empty in-memory
    # store these run locally; were any a SERVICE call, reading the answer would fail (no such host).
    _drain(execute(open_in_memory(), query, Dataset((), ())))


def test_a_chain_of_exactly_the_limit_is_let_through() -> None:
    # Not run here: 50,000 negations would overflow this thread's 8 MB stack (the workers' is 256 MB).
    check_query("ASK { FILTER(" + "!" * MAX_OPERATORS + "true) }", ALLOW)


def test_every_update_keyword_is_in_the_table() -> None:
    from kgbuild.sparql import UPDATE_KEYWORDS

    refused = " ".join(q.upper() for _, q, e in TABLE if e == 403)
    assert all(keyword in refused for keyword in UPDATE_KEYWORDS)


def test_the_allow_list_is_exact() -> None:
    query = f"SELECT * WHERE {{ SERVICE <{ALLOW[0]}> {SPO} }}"
    for near_miss in ("http://allowed.example/", "http://allowed.example/sparql/", "https://allowed.example/sparql"):
        with pytest.raises(QueryRefused):
            check_query(query, [near_miss])
    with pytest.raises(QueryRefused) as refused:
        check_query(query, [])  # an empty allow-list: federation off
    assert refused.value.status == 403


# --- FROM and FROM NAMED --------------------------------------------------------------------------


def test_from_and_from_named_are_read() -> None:
    info = inspect_query("PREFIX g: <http://g.example/> SELECT * FROM <http://g.example/a> FROM g:b "
                         "FROM NAMED <http://g.example/c> FROM NAMED g:d WHERE { ?s ?p ?o }")
    assert info.from_graphs == ("http://g.example/a", "http://g.example/b")
    assert info.from_named_graphs == ("http://g.example/c", "http://g.example/d")
    info = inspect_query(r"BASE <http://g.example/> SELECT * FROM <a> FROM NAMED <\u0062> { ?s ?p ?o }")
    assert (info.from_graphs, info.from_named_graphs) == (("http://g.example/a",), ("http://g.example/b",))
    assert inspect_query("SELECT * { ?s ?p ?o }").from_graphs == ()
    assert inspect_query('SELECT * { ?s ?p "FROM <http://g.example/a>" }').from_graphs == ()


PUBLIC = ["http://kg.example/graph/source/a", "http://kg.example/graph/reference"]
PERSONAL = "http://kg.example/graph/personal/a"


def test_without_from_a_query_sees_the_union_of_the_store() -> None:
    # The public database holds no personal graph: its union is exactly the public data.
    assert dataset_for(PUBLIC, inspect_query(f"SELECT * {SPO}")) == Dataset(union=True)


def test_from_narrows_and_never_widens() -> None:
    info = inspect_query(f"SELECT * FROM <{PUBLIC[0]}> FROM <{PERSONAL}> FROM NAMED <{PERSONAL}> {SPO}")
    assert dataset_for(PUBLIC, info) == Dataset((PUBLIC[0],), ())
    only_personal = inspect_query(f"SELECT * FROM <{PERSONAL}> {SPO}")
    assert dataset_for(PUBLIC, only_personal) == Dataset((), ())


def test_protocol_graphs_win_over_from_and_never_widen() -> None:
    info = inspect_query(f"SELECT * FROM <{PUBLIC[0]}> {SPO}")
    assert dataset_for(PUBLIC, info, default_graph_uris=[PERSONAL]) == Dataset((), ())
    assert dataset_for(PUBLIC, info, named_graph_uris=[PERSONAL, PUBLIC[1]]) == Dataset((), (PUBLIC[1],))
    assert dataset_for(PUBLIC, info, default_graph_uris=[PUBLIC[1]]) == Dataset((PUBLIC[1],), ())


PERSONAL_QUERIES = [
    "SELECT * FROM <{g}> {{ ?s ?p ?o }}",
    "SELECT * FROM NAMED <{g}> {{ GRAPH ?x {{ ?s ?p ?o }} }}",
    "SELECT * {{ GRAPH <{g}> {{ ?s ?p ?o }} }}",
    "SELECT * {{ GRAPH ?x {{ ?s ?p ?o }} FILTER(CONTAINS(STR(?x), '/personal/')) }}",
    "SELECT * {{ ?s <http://www.w3.org/2006/vcard/ns#fn> ?o }}",
]


@pytest.mark.parametrize("template", PERSONAL_QUERIES)
def test_a_query_for_the_personal_graph_gets_no_personal_data(bundled_build: BundledBuild, template: str) -> None:
    store = open_read_only(bundled_build.store)
    personal = bundled_build.iris.graph("personal", "002-c5b1d8a317488e7e").value
    query = template.format(g=personal)
    info = check_query(query, [])
    public = [g.value for g in public_graphs(store, bundled_build.iris)]
    for dataset in (dataset_for(public, info), dataset_for(public, info, default_graph_uris=[personal]),
                    dataset_for(public, info, named_graph_uris=[personal])):
        result = execute(store, query, dataset)
        assert isinstance(result, QuerySolutions)
        assert list(result) == []
    # The same query over the operator's opted-in copy does find it: the test can fail.
    opted_in = open_read_only(bundled_build.store, include_personal=True)
    everything = [g.value for g in public_graphs(opted_in, bundled_build.iris, include_personal=True)]
    found = execute(opted_in, query, dataset_for(everything, info))
    assert isinstance(found, QuerySolutions)
    assert "Amina Engman Bel-Haj" in " ".join(str(term) for row in found for term in row)
