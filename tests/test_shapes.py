"""The SHACL shapes (shapes/kgbuild.ttl) on small hand-written graphs, validated by real pyshacl.

One valid project conforms; each broken variant gives a violation on the right focus node and path;
each real-data finding gives a warning and nothing worse. pyshacl's ``conforms`` is False as soon as
there is any result, warnings included, so the warning tests look at the severities of the results.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyshacl
import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, RDF, SH, SKOS, XSD
from rdflib.term import Node

from kgbuild.resources import ontology_path, shapes_path

KG = Namespace("https://w3id.org/kgbuild/ontology#")
SCHEMA = Namespace("https://schema.org/")
REGORG = Namespace("http://www.w3.org/ns/regorg#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")

BASE = "http://127.0.0.1:8000/"
PROJECT = URIRef(BASE + "id/project/22-010-S04")
GRANTED = URIRef(BASE + "id/project/22-010-S04/granted")
TOTAL = URIRef(BASE + "id/project/22-010-S04/total")
PARTICIPATION = URIRef(BASE + "id/project/22-010-S04/participation/owner/2120001850")
ORGANISATION = URIRef(BASE + "id/organisation/2120001850")
REGISTRATION = URIRef(BASE + "id/organisation/2120001850/registration")
NUTS = "http://data.europa.eu/nuts/code/"

PREFIXES = """
@base <http://127.0.0.1:8000/> .
@prefix kg:     <https://w3id.org/kgbuild/ontology#> .
@prefix adms:   <http://www.w3.org/ns/adms#> .
@prefix dct:    <http://purl.org/dc/terms/> .
@prefix prov:   <http://www.w3.org/ns/prov#> .
@prefix rdfs:   <http://www.w3.org/2000/01/rdf-schema#> .
@prefix regorg: <http://www.w3.org/ns/regorg#> .
@prefix schema: <https://schema.org/> .
@prefix skos:   <http://www.w3.org/2004/02/skos/core#> .
@prefix vcard:  <http://www.w3.org/2006/vcard/ns#> .
@prefix xsd:    <http://www.w3.org/2001/XMLSchema#> .
"""

# Granted 120 of 200 is exactly the declared 60 %: with 100 of 200 the valid project would itself
# carry the rate-mismatch warning.
VALID_PROJECT = """
<id/project/22-010-S04>
    a kg:Project ;
    dct:title "Vägen vidare"@sv ;
    dct:identifier "22-010-S04" ;
    schema:startDate "2022-09-01"^^xsd:date ;
    schema:endDate "2024-08-31"^^xsd:date ;
    kg:euCofinancingRate 0.6 ;
    kg:grantedAmount <id/project/22-010-S04/granted> ;
    kg:totalBudget <id/project/22-010-S04/total> ;
    kg:hasParticipation <id/project/22-010-S04/participation/owner/2120001850> ;
    prov:wasDerivedFrom <id/source/001_49fdefbf50581b3b> .

<id/project/22-010-S04/granted> a kg:MonetaryAmount ; schema:value 120.0 ; schema:currency "SEK" .
<id/project/22-010-S04/total> a kg:MonetaryAmount ; schema:value 200.0 ; schema:currency "SEK" .

<id/project/22-010-S04/participation/owner/2120001850>
    a kg:Participation ;
    kg:participant <id/organisation/2120001850> ;
    kg:role kg:owner .

<id/organisation/2120001850>
    a kg:Organisation ;
    rdfs:label "KARLSTADS KOMMUN" ;
    regorg:registration <id/organisation/2120001850/registration> .

<id/organisation/2120001850/registration>
    a adms:Identifier ;
    skos:notation "2120001850" ;
    adms:schemaAgency "Bolagsverket" .

<id/source/001_49fdefbf50581b3b>
    a kg:SourceDocument ;
    kg:fileName "001_49fdefbf50581b3b.txt" ;
    kg:sha256 "49fdefbf50581b3b0c1d2e3f405162738495a6b7c8d9eaf0b1c2d3e4f5a6b7c8" ;
    kg:sourceFormat "esf_plus_2021" ;
    kg:parserVersion "0.1.0" .
"""

# Reference data as the validation stage adds it: municipalities → counties → NUTS-3 regions.
REFERENCE = """
<id/municipality/1780> a kg:Municipality ;
    skos:notation "1780" ; skos:prefLabel "Karlstad"@sv ; kg:county <id/county/17> .
<id/municipality/0380> a kg:Municipality ;
    skos:notation "0380" ; skos:prefLabel "Uppsala"@sv ; kg:county <id/county/03> .
<id/county/17> a kg:County ;
    skos:notation "17" ; skos:prefLabel "Värmlands län"@sv ;
    kg:nutsRegion <http://data.europa.eu/nuts/code/SE311> .
<id/county/03> a kg:County ;
    skos:notation "03" ; skos:prefLabel "Uppsala län"@sv ;
    kg:nutsRegion <http://data.europa.eu/nuts/code/SE121> .
"""


@dataclass(frozen=True)
class Result:
    focus: Node | None
    path: Node | None
    severity: Node | None
    component: Node | None
    message: str
    value: Node | None


@pytest.fixture(scope="module")
def shapes() -> Graph:
    return Graph().parse(shapes_path("kgbuild.ttl"), format="turtle")


@pytest.fixture(scope="module")
def ontology() -> Graph:
    return Graph().parse(ontology_path("kgbuild.ttl"), format="turtle")


def graph(*turtle: str) -> Graph:
    """A data graph from Turtle snippets (sharing the prefixes above)."""
    return Graph().parse(data=PREFIXES + "\n".join(turtle), format="turtle")


def validate(data: Graph, shapes: Graph, ontology: Graph | None) -> tuple[bool, list[Result]]:
    conforms, report, _ = pyshacl.validate(
        data, shacl_graph=shapes, ont_graph=ontology, inference="none", advanced=True
    )
    results = [
        Result(
            focus=report.value(r, SH.focusNode),
            path=report.value(r, SH.resultPath),
            severity=report.value(r, SH.resultSeverity),
            component=report.value(r, SH.sourceConstraintComponent),
            message=str(report.value(r, SH.resultMessage) or ""),
            value=report.value(r, SH.value),
        )
        for r in report.subjects(RDF.type, SH.ValidationResult)
    ]
    return bool(conforms), results


def violations(results: list[Result]) -> list[Result]:
    return [r for r in results if r.severity == SH.Violation]


def assert_violation(results: list[Result], focus: URIRef, path: URIRef, component: URIRef) -> Result:
    found = [r for r in violations(results) if (r.focus, r.path, r.component) == (focus, path, component)]
    assert found, f"no {component} violation on {focus} {path}; got:\n" + "\n".join(map(repr, results))
    assert all(r.message for r in found), "every result has an sh:message"
    return found[0]


def only_warnings(results: list[Result]) -> list[Result]:
    assert results, "expected at least one warning"
    assert not violations(results), "\n".join(map(repr, violations(results)))
    return results


# --- the valid project -------------------------------------------------------------------------


def test_valid_project_conforms(shapes: Graph, ontology: Graph) -> None:
    conforms, results = validate(graph(VALID_PROJECT), shapes, ontology)
    assert results == []
    assert conforms


def test_valid_project_conforms_without_the_ontology(shapes: Graph) -> None:
    # kgbuild.validation validates without ont_graph: the shapes must not need the ontology mixed in.
    conforms, results = validate(graph(VALID_PROJECT), shapes, None)
    assert results == []
    assert conforms


def test_valid_project_with_reference_data_inside_its_region_conforms(shapes: Graph, ontology: Graph) -> None:
    data = graph(VALID_PROJECT, REFERENCE)
    data.add((PROJECT, KG.nutsRegion, URIRef(NUTS + "SE31")))
    data.add((PROJECT, KG.municipality, URIRef(BASE + "id/municipality/1780")))
    conforms, results = validate(data, shapes, ontology)
    assert results == []
    assert conforms


# --- violations --------------------------------------------------------------------------------


def test_missing_title_is_a_warning_never_an_invented_title(shapes: Graph, ontology: Graph) -> None:
    data = graph(VALID_PROJECT)
    data.remove((PROJECT, DCTERMS.title, None))
    _, results = validate(data, shapes, ontology)
    [warning] = only_warnings(results)
    assert (warning.focus, warning.path, warning.component) == (PROJECT, DCTERMS.title, SH.MinCountConstraintComponent)


def test_two_titles(shapes: Graph, ontology: Graph) -> None:
    data = graph(VALID_PROJECT)
    data.add((PROJECT, DCTERMS.title, Literal("Ett annat namn", lang="sv")))
    _, results = validate(data, shapes, ontology)
    assert_violation(results, PROJECT, DCTERMS.title, SH.MaxCountConstraintComponent)


def test_end_date_before_start_date(shapes: Graph, ontology: Graph) -> None:
    data = graph(VALID_PROJECT)
    data.set((PROJECT, SCHEMA.endDate, Literal("2021-12-31", datatype=XSD.date)))
    _, results = validate(data, shapes, ontology)
    found = assert_violation(results, PROJECT, SCHEMA.endDate, SH.SPARQLConstraintComponent)
    assert found.value == Literal("2021-12-31", datatype=XSD.date)
    assert "before" in found.message


def test_cofinancing_rate_above_one(shapes: Graph, ontology: Graph) -> None:
    data = graph(VALID_PROJECT)
    data.set((PROJECT, KG.euCofinancingRate, Literal("1.4", datatype=XSD.decimal)))
    _, results = validate(data, shapes, ontology)
    assert_violation(results, PROJECT, KG.euCofinancingRate, SH.MaxInclusiveConstraintComponent)


@pytest.mark.parametrize("number", ["21200-1850", "212000185X", "212000-1850", "212000185"])
def test_malformed_organisationsnummer(shapes: Graph, ontology: Graph, number: str) -> None:
    data = graph(VALID_PROJECT)
    data.set((REGISTRATION, SKOS.notation, Literal(number)))
    _, results = validate(data, shapes, ontology)
    assert_violation(results, ORGANISATION, REGORG.registration, SH.NodeConstraintComponent)


def test_amount_with_negative_value(shapes: Graph, ontology: Graph) -> None:
    data = graph(VALID_PROJECT)
    data.set((GRANTED, SCHEMA.value, Literal("-120.0", datatype=XSD.decimal)))
    _, results = validate(data, shapes, ontology)
    assert_violation(results, GRANTED, SCHEMA.value, SH.MinInclusiveConstraintComponent)


def test_participation_without_role(shapes: Graph, ontology: Graph) -> None:
    data = graph(VALID_PROJECT)
    data.remove((PARTICIPATION, KG.role, None))
    _, results = validate(data, shapes, ontology)
    assert_violation(results, PARTICIPATION, KG.role, SH.MinCountConstraintComponent)


def test_participation_with_a_role_outside_the_code_list(shapes: Graph, ontology: Graph) -> None:
    data = graph(VALID_PROJECT)
    data.set((PARTICIPATION, KG.role, KG.coordinator))
    _, results = validate(data, shapes, ontology)
    assert_violation(results, PARTICIPATION, KG.role, SH.InConstraintComponent)


def test_nuts_region_must_be_a_nuts_iri(shapes: Graph, ontology: Graph) -> None:
    data = graph(VALID_PROJECT)
    data.add((PROJECT, KG.nutsRegion, URIRef(BASE + "id/region/SE0")))
    _, results = validate(data, shapes, ontology)
    assert_violation(results, PROJECT, KG.nutsRegion, SH.PatternConstraintComponent)


def test_project_without_provenance(shapes: Graph, ontology: Graph) -> None:
    data = graph(VALID_PROJECT)
    data.remove((PROJECT, URIRef("http://www.w3.org/ns/prov#wasDerivedFrom"), None))
    _, results = validate(data, shapes, ontology)
    assert_violation(
        results, PROJECT, URIRef("http://www.w3.org/ns/prov#wasDerivedFrom"), SH.MinCountConstraintComponent
    )


def test_source_document_with_uppercase_sha256(shapes: Graph, ontology: Graph) -> None:
    data = graph(VALID_PROJECT)
    document = URIRef(BASE + "id/source/001_49fdefbf50581b3b")
    data.set((document, KG.sha256, Literal("49FDEFBF" + "0" * 56)))
    _, results = validate(data, shapes, ontology)
    assert_violation(results, document, KG.sha256, SH.PatternConstraintComponent)


def test_contact_with_a_local_phone_number(shapes: Graph, ontology: Graph) -> None:
    contact = URIRef(BASE + "id/contact/1")
    data = graph(
        VALID_PROJECT,
        """<id/project/22-010-S04> kg:contact <id/contact/1> .
        <id/contact/1> a kg:Contact ; vcard:fn "Ann Exempel" ;
            vcard:hasEmail <mailto:ann@example.se> ; vcard:hasTelephone <tel:08-50835768> .""",
    )
    _, results = validate(data, shapes, ontology)
    assert_violation(results, contact, VCARD.hasTelephone, SH.PatternConstraintComponent)
    assert not [r for r in results if r.path == VCARD.hasEmail]


def test_partner_search_end_year_before_start_year(shapes: Graph, ontology: Graph) -> None:
    search = URIRef(BASE + "id/partner-search/1")
    data = graph(
        VALID_PROJECT,
        """<id/partner-search/1> a kg:PartnerSearch ;
            dct:title "Pathways to work"@en ;
            kg:deadline "2013-02-21"^^xsd:date ;
            kg:startYear "2015"^^xsd:gYear ; kg:endYear "2013"^^xsd:gYear ;
            prov:wasDerivedFrom <id/source/001_49fdefbf50581b3b> .""",
    )
    _, results = validate(data, shapes, ontology)
    assert_violation(results, search, KG.endYear, SH.SPARQLConstraintComponent)


def test_municipality_code_must_start_with_its_county_code(shapes: Graph, ontology: Graph) -> None:
    data = graph(REFERENCE)
    karlstad = URIRef(BASE + "id/municipality/1780")
    data.set((karlstad, KG.county, URIRef(BASE + "id/county/03")))
    _, results = validate(data, shapes, ontology)
    assert_violation(results, karlstad, KG.county, SH.SPARQLConstraintComponent)


# --- warnings: real-data findings that must not block publishing --------------------------------


def test_national_project_is_a_warning(shapes: Graph, ontology: Graph) -> None:
    data = graph(VALID_PROJECT)
    data.add((PROJECT, KG.nationalScope, Literal(True)))
    _, results = validate(data, shapes, ontology)
    [warning] = only_warnings(results)
    assert (warning.focus, warning.path, warning.severity) == (PROJECT, KG.nationalScope, SH.Warning)
    assert warning.message == "national project (SE0): no NUTS-2 region"


def test_granted_above_total_is_a_warning(shapes: Graph, ontology: Graph) -> None:
    data = graph(VALID_PROJECT)
    data.set((GRANTED, SCHEMA.value, Literal("300.0", datatype=XSD.decimal)))
    _, results = validate(data, shapes, ontology)
    found = [r for r in only_warnings(results) if r.path == KG.grantedAmount]
    assert [(r.focus, r.severity) for r in found] == [(PROJECT, SH.Warning)]
    assert "greater than the total budget" in found[0].message


def test_declared_rate_differing_from_granted_over_total_is_a_warning(shapes: Graph, ontology: Graph) -> None:
    data = graph(VALID_PROJECT)
    data.set((PROJECT, KG.euCofinancingRate, Literal("0.45", datatype=XSD.decimal)))  # 120 / 200 = 0.6
    _, results = validate(data, shapes, ontology)
    [warning] = only_warnings(results)
    assert (warning.focus, warning.path, warning.severity) == (PROJECT, KG.euCofinancingRate, SH.Warning)
    assert "differs from granted/total" in warning.message


def test_declared_rate_within_one_hundredth_is_not_reported(shapes: Graph, ontology: Graph) -> None:
    data = graph(VALID_PROJECT)
    data.set((PROJECT, KG.euCofinancingRate, Literal("0.605", datatype=XSD.decimal)))
    _, results = validate(data, shapes, ontology)
    assert results == []


def test_municipality_outside_the_declared_region_is_a_warning(shapes: Graph, ontology: Graph) -> None:
    # The declared region is SE31 (Norra Mellansverige); Karlstad lies in SE311, Uppsala in SE121.
    data = graph(VALID_PROJECT, REFERENCE)
    data.add((PROJECT, KG.nutsRegion, URIRef(NUTS + "SE31")))
    data.add((PROJECT, KG.municipality, URIRef(BASE + "id/municipality/1780")))
    data.add((PROJECT, KG.municipality, URIRef(BASE + "id/municipality/0380")))
    _, results = validate(data, shapes, ontology)
    [warning] = only_warnings(results)
    assert (warning.focus, warning.path, warning.value) == (
        PROJECT,
        KG.municipality,
        URIRef(BASE + "id/municipality/0380"),
    )
    assert warning.message.startswith("municipality outside the declared region")


def test_no_region_check_without_a_declared_region(shapes: Graph, ontology: Graph) -> None:
    data = graph(VALID_PROJECT, REFERENCE)
    data.add((PROJECT, KG.municipality, URIRef(BASE + "id/municipality/0380")))
    _, results = validate(data, shapes, ontology)
    assert results == []


def test_every_shape_constraint_has_an_english_message(shapes: Graph) -> None:
    # Every property shape and SPARQL constraint, and every node shape with an sh:or, explains itself.
    constraints = set(shapes.subjects(SH.path, None)) | set(shapes.subjects(RDF.type, SH.SPARQLConstraint))
    constraints |= set(shapes.subjects(SH["or"], None))
    inside_or = {m for lst in shapes.objects(None, SH["or"]) for m in shapes.items(lst)}
    missing = sorted(str(c) for c in constraints - inside_or if shapes.value(c, SH.message) is None)
    assert missing == []
    assert all(isinstance(m, Literal) for m in shapes.objects(None, SH.message))
