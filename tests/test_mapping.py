"""Mapping: parsed records → quads. Golden graphs for the bundled texts, and the mapping rules on
records built by hand.

The golden files ``tests/golden/graphs/<stem>.nq`` (public graph) and ``<stem>.personal.nq``
(contact persons) are N-Quads, one quad per line, sorted. They are compared as sets of quads and a
difference is printed as the missing and the extra quads. ``KGBUILD_REGEN_GOLDEN=1`` rewrites them
from the current mapping: review the diff before committing it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

import pytest
from pyoxigraph import BlankNode, Literal, NamedNode, Quad, RdfFormat, parse, serialize

from kgbuild.iris import Iris, SourceInfo
from kgbuild.mapping import MappedSource, redact, reference_quads, stated_key
from kgbuild.parsers import PARSER_VERSION
from kgbuild.prepare import map_sources
from kgbuild.records import ParseResult, ProjectRecord
from kgbuild.sources import read_sources
from kgbuild.vocab import ADMS, DCT, KG, NUTS, OWL, RDF, RDFS, REGORG, SCHEMA, SKOS, VCARD, XSD
from tests.conftest import BASE_IRI, GOLDEN, REGEN_GOLDEN, SOURCES

SOURCE_FILES = sorted(SOURCES.glob("*.txt"))
GRAPHS = GOLDEN / "graphs"
IRIS = Iris(BASE_IRI)


def node(iri: str) -> NamedNode:
    return NamedNode(iri)


def ident(*segments: str) -> NamedNode:
    return IRIS.id(*segments)


def stated(record: ProjectRecord, kind: str = "project") -> NamedNode:
    """The IRI of a record without a project number: the digest of what it states of itself."""
    key = stated_key(record)
    assert key is not None
    return ident(kind, "digest", key)


def typed(value: str, datatype: str) -> Literal:
    return Literal(value, datatype=NamedNode(XSD + datatype))


def nquads(quads: Iterable[Quad]) -> list[str]:
    """Quads as sorted N-Quads lines (the golden-file form)."""
    text = (serialize(list(quads), format=RdfFormat.N_QUADS) or b"").decode("utf-8")
    return sorted(line for line in text.splitlines() if line)


def assert_same_quads(got: Iterable[Quad], golden: Path) -> None:
    """Compare with a golden N-Quads file as sets; print what is missing and what is extra."""
    got = set(got)
    if REGEN_GOLDEN:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text("".join(line + "\n" for line in nquads(got)), encoding="utf-8")
    expected = set(parse(path=golden, format=RdfFormat.N_QUADS))
    missing, extra = expected - got, got - expected
    assert not (missing or extra), (
        f"{golden.name}: {len(missing)} missing, {len(extra)} extra\n"
        + "".join(f"  missing: {line}\n" for line in nquads(missing))
        + "".join(f"  extra:   {line}\n" for line in nquads(extra))
    )


def golden_quads(stem: str, personal: bool = False) -> set[Quad]:
    return set(parse(path=GRAPHS / f"{stem}{'.personal' if personal else ''}.nq", format=RdfFormat.N_QUADS))


def objects(quads: Iterable[Quad], subject: NamedNode, predicate: str) -> set[object]:
    return {q.object for q in quads if q.subject == subject and q.predicate == NamedNode(predicate)}


def subjects(quads: Iterable[Quad], predicate: str, obj: object) -> set[object]:
    return {q.subject for q in quads if q.predicate == NamedNode(predicate) and q.object == obj}


@pytest.fixture(scope="module")
def bundled() -> dict[str, MappedSource]:
    """The bundled corpus, read and mapped together (organisation identities are corpus-wide)."""
    parsed, failures = read_sources(SOURCE_FILES)
    assert failures == []
    return {item.source.name.removesuffix(".txt"): item for item in map_sources(parsed, IRIS)}


# --- golden graphs --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["public", "personal"])
@pytest.mark.parametrize("stem", [p.stem for p in SOURCE_FILES])
def test_golden_graph(bundled: dict[str, MappedSource], stem: str, kind: str) -> None:
    mapped = bundled[stem]
    if kind == "public":
        assert_same_quads(mapped.quads, GRAPHS / f"{stem}.nq")
        assert {q.graph_name for q in mapped.quads} == {mapped.graph}
    else:
        assert_same_quads(mapped.personal_quads, GRAPHS / f"{stem}.personal.nq")
        assert {q.graph_name for q in mapped.personal_quads} <= {mapped.personal_graph}


def test_every_golden_file_belongs_to_a_bundled_source() -> None:
    stems = {p.stem for p in SOURCE_FILES}
    assert {p.name.split(".")[0] for p in GRAPHS.glob("*.nq")} == stems
    assert len(list(GRAPHS.glob("*.nq"))) == 2 * len(stems)


def test_golden_graphs_say_what_the_sources_say() -> None:
    """The golden files checked by hand against the texts, so that a careless regeneration fails here."""
    call = golden_quads("000_fa21285db760708c")
    search = ident("partner-search", "digest", "bc8c75b4e1ea941c")  # its title, applicant and no start date
    karlstad = ident("organisation", "municipality", "1780")  # governs Karlstad: one IRI, number or not
    assert objects(call, search, DCT + "title") == {
        Literal("Joint development to combat poverty and social exclusion", language="en")}
    assert objects(call, search, KG + "deadline") == {typed("2013-02-21", "date")}
    assert objects(call, search, KG + "startYear") == {typed("2013", "gYear")}
    assert objects(call, search, KG + "endYear") == {typed("2015", "gYear")}
    assert Literal("Child poverty", language="en") in objects(call, search, SCHEMA + "keywords")
    [applicant] = objects(call, search, KG + "hasParticipation")
    assert objects(call, applicant, KG + "participant") == {karlstad}  # the same IRI as in 001
    assert objects(call, applicant, KG + "role") == {node(KG + "applicant")}
    assert objects(call, karlstad, RDFS + "label") == {Literal("Municipality of Karlstad")}
    assert objects(call, karlstad, KG + "governs") == {ident("municipality", "1780")}
    assert objects(call, karlstad, OWL + "sameAs") == {ident("organisation", "2120001850")}  # its earlier IRI
    assert objects(call, search, OWL + "sameAs") == {ident("partner-search", "000-fa21285db760708c")}

    esf_plus = golden_quads("001_49fdefbf50581b3b")
    project = ident("project", "22-010-S04")
    assert objects(esf_plus, project, DCT + "title") == {Literal("Värmlands Skolsamverkan", language="sv")}
    assert objects(esf_plus, project, SCHEMA + "startDate") == {typed("2023-03-01", "date")}
    assert objects(esf_plus, project, SCHEMA + "endDate") == {typed("2025-07-31", "date")}
    assert objects(esf_plus, project, KG + "euCofinancingRate") == {typed("0.6", "decimal")}
    assert objects(esf_plus, project, KG + "nutsRegion") == {node(NUTS + "SE31")}
    assert objects(esf_plus, project, KG + "plannedParticipants") == {typed("1600", "integer")}
    assert objects(esf_plus, project, KG + "childPovertyTheme") == {typed("false", "boolean")}
    [owner] = objects(esf_plus, project, KG + "hasParticipation")
    assert objects(esf_plus, owner, KG + "participant") == {karlstad}
    assert objects(esf_plus, owner, KG + "role") == {node(KG + "owner")}
    assert objects(esf_plus, karlstad, RDFS + "label") == {Literal("KARLSTADS KOMMUN")}
    [registration] = objects(esf_plus, karlstad, REGORG + "registration")
    assert objects(esf_plus, registration, SKOS + "notation") == {Literal("2120001850")}
    assert objects(esf_plus, registration, RDF + "type") == {node(ADMS + "Identifier")}

    merit = golden_quads("002_c5b1d8a317488e7e")
    project = ident("project", "digest", "00fa4d25cd4df775")  # no title: its owner and start date
    assert objects(merit, project, OWL + "sameAs") == {ident("project", "source", "002-c5b1d8a317488e7e")}
    assert objects(merit, project, DCT + "title") == set()  # "merit.nu" above the fields is the site's name
    [granted] = objects(merit, project, KG + "grantedAmount")
    [total] = objects(merit, project, KG + "totalBudget")
    assert objects(merit, granted, SCHEMA + "value") == {typed("13857478", "decimal")}
    assert objects(merit, total, SCHEMA + "value") == {typed("34407757", "decimal")}
    assert objects(merit, granted, SCHEMA + "currency") == {Literal("SEK")}
    assert objects(merit, project, KG + "nutsRegion") == {node(NUTS + "SE11")}  # from "Region: Stockholm"
    assert objects(merit, project, KG + "municipality") == {ident("municipality", "0180")}
    assert objects(merit, project, SCHEMA + "startDate") == {typed("2010-08-01", "date")}
    assert objects(merit, project, SCHEMA + "endDate") == {typed("2014-05-31", "date")}
    roles = [objects(merit, p, KG + "role") for p in objects(merit, project, KG + "hasParticipation")]
    assert [r == {node(KG + "coFinancier")} for r in roles].count(True) == 14
    assert [r == {node(KG + "partner")} for r in roles].count(True) == 9
    assert [r == {node(KG + "owner")} for r in roles].count(True) == 1
    cut_short = ident("organisation", "name", "skarpnäcks-stadsdelsförvaltnin")  # as the source writes it
    assert objects(merit, cut_short, RDFS + "label") == {Literal("Skarpnäcks stadsdelsförvaltnin")}

    sia = golden_quads("003_03dc92fa27c0c321")
    project = ident("project", "22-005-S01")
    assert objects(sia, project, KG + "nutsRegion") == {node(NUTS + "SE21")}
    assert objects(sia, project, KG + "euCofinancingRate") == {typed("0.4", "decimal")}
    assert objects(sia, project, KG + "plannedParticipants") == {typed("584", "integer")}
    assert objects(sia, ident("organisation", "8025185011"), RDFS + "label") == {
        Literal("KOMMUNFÖRBUNDET KALMAR LÄN")}
    assert objects(sia, ident("organisation", "8025185011"), KG + "governs") == set()  # not a municipality
    assert objects(sia, ident("organisation", "8025185011"), OWL + "sameAs") == {
        ident("organisation", "name", "kommunförbundet-kalmar-län")}  # a mention of the name alone named it so

    pre_study = golden_quads("004_9880f10e1b458694")
    project = ident("project", "digest", "0caabebe770ed572")
    municipalities = objects(pre_study, project, KG + "municipality")
    assert len(municipalities) == 45  # every one listed resolves, "Malung" included
    assert ident("municipality", "2023") in municipalities  # Malung, now Malung-Sälen
    assert objects(pre_study, project, KG + "nutsRegion") == {node(NUTS + "SE31")}  # Norra Mellansverige
    [granted] = objects(pre_study, project, KG + "grantedAmount")
    assert objects(pre_study, granted, SCHEMA + "value") == {typed("286275", "decimal")}

    # Contact persons: only in the personal graphs, never in the public ones.
    personal = golden_quads("000_fa21285db760708c", personal=True)
    contact = node(search.value + "/contact")
    assert objects(personal, contact, VCARD + "fn") == {Literal("Ann-Karin Bohl")}
    assert objects(personal, contact, VCARD + "hasEmail") == {node("mailto:ann-karin.bohl@karlstad.se")}
    assert objects(personal, contact, VCARD + "hasTelephone") == {node("tel:+46545404955")}
    assert golden_quads("001_49fdefbf50581b3b", personal=True) == set()  # ESF+ records name no contact
    for path in SOURCE_FILES:
        public_text = (GRAPHS / f"{path.stem}.nq").read_text(encoding="utf-8")
        for personal in ("<mailto:", "<tel:", VCARD + "fn>", VCARD + "hasEmail>", KG + "contact>", "/contact>"):
            assert personal not in public_text, (path.name, personal)


def test_mapping_is_deterministic(bundled: dict[str, MappedSource]) -> None:
    parsed, _ = read_sources(SOURCE_FILES)
    again = {item.source.name.removesuffix(".txt"): item for item in map_sources(parsed, IRIS)}
    for stem, mapped in bundled.items():
        assert again[stem].quads == mapped.quads
        assert again[stem].personal_quads == mapped.personal_quads


def test_no_blank_nodes(bundled: dict[str, MappedSource]) -> None:
    quads = [q for m in bundled.values() for q in m.quads + m.personal_quads] + list(reference_quads(IRIS))
    assert quads
    blank = [q for q in quads if isinstance(q.subject, BlankNode) or isinstance(q.object, BlankNode)]
    assert blank == []


def test_no_mapping_warnings_on_the_bundled_corpus(bundled: dict[str, MappedSource]) -> None:
    assert {stem: m.warnings for stem, m in bundled.items() if m.warnings} == {}


# --- the mapping rules, on records built by hand --------------------------------------------------

def result(name: str, *records: ProjectRecord) -> ParseResult:
    return ParseResult(name, records[0].source_format, records)


def map_all(*results: ParseResult) -> dict[str, MappedSource]:
    """Map hand-made parse results together, as the pipeline maps a corpus."""
    parsed = [(SourceInfo(r.source, "0" * 64, PARSER_VERSION), r) for r in results]
    return {m.source.name: m for m in map_sources(parsed, IRIS)}


def participants(quads: Iterable[Quad], project: NamedNode) -> dict[tuple[str, str], NamedNode]:
    """(role, participant IRI) → participation node, for every participation of ``project``."""
    out = {}
    for participation in objects(quads, project, KG + "hasParticipation"):
        [role] = objects(quads, participation, KG + "role")
        [who] = objects(quads, participation, KG + "participant")
        out[(role.value.removeprefix(KG), who.value)] = participation  # type: ignore[union-attr]
    return out


def test_an_organisationsnummer_gives_one_iri_everywhere() -> None:
    one = ProjectRecord("esf_plus_2021", title="Ett", project_number="23-001-S01",
                        owner_name="Exempelbolaget AB", owner_org_number="5560001234")
    two = ProjectRecord("esf_plus_2021", title="Två", project_number="23-002-S01",
                        owner_name="EXEMPELBOLAGET I SVERIGE AB", owner_org_number="5560001234")
    three = ProjectRecord("esf_2007", title="Tre", co_financiers=("Exempelbolaget AB",))
    mapped = map_all(result("a.txt", one), result("b.txt", two), result("c.txt", three))
    organisation = ident("organisation", "5560001234")
    assert ("owner", organisation.value) in participants(mapped["a.txt"].quads, ident("project", "23-001-S01"))
    assert ("owner", organisation.value) in participants(mapped["b.txt"].quads, ident("project", "23-002-S01"))
    # Named without the number elsewhere, under a name the corpus ties to that number: the same IRI.
    third = stated(three)
    assert ("coFinancier", organisation.value) in participants(mapped["c.txt"].quads, third)
    labels = {q.object for m in mapped.values() for q in m.quads
              if q.subject == organisation and q.predicate == NamedNode(RDFS + "label")}
    assert labels == {Literal("Exempelbolaget AB"), Literal("EXEMPELBOLAGET I SVERIGE AB")}
    [registration] = objects(mapped["b.txt"].quads, organisation, REGORG + "registration")
    assert objects(mapped["b.txt"].quads, registration, SKOS + "notation") == {Literal("5560001234")}
    assert not any(q.subject.value.startswith(ident("organisation", "name").value)
                   for m in mapped.values() for q in m.quads)


def test_a_municipality_named_organisation_governs_its_municipality() -> None:
    owner = ProjectRecord("esf_plus_2021", title="Ett", project_number="23-001-S01",
                          owner_name="KARLSTADS KOMMUN", owner_org_number="2120001850")
    call = ProjectRecord("partner_search", language="en", title="A call", owner_name="The Municipality of Karlstad")
    pre = ProjectRecord("esf_2007", title="Förprojekt", co_financiers=("Forshaga kommun KOMMUNKONTOR",))
    mapped = map_all(result("a.txt", owner), result("b.txt", call), result("c.txt", pre))
    karlstad = ident("organisation", "municipality", "1780")
    assert objects(mapped["a.txt"].quads, karlstad, KG + "governs") == {ident("municipality", "1780")}
    # The English name in the call resolves to Karlstad municipality, whose organisationsnummer is known.
    assert ("applicant", karlstad.value) in participants(mapped["b.txt"].quads, stated(call, "partner-search"))
    assert objects(mapped["b.txt"].quads, karlstad, KG + "governs") == {ident("municipality", "1780")}
    [registration] = objects(mapped["b.txt"].quads, karlstad, REGORG + "registration")
    assert objects(mapped["b.txt"].quads, registration, SKOS + "notation") == {Literal("2120001850")}
    # Without a number anywhere in the corpus the organisation is named after the municipality it governs.
    forshaga = ident("organisation", "municipality", "1763")
    assert objects(mapped["c.txt"].quads, forshaga, KG + "governs") == {ident("municipality", "1763")}
    assert objects(mapped["c.txt"].quads, forshaga, RDFS + "label") == {Literal("Forshaga kommun KOMMUNKONTOR")}


def test_a_project_without_a_number_is_named_by_what_it_states_not_by_its_file() -> None:
    record = ProjectRecord("esf_2007", title="Unga i arbete", owner_name="Falu kommun",
                           start_date=dt.date(2024, 1, 1), participants=420)
    again = ProjectRecord("esf_2007", title="UNGA I ARBETE!", owner_name="FALU KOMMUN",
                          start_date=dt.date(2024, 1, 1), participants=500)  # a later scrape of the same page
    other = ProjectRecord("esf_2007", title="Unga i arbete", owner_name="Falu kommun", start_date=dt.date(2025, 1, 1))
    bare = ProjectRecord("esf_2007", municipalities=("Falun",))  # states no title, owner or start date
    mapped = map_all(result("a.txt", record), result("renamed.txt", again), result("c.txt", other),
                     result("d.txt", bare))
    project = stated(record)
    assert project == stated(again) != stated(other)
    for name in ("a.txt", "renamed.txt"):
        assert subjects(mapped[name].quads, RDF + "type", node(KG + "Project")) == {project}
    # The IRI kgbuild named it by before is kept as an earlier name of it.
    assert objects(mapped["a.txt"].quads, project, OWL + "sameAs") == {ident("project", "source", "a")}
    # Only a record that states none of these is named after its file.
    assert subjects(mapped["d.txt"].quads, RDF + "type", node(KG + "Project")) == {ident("project", "source", "d")}
    assert objects(mapped["d.txt"].quads, ident("project", "source", "d"), OWL + "sameAs") == set()


def test_a_kohesio_page_without_a_project_number_is_named_by_its_kohesio_item() -> None:
    scraped = ProjectRecord("other", language="en", title="Skills for the green north", owner_name="Region Norrbotten",
                            start_date=dt.date(2024, 3, 1), kohesio_item="Q7362999")
    edited = ProjectRecord("other", language="en", title="Skills for the green North (ESF+)",
                           owner_name="Region Norrbotten", kohesio_item="Q7362999")
    mapped = map_all(result("a.txt", scraped), result("b.txt", edited))
    project = ident("project", "kohesio", "Q7362999")
    for name in ("a.txt", "b.txt"):
        assert subjects(mapped[name].quads, RDF + "type", node(KG + "Project")) == {project}
    assert objects(mapped["a.txt"].quads, project, RDFS + "seeAlso") == {node("https://linkedopendata.eu/entity/Q7362999")}


def test_a_municipal_organisation_has_one_iri_whether_or_not_its_number_is_known() -> None:
    unnumbered = ProjectRecord("esf_2007", title="Ett", owner_name="Falu kommun")
    numbered = ProjectRecord("esf_plus_2021", title="Två", project_number="23-002-S01", owner_name="FALU KOMMUN",
                             owner_org_number="2120002312")
    alone = map_all(result("a.txt", unnumbered))["a.txt"].quads
    together = map_all(result("a.txt", unnumbered), result("b.txt", numbered))
    falun = ident("organisation", "municipality", "2080")
    assert ("owner", falun.value) in participants(alone, stated(unnumbered))
    assert ("owner", falun.value) in participants(together["a.txt"].quads, stated(unnumbered))
    assert ("owner", falun.value) in participants(together["b.txt"].quads, ident("project", "23-002-S01"))
    assert objects(alone, falun, OWL + "sameAs") == set()
    assert objects(together["b.txt"].quads, falun, OWL + "sameAs") == {ident("organisation", "2120002312")}
    [registration] = objects(together["b.txt"].quads, falun, REGORG + "registration")
    assert objects(together["b.txt"].quads, registration, SKOS + "notation") == {Literal("2120002312")}
    # A company named after the municipality, with its own number, is not the municipality.
    company = ProjectRecord("esf_plus_2021", title="Tre", project_number="23-003-S01", owner_name="Falu kommun",
                            owner_org_number="5565551234")
    quads = map_all(result("c.txt", company))["c.txt"].quads
    assert ("owner", ident("organisation", "5565551234").value) in participants(quads, ident("project", "23-003-S01"))
    assert not [q for q in quads if q.predicate == NamedNode(KG + "governs")]


def test_names_that_do_not_resolve_never_merge() -> None:
    names = ("Skarpnäcks stadsdelsförvaltnin", "Skarpnäcks stadsdelsförvaltning", "Landstingets kansli",
             "Landstinget i Värmland", "Arbetsmarknadsförvaltningen - Stockholms stad")
    record = ProjectRecord("esf_2007", title="Ett", partners=names)
    quads = map_all(result("a.txt", record))["a.txt"].quads
    organisations = {who for (_, who) in participants(quads, stated(record))}
    assert len(organisations) == len(names)
    assert all("/id/organisation/name/" in iri for iri in organisations)
    assert not [q for q in quads if q.predicate == NamedNode(KG + "governs")]


def test_a_name_stated_with_two_numbers_is_not_guessed() -> None:
    # Two records give "Samverkan AB" two different numbers: a third mention without a number must not
    # pick either of them.
    one = ProjectRecord("esf_plus_2021", title="Ett", project_number="23-001-S01", owner_name="Samverkan AB",
                        owner_org_number="5560001111")
    two = ProjectRecord("esf_plus_2021", title="Två", project_number="23-002-S01", owner_name="Samverkan AB",
                        owner_org_number="5560002222")
    three = ProjectRecord("esf_2007", title="Tre", partners=("Samverkan AB",))
    mapped = map_all(result("a.txt", one), result("b.txt", two), result("c.txt", three))
    [(role, who)] = participants(mapped["c.txt"].quads, stated(three))
    assert (role, who) == ("partner", ident("organisation", "name", "samverkan-ab").value)


def test_co_financier_and_partner_of_one_project_is_one_organisation_with_two_participations() -> None:
    record = ProjectRecord("esf_2007", title="Ett", co_financiers=("AMO Sthlm", "Älvsjö sdf"),
                           partners=("AMO Sthlm",))
    quads = map_all(result("a.txt", record))["a.txt"].quads
    found = participants(quads, stated(record))
    amo = ident("organisation", "name", "amo-sthlm").value
    assert {key for key in found if key[1] == amo} == {("coFinancier", amo), ("partner", amo)}
    assert found[("coFinancier", amo)] != found[("partner", amo)]
    assert len(subjects(quads, RDF + "type", NamedNode(KG + "Organisation"))) == 2


def test_municipalities_link_to_the_reference_data() -> None:
    record = ProjectRecord("esf_2007", title="Ett", municipalities=("Karlstad", "Malung", "Stockholm"))
    quads = map_all(result("a.txt", record))["a.txt"].quads
    assert objects(quads, stated(record), KG + "municipality") == {
        ident("municipality", "1780"), ident("municipality", "2023"), ident("municipality", "0180")}
    reference = list(reference_quads(IRIS))
    assert {q.graph_name for q in reference} == {IRIS.reference_graph}
    karlstad, malung = ident("municipality", "1780"), ident("municipality", "2023")
    assert objects(reference, karlstad, KG + "county") == {ident("county", "17")}
    assert objects(reference, karlstad, KG + "nutsRegion") == {node(NUTS + "SE311")}  # NUTS-3
    assert objects(reference, ident("county", "17"), KG + "nutsRegion") == {node(NUTS + "SE311")}
    assert objects(reference, ident("county", "17"), SKOS + "prefLabel") == {Literal("Värmlands län", language="sv")}
    assert objects(reference, malung, SKOS + "prefLabel") == {Literal("Malung-Sälen", language="sv")}
    assert objects(reference, malung, SKOS + "altLabel") == {Literal("Malung", language="sv")}
    assert objects(reference, karlstad, RDF + "type") >= {node(KG + "Municipality"), node(SKOS + "Concept")}


def test_codes_get_their_names_from_the_reference_data(bundled: dict[str, MappedSource]) -> None:
    reference = list(reference_quads(IRIS))
    area, intervention = ident("programme-area", "A"), ident("intervention-type", "140")
    assert objects(reference, area, SKOS + "prefLabel") == {
        Literal("Öka möjligheten till ett inkluderande och hållbart arbetsliv för alla", language="sv"),
        Literal("Increase opportunities for an inclusive and sustainable working life for all", language="en")}
    assert objects(reference, intervention, SKOS + "prefLabel") == {
        Literal("Support for labour market matching and transitions", language="en")}
    assert objects(reference, ident("programme", "2021SE05SFPR"), SKOS + "prefLabel") == {
        Literal("Nationellt program för Europeiska socialfonden+ 2021–2027", language="sv")}
    # the IRIs named are the ones the mapping mints for the codes a page states
    used = {q.object for m in bundled.values() for q in m.quads
            if q.predicate.value in (KG + "programmeArea", KG + "interventionType", KG + "programme")}
    assert {area, intervention, ident("programme", "2021SE05SFPR")} <= used


def test_unresolved_municipality_names_are_kept_as_raw_fields() -> None:
    record = ProjectRecord("esf_2007", title="Ett", municipalities=("Karlstad", "Atlantis"))
    mapped = map_all(result("a.txt", record))["a.txt"]
    project = stated(record)
    assert objects(mapped.quads, project, KG + "municipality") == {ident("municipality", "1780")}
    [raw] = objects(mapped.quads, project, KG + "rawField")
    assert objects(mapped.quads, raw, RDF + "type") == {node(KG + "RawField")}
    assert objects(mapped.quads, raw, KG + "rawLabel") == {Literal("Kommun")}
    assert objects(mapped.quads, raw, KG + "rawValue") == {Literal("Atlantis")}
    assert any("Atlantis" in warning for warning in mapped.warnings)


@pytest.mark.parametrize("region", [None, "ESF Nationellt"])
def test_se0_is_national_scope_and_no_nuts_region(region: str | None) -> None:
    record = ProjectRecord("esf_plus_2021", title="Ett", project_number="23-001-S01", nuts_code="SE0",
                           region_name=region)
    mapped = map_all(result("a.txt", record))["a.txt"]
    project = ident("project", "23-001-S01")
    assert objects(mapped.quads, project, KG + "nationalScope") == {typed("true", "boolean")}
    assert objects(mapped.quads, project, KG + "nutsRegion") == set()
    assert objects(mapped.quads, project, KG + "rawField") == set()  # SE0 is understood, not kept raw
    assert mapped.warnings == ()


def test_a_stated_nuts_code_that_is_not_nuts_is_kept_raw() -> None:
    record = ProjectRecord("esf_plus_2021", title="Ett", project_number="23-001-S01", nuts_code="SE99")
    mapped = map_all(result("a.txt", record))["a.txt"]
    project = ident("project", "23-001-S01")
    assert objects(mapped.quads, project, KG + "nutsRegion") == set()
    [raw] = objects(mapped.quads, project, KG + "rawField")
    assert objects(mapped.quads, raw, KG + "rawValue") == {Literal("SE99")}
    assert mapped.warnings


def test_extra_fields_become_raw_fields() -> None:
    record = ProjectRecord("esf_2007", title="Ett", extra=(
        ("Jämställdhetsintegrering", "Vi arbetar med jämställdhet."),
        ("Okänd etikett", ("första", "andra")),
    ))
    quads = map_all(result("a.txt", record))["a.txt"].quads
    project = stated(record)
    raws = objects(quads, project, KG + "rawField")
    assert len(raws) == 2
    by_label = {next(iter(objects(quads, r, KG + "rawLabel"))).value: r for r in raws}  # type: ignore[attr-defined]
    assert set(by_label) == {"Jämställdhetsintegrering", "Okänd etikett"}
    assert objects(quads, by_label["Okänd etikett"], KG + "rawValue") == {Literal("första"), Literal("andra")}
    assert all(objects(quads, r, RDF + "type") == {node(KG + "RawField")} for r in raws)


def test_redact_removes_e_mails_and_the_contact_from_free_text() -> None:
    record = ProjectRecord("esf_2007", contact_name="Eva Exempelsson", contact_phone="+4654123456")
    text = ("Frågor: Eva Exempelsson, eva.exempelsson@example.se, 054-12 34 56 eller +46 54 12 34 56. "
            "Kansliet nås på info@example.org. Budget 381 700 kr, 2008-07-15 till 2008-10-30.")
    assert redact(text, record) == (
        "Frågor: [name removed], [e-mail removed], [telephone removed] eller [telephone removed]. "
        "Kansliet nås på [e-mail removed]. Budget 381 700 kr, 2008-07-15 till 2008-10-30.")
    assert redact("EVA EXEMPELSSON svarar.", record) == "[name removed] svarar."
    assert redact("Ring 08-123 45 67.", record) == "Ring 08-123 45 67."  # another number: not the contact's
    assert redact("Inget personligt här.", ProjectRecord("esf_2007")) == "Inget personligt här."


def test_redacted_free_text_is_public_and_the_full_text_is_personal() -> None:
    summary = "Kontakta Eva Exempelsson på eva@example.se eller 054-12 34 56. Budget 100 000 kr."
    record = ProjectRecord("esf_2007", language="sv", title="Ett", contact_name="Eva Exempelsson",
                           contact_email="eva@example.se", contact_phone="+4654123456",
                           extra=(("summary", summary), ("Bakgrund", "Skriv till kansli@example.org."),
                                  ("Syfte", "Inget personligt.")))
    mapped = map_all(result("a.txt", record))["a.txt"]
    project = stated(record)
    assert objects(mapped.quads, project, DCT + "description") == {Literal(
        "Kontakta [name removed] på [e-mail removed] eller [telephone removed]. Budget 100 000 kr.", language="sv")}
    assert objects(mapped.personal_quads, project, DCT + "description") == {Literal(summary, language="sv")}
    background = node(project.value + "/raw/bakgrund")
    assert objects(mapped.quads, background, KG + "rawValue") == {Literal("Skriv till [e-mail removed].")}
    assert objects(mapped.personal_quads, background, KG + "rawValue") == {Literal("Skriv till kansli@example.org.")}
    # Text with nothing personal in it is not copied to the personal graph.
    assert objects(mapped.personal_quads, node(project.value + "/raw/syfte"), KG + "rawValue") == set()


def test_contacts_are_only_in_the_personal_graph() -> None:
    record = ProjectRecord("esf_2007", title="Ett", contact_name="Eva Exempelsson", contact_email="eva@example.se",
                           contact_phone="+4654123456", extra=(("contact_title", "Projektledare"),))
    mapped = map_all(result("a.txt", record))["a.txt"]
    project = stated(record)
    contact = node(project.value + "/contact")
    public_text = "\n".join(nquads(mapped.quads))
    for personal in ("Eva Exempelsson", "eva@example.se", "4654123456", "Projektledare", VCARD, KG + "contact"):
        assert personal not in public_text
    assert objects(mapped.personal_quads, project, KG + "contact") == {contact}
    assert objects(mapped.personal_quads, contact, VCARD + "fn") == {Literal("Eva Exempelsson")}
    assert objects(mapped.personal_quads, contact, VCARD + "hasEmail") == {node("mailto:eva@example.se")}
    assert objects(mapped.personal_quads, contact, VCARD + "hasTelephone") == {node("tel:+4654123456")}
    assert objects(mapped.personal_quads, contact, VCARD + "title") == {Literal("Projektledare")}
    assert {q.graph_name for q in mapped.personal_quads} == {IRIS.personal_graph(mapped.source)}
    assert {q.graph_name for q in mapped.quads} == {IRIS.source_graph(mapped.source)}
    assert IRIS.personal_graph(mapped.source) != IRIS.source_graph(mapped.source)


def test_amounts_rates_and_dates_are_typed() -> None:
    record = ProjectRecord("esf_plus_2021", title="Ett", project_number="23-001-S01",
                           eu_cofinancing_rate=Decimal("0.625"), granted_amount_sek=Decimal("13857478"),
                           total_budget_sek=Decimal("1000.50"), start_date=dt.date(2023, 3, 1), participants=12)
    quads = map_all(result("a.txt", record))["a.txt"].quads
    project = ident("project", "23-001-S01")
    assert objects(quads, project, KG + "euCofinancingRate") == {typed("0.625", "decimal")}
    assert objects(quads, node(project.value + "/amount/granted"), SCHEMA + "value") == {typed("13857478", "decimal")}
    assert objects(quads, node(project.value + "/amount/total"), SCHEMA + "value") == {typed("1000.5", "decimal")}
    assert objects(quads, project, SCHEMA + "startDate") == {typed("2023-03-01", "date")}
    assert objects(quads, project, KG + "plannedParticipants") == {typed("12", "integer")}
