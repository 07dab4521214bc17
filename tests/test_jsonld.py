"""Compact JSON-LD: plain keys where the context gives the value back exactly, the prefixed IRI where it
does not, a dump written a subject at a time; everything read back by two JSON-LD processors (pyoxigraph,
rdflib) is the triples it was made from."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator

import pytest
import rdflib
from pyoxigraph import BlankNode, DefaultGraph, Literal, NamedNode, Quad, RdfFormat, Store, Triple
from rdflib.compare import isomorphic

from kgbuild.jsonld import compact_document, context_url, load_context, write_compact_dataset
from kgbuild.store import open_read_only
from kgbuild.vocab import DCT, KG, RDF, SCHEMA, SKOS, XSD
from tests.conftest import ROOT, BundledBuild
from tests.jsonld import inline_context, parse_rdf

URL = context_url("https://example.org/")
P = NamedNode("https://example.org/id/project/1")
n = NamedNode


def _typed(value: str, datatype: str) -> Literal:
    return Literal(value, datatype=n(datatype))


TRIPLES = [
    Triple(P, n(RDF + "type"), n(KG + "Project")),
    Triple(P, n(DCT + "title"), Literal("Ett projekt", language="sv")),
    Triple(P, n(DCT + "title"), Literal("A project", language="en")),
    Triple(P, n(DCT + "title"), Literal("Utan språk")),
    Triple(P, n(SCHEMA + "startDate"), _typed("2024-01-01", XSD + "date")),
    Triple(P, n(SCHEMA + "endDate"), Literal("someday")),  # not the key's datatype: kept as it is
    Triple(P, n(KG + "fund"), n("https://example.org/id/fund/esf-plus")),
    Triple(P, n(KG + "fund"), Literal("ESF+")),  # a literal where the key takes IRIs
    Triple(P, n(KG + "plannedParticipants"), _typed("1600", XSD + "integer")),
    Triple(P, n(KG + "euCofinancingRate"), _typed("0.60", XSD + "decimal")),  # the lexical form is kept
    Triple(P, n(SKOS + "notation"), Literal("A2B")),
    Triple(P, n("https://example.org/unknown#property"), Literal("x", language="de")),
    Triple(P, n(KG + "rawField"), BlankNode("b1")),
    Triple(BlankNode("b1"), n(KG + "rawLabel"), Literal("Diarienummer")),
]


def test_keys_are_plain_where_the_context_gives_the_value_back() -> None:
    document = compact_document(TRIPLES, URL, first=P.value)
    assert document["@context"] == URL
    node = document["@graph"][0]
    assert node["id"] == P.value and node["type"] == "Project"
    assert node["title"] == {"en": "A project", "sv": "Ett projekt", "@none": "Utan språk"}
    assert node["startDate"] == "2024-01-01" and node["schema:endDate"] == "someday"
    assert node["fund"] == "https://example.org/id/fund/esf-plus" and node["kg:fund"] == "ESF+"
    assert node["plannedParticipants"] == "1600" and node["euCofinancingRate"] == "0.60"
    assert node["notation"] == "A2B" and node["rawField"] == "_:b1"
    assert node["https://example.org/unknown#property"] == {"@value": "x", "@language": "de"}
    assert document["@graph"][1] == {"id": "_:b1", "rawLabel": "Diarienummer"}


@pytest.mark.parametrize("reader", ["pyoxigraph", "rdflib"])
@pytest.mark.filterwarnings("ignore:.*is deprecated:DeprecationWarning:rdflib")  # rdflib 7's JSON-LD parser, inside
def test_a_document_reads_back_as_its_triples(reader: str) -> None:
    data = json.dumps(compact_document(TRIPLES, URL)).encode()
    expected = rdflib.Graph().parse(data="".join(f"{t} .\n" for t in TRIPLES), format="nt")
    if reader == "pyoxigraph":
        back = rdflib.Graph().parse(data="".join(f"{q.triple} .\n" for q in parse_rdf(data, RdfFormat.JSON_LD)),
                                    format="nt")
    else:
        dataset = rdflib.Dataset().parse(data=inline_context(data), format="json-ld")
        back = rdflib.Graph()
        for s, p, o, _ in dataset.quads():
            back.add((s, p, o))
    assert isomorphic(back, expected)


def test_one_subject_is_one_node_object() -> None:
    document = compact_document(TRIPLES[:2], URL)
    assert document == {"@context": URL, "id": P.value, "type": "Project", "title": {"sv": "Ett projekt"}}


def test_a_dump_is_written_a_subject_at_a_time() -> None:
    output = io.BytesIO()
    graph = n("https://example.org/graph/source/1")

    def quads(name: NamedNode | DefaultGraph) -> Iterator[Quad]:
        for index in range(3):
            subject = n(f"https://example.org/id/project/{index}")
            yield Quad(subject, n(DCT + "identifier"), Literal(str(index)), name)
            if index:  # a new subject begun: the previous one is written before the rest is read
                assert f"project/{index - 1}".encode() in output.getvalue()
            yield Quad(subject, n(SKOS + "notation"), Literal(str(index)), name)

    write_compact_dataset([(DefaultGraph(), quads(DefaultGraph())), (graph, quads(graph))], URL, output)
    document = json.loads(output.getvalue())
    assert document["@context"] == URL
    assert [node["id"] for node in document["@graph"]][:3] == [f"https://example.org/id/project/{i}" for i in range(3)]
    assert document["@graph"][3]["id"] == graph.value and len(document["@graph"][3]["@graph"]) == 3
    back = parse_rdf(output.getvalue(), RdfFormat.JSON_LD)
    assert len(back) == 12 and {q.graph_name for q in back} == {DefaultGraph(), graph}


def test_the_context_file_is_what_the_ontology_gives() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "make_context.py"), "--check"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_every_property_and_class_of_the_bundled_corpus_has_a_plain_key(bundled_build: BundledBuild) -> None:
    store: Store = open_read_only(bundled_build.store)
    context = load_context()
    predicates = {q.predicate.value for q in store.quads_for_pattern(None, None, None, None)}
    classes = {q.object.value for q in store.quads_for_pattern(None, n(RDF + "type"), None, None)}
    ours = [p for p in predicates if p.startswith(KG)]
    assert ours and [p for p in ours if p not in context.keys] == []
    assert [c for c in classes if c.startswith(KG) and c not in context.classes] == []
