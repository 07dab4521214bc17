"""Compact JSON-LD over a real server: the context is served at ``/ns/context.jsonld`` and named by every
JSON-LD answer; a resource's JSON-LD, read with the served context by pyoxigraph and by rdflib, is the
same triples as its Turtle; ``Accept: application/ld+json`` is answered wherever Turtle is."""

from __future__ import annotations

import gzip
import json
import time
from typing import Any

import httpx
import pytest
import rdflib
from pyoxigraph import RdfFormat, parse

from kgbuild.resources import ontology_path
from tests.jsonld import inline_context, parse_rdf
from tests.server.conftest import BASE

PROJECT = BASE + "id/project/22-010-S04"
CONTEXT_URL = BASE + "ns/context.jsonld"
JSONLD = "application/ld+json"


@pytest.fixture(scope="module")
def dumps_ready(client: httpx.Client) -> None:
    """The dumps and the VoID description, once the server has made them in the background."""
    deadline = time.monotonic() + 60
    while client.get("/dumps/", headers={"accept": "application/json"}).status_code != 200:
        assert time.monotonic() < deadline, "the dumps were not ready within 60 s"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def served_context(client: httpx.Client) -> dict[str, Any]:
    response = client.get("/ns/context.jsonld")
    assert response.status_code == 200
    context: dict[str, Any] = response.json()
    return context


def test_the_context_is_served_with_its_type_and_cache_headers(client: httpx.Client) -> None:
    response = client.get("/ns/context.jsonld")
    assert response.status_code == 200 and response.headers["content-type"] == JSONLD
    assert response.content == ontology_path("context.jsonld").read_bytes()
    assert "max-age=86400" in response.headers["cache-control"] and "public" in response.headers["cache-control"]
    across = client.get("/ns/context.jsonld", headers={"origin": "https://example.org"})  # a processor in a browser
    assert across.headers["access-control-allow-origin"] == "*"
    again = client.get("/ns/context.jsonld", headers={"if-none-match": response.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    context = response.json()["@context"]
    assert context["title"] == {"@id": "dct:title", "@container": "@language"}
    assert context["grantedAmount"] == {"@id": "kg:grantedAmount", "@type": "@id"}
    assert context["startDate"] == {"@id": "schema:startDate", "@type": "xsd:date"}


def test_a_resource_reads_as_plain_json(client: httpx.Client) -> None:
    response = client.get(PROJECT[len(BASE) - 1:], headers={"accept": JSONLD})
    assert response.status_code == 200 and response.headers["content-type"] == JSONLD
    document = response.json()
    assert document["@context"] == CONTEXT_URL
    project = document["@graph"][0]  # the resource first, then its parts (participations, address ...)
    assert project["id"] == PROJECT and project["type"] == "Project"
    assert "Värmlands Skolsamverkan" in project["title"]["sv"]
    assert project["startDate"] == "2023-03-01" and project["fund"] == BASE + "id/fund/esf-plus"
    assert project["specificObjective"] == BASE + "id/specific-objective/A2B"
    assert not [key for key in project if key.startswith(("http://", "https://"))]


@pytest.mark.parametrize("reader", ["pyoxigraph", "rdflib"])
@pytest.mark.filterwarnings("ignore:.*is deprecated:DeprecationWarning:rdflib")  # rdflib 7's JSON-LD parser, inside
def test_a_resource_round_trips_to_the_triples_of_its_turtle(client: httpx.Client, served_context: dict[str, Any],
                                                             reader: str) -> None:
    turtle = client.get(PROJECT[len(BASE) - 1:], headers={"accept": "text/turtle"})
    expected = {str(q.triple) for q in parse(turtle.content, format=RdfFormat.TURTLE)}
    body = client.get(PROJECT[len(BASE) - 1:] + ".jsonld").content
    if reader == "pyoxigraph":
        back = {str(q.triple) for q in parse_rdf(body, RdfFormat.JSON_LD, served_context)}
    else:
        dataset = rdflib.Dataset().parse(data=inline_context(body, served_context), format="json-ld")
        graph = rdflib.Graph()
        for s, p, o, _ in dataset.quads():
            graph.add((s, p, o))
        back = {str(t) for t in parse(graph.serialize(format="nt", encoding="utf-8"), format=RdfFormat.N_TRIPLES)}
    assert len(expected) > 20 and back == expected, (expected - back, back - expected)


@pytest.mark.parametrize("path", ["/id/project/22-010-S04", "/id/fund/esf-plus", "/ontology", "/.well-known/void",
                                  "/sparql", "/id/municipality/1780"])
def test_json_ld_is_compact_wherever_turtle_is_served(client: httpx.Client, path: str,
                                                      served_context: dict[str, Any], dumps_ready: None) -> None:
    turtle = client.get(path, headers={"accept": "text/turtle"})
    assert turtle.status_code == 200 and turtle.headers["content-type"].startswith("text/turtle"), path
    response = client.get(path, headers={"accept": "application/ld+json, text/turtle;q=0.5"})
    assert response.status_code == 200 and response.headers["content-type"] == JSONLD, path
    assert response.json()["@context"] == CONTEXT_URL
    triples = {str(q.triple) for q in parse(turtle.content, format=RdfFormat.TURTLE)}
    back = {str(q.triple) for q in parse_rdf(response.content, RdfFormat.JSON_LD, served_context)}
    if any("_:" in t for t in triples):  # the ontology's blank nodes are named anew by each parser
        assert len(back) == len(triples)
    else:
        assert back == triples


def test_the_json_ld_dump_names_the_context(client: httpx.Client, dumps_ready: None) -> None:
    data = gzip.decompress(client.get("/dumps/kgbuild.jsonld.gz").content)
    document = json.loads(data)
    assert document["@context"] == CONTEXT_URL
    titled = [node for node in document["@graph"] if node.get("id") == PROJECT and "title" in node]
    assert titled and "Värmlands Skolsamverkan" in titled[0]["title"]["sv"]
