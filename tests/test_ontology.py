"""The ontology (ontology/kgbuild.ttl) and its generated documentation page (ontology/kgbuild.html).

It parses with both RDF libraries we ship; every kg: class and property is labelled and explained in
English and Swedish and aligned to the outside world; the shapes use no kg: term the ontology does not
declare; and the committed HTML page is exactly what the generator makes of the Turtle file.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pyoxigraph
import pytest
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SH, SKOS

from kgbuild.resources import ontology_path, shapes_path

ROOT = Path(__file__).resolve().parents[1]
KG = "https://w3id.org/kgbuild/ontology#"
ONTOLOGY_IRI = URIRef("https://w3id.org/kgbuild/ontology")
ONTOLOGY_FILE = ontology_path("kgbuild.ttl")
SHAPES_FILE = shapes_path("kgbuild.ttl")
HTML_FILE = ontology_path("kgbuild.html")
TERM_TYPES = (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty)
DECLARATION_TYPES = (*TERM_TYPES, OWL.NamedIndividual, SKOS.ConceptScheme)
ROLES = {URIRef(KG + name) for name in ("owner", "coFinancier", "partner", "applicant")}


def _load() -> Graph:
    return Graph().parse(ONTOLOGY_FILE, format="turtle")


def _kg_terms(graph: Graph, types: tuple[URIRef, ...]) -> list[URIRef]:
    found = {s for t in types for s in graph.subjects(RDF.type, t) if isinstance(s, URIRef)}
    return sorted(s for s in found if str(s).startswith(KG))


# Parsed once at collection time, so that each term is its own test case.
CLASSES_AND_PROPERTIES = _kg_terms(_load(), TERM_TYPES)


@pytest.fixture(scope="module")
def ontology() -> Graph:
    return _load()


@pytest.fixture(scope="module")
def html_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "make_ontology_html", ROOT / "scripts" / "make_ontology_html.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- parsing -----------------------------------------------------------------------------------


def test_parses_with_rdflib(ontology: Graph) -> None:
    assert (ONTOLOGY_IRI, RDF.type, OWL.Ontology) in ontology
    assert len(CLASSES_AND_PROPERTIES) > 40


def test_parses_with_pyoxigraph(ontology: Graph) -> None:
    store = pyoxigraph.Store()
    store.load(path=ONTOLOGY_FILE, format=pyoxigraph.RdfFormat.TURTLE)
    assert len(store) == len(ontology)
    ask = "ASK { <https://w3id.org/kgbuild/ontology> a <http://www.w3.org/2002/07/owl#Ontology> }"
    assert store.query(ask)


# --- documentation of every term ---------------------------------------------------------------


def _langs(graph: Graph, term: URIRef, predicate: URIRef) -> set[str | None]:
    return {o.language for o in graph.objects(term, predicate) if isinstance(o, Literal)}


@pytest.mark.parametrize("term", CLASSES_AND_PROPERTIES, ids=lambda t: t.removeprefix(KG))
def test_term_has_english_and_swedish_label_and_comment(ontology: Graph, term: URIRef) -> None:
    assert {"en", "sv"} <= _langs(ontology, term, RDFS.label)
    assert {"en", "sv"} <= _langs(ontology, term, RDFS.comment)
    assert (term, RDFS.isDefinedBy, ONTOLOGY_IRI) in ontology


@pytest.mark.parametrize(
    "term", [t for t in CLASSES_AND_PROPERTIES if t[len(KG)].islower()], ids=lambda t: t.removeprefix(KG)
)
def test_property_has_domain_and_range(ontology: Graph, term: URIRef) -> None:
    assert ontology.value(term, RDFS.domain) is not None
    assert ontology.value(term, RDFS.range) is not None
    kinds = set(ontology.objects(term, RDF.type)) & {OWL.ObjectProperty, OWL.DatatypeProperty}
    assert len(kinds) == 1


def test_every_class_is_aligned_to_an_external_vocabulary(ontology: Graph) -> None:
    unaligned = []
    for cls in _kg_terms(ontology, (OWL.Class,)):
        targets = [
            o
            for p in (RDFS.subClassOf, OWL.equivalentClass, SKOS.closeMatch)
            for o in ontology.objects(cls, p)
        ]
        if not any(isinstance(t, URIRef) and not str(t).startswith(KG) for t in targets):
            unaligned.append(cls)
    assert unaligned == []


def test_roles_are_a_closed_scheme_with_bilingual_labels(ontology: Graph) -> None:
    roles = set(ontology.subjects(RDF.type, URIRef(KG + "Role")))
    assert roles == ROLES
    for role in roles:
        assert (role, SKOS.inScheme, URIRef(KG + "Roles")) in ontology
        assert {"en", "sv"} <= _langs(ontology, role, SKOS.prefLabel)
        assert ontology.value(role, SKOS.notation) == Literal(role.removeprefix(KG))


def test_named_individuals_have_no_link_cycles(ontology: Graph) -> None:
    # pyshacl copies each owl:NamedIndividual of ont_graph into the data graph by following its links
    # ten levels deep; a cycle (e.g. skos:hasTopConcept back from the scheme) makes that exponential.
    def walk(node: URIRef, path: tuple[URIRef, ...]) -> Iterator[tuple[URIRef, ...]]:
        for obj in set(ontology.objects(node, None)):
            if isinstance(obj, URIRef):
                if obj in path:
                    yield (*path, obj)
                else:
                    yield from walk(obj, (*path, obj))

    for individual in ontology.subjects(RDF.type, OWL.NamedIndividual):
        assert isinstance(individual, URIRef)
        assert list(walk(individual, (individual,))) == []


# --- the shapes use only declared terms --------------------------------------------------------


def _kg_iris_in_shapes(shapes: Graph) -> set[URIRef]:
    iris = {n for triple in shapes for n in triple if isinstance(n, URIRef) and str(n).startswith(KG)}
    for query in shapes.objects(None, SH.select):
        iris |= {URIRef(KG + local) for local in re.findall(r"\bkg:(\w+)", str(query))}
    return iris


def test_every_kg_term_in_the_shapes_is_declared(ontology: Graph) -> None:
    shapes = Graph().parse(SHAPES_FILE, format="turtle")
    used = _kg_iris_in_shapes(shapes)
    declared = {s for t in DECLARATION_TYPES for s in ontology.subjects(RDF.type, t)} | ROLES
    assert used, "the shapes use kg: terms"
    assert sorted(used - declared) == []


def test_shapes_role_list_is_the_role_scheme(ontology: Graph) -> None:
    shapes = Graph().parse(SHAPES_FILE, format="turtle")
    role_lists = [
        set(shapes.items(lst))
        for prop_shape in shapes.subjects(SH.path, URIRef(KG + "role"))
        for lst in shapes.objects(prop_shape, SH["in"])
    ]
    assert role_lists == [set(ontology.subjects(SKOS.inScheme, URIRef(KG + "Roles")))]


def test_every_class_has_a_shape(ontology: Graph) -> None:
    shapes = Graph().parse(SHAPES_FILE, format="turtle")
    targeted = set(shapes.objects(None, SH.targetClass))
    assert sorted(set(_kg_terms(ontology, (OWL.Class,))) - targeted) == []


# --- the HTML documentation --------------------------------------------------------------------


def test_committed_html_is_current(html_module: ModuleType) -> None:
    page = html_module.render(html_module.load(ONTOLOGY_FILE))
    assert HTML_FILE.read_bytes() == page.encode("utf-8"), "run: python scripts/make_ontology_html.py"


def test_html_check_mode_agrees(html_module: ModuleType) -> None:
    assert html_module.main(["--check"]) == 0


def test_html_is_self_contained_and_anchors_every_term(ontology: Graph) -> None:
    page = HTML_FILE.read_text(encoding="utf-8")
    assert "<script" not in page
    assert not re.search(r"<link\b|\bsrc=|@import|url\(", page)
    declared = _kg_terms(ontology, DECLARATION_TYPES)
    for term in declared:
        assert f'id="{term.removeprefix(KG)}"' in page
        assert f'href="{term}"' in page


def test_html_has_no_blank_node_ids(ontology: Graph) -> None:
    # Blank-node ids change from parse to parse; the page must render class expressions instead.
    page = HTML_FILE.read_text(encoding="utf-8")
    bnodes = {str(n) for triple in ontology for n in triple if isinstance(n, BNode)}
    assert not [b for b in bnodes if b in page]
