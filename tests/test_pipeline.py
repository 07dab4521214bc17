"""The pipeline: SHACL both ways through the real stages, and what ``build`` does to a store.

Every build here is ``kgbuild.pipeline.build`` on real files into a real store in ``tmp_path``.
Tests that build on top of the bundled corpus start from a copy of the session's store, so that
they validate only what they change.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import multiprocessing
import os
import shutil
import signal
from collections.abc import Callable
from pathlib import Path

import pytest
from pyoxigraph import DefaultGraph, Literal, NamedNode, Quad, RdfFormat, parse

from kgbuild.errors import KgbuildError, SourceError
from kgbuild.handoffs import SourceFailure
from kgbuild.iris import Iris
from kgbuild.mapping import MappedSource, OrganisationIdentity, map_source
from kgbuild.parsers import parse_file
from kgbuild.pipeline import build
from kgbuild.prepare import map_sources, static_graphs
from kgbuild.sources import default_sources, read_sources
from kgbuild.store import StoreDirectory, open_read_only
from kgbuild.validate_stage import validate_given, validate_mapped, validate_store
from kgbuild.vocab import DCT, KG, OWL, RDF, REGORG, SCHEMA, SKOS, XSD
from tests.conftest import BASE_IRI, SOURCES, BundledBuild, canonical, copy_store
from tests.test_merge import merge_errors

NAMES = [p.name for p in sorted(SOURCES.glob("*.txt"))]
PARTNER_SEARCH, KARLSTAD, MERIT, SIA, PRE_STUDY = NAMES
SIA_TITLE = "Samverkan, inkludering och anställningsbarhet - Kalmar län (SIA)"
NOT_A_PROJECT_PAGE = "Hej!\nDet här är ingen projektsida, bara en rad text.\n"


def store_titles(store: Path) -> set[str]:
    return {q.object.value for q in open_read_only(store).quads_for_pattern(None, NamedNode(DCT + "title"), None, None)}


def store_graphs(store: Path, include_personal: bool = False) -> set[str]:
    return {g.value for g in open_read_only(store, include_personal).named_graphs()}


def copy_corpus(target: Path) -> dict[str, Path]:
    """The bundled texts copied to ``target``: name → path."""
    target.mkdir(parents=True)
    return {path.name: Path(shutil.copy(path, target / path.name)) for path in default_sources()}


def variant(number: str, title: str, *edits: tuple[str, str]) -> str:
    """The SIA record (003) as another project: another number and title, and the given text edits."""
    text = (SOURCES / SIA).read_text(encoding="utf-8").replace("22-005-S01", number).replace(SIA_TITLE, title)
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new)
    return text


# --- SHACL through the pipeline --------------------------------------------------------------------


def test_the_bundled_corpus_has_no_violations_four_region_warnings_and_one_missing_title(
        bundled_build: BundledBuild) -> None:
    report = bundled_build.report.validation
    assert report.conforms and report.violations == ()
    assert len(report.warnings) == 5 == len(report.findings)
    region = [w for w in report.warnings if w.path == KG + "municipality"]
    assert {w.source for w in region} == {PRE_STUDY}
    assert all(w.message.startswith("municipality outside the declared region") for w in region)
    municipality = bundled_build.iris.id("municipality", "").value
    assert sorted(w.value.removeprefix(municipality) for w in region) == ["0319", "0360", "0381", "0382"]
    # The merit.nu page states no title: it is published, with a warning, and no title is made up for it.
    [untitled] = [w for w in report.warnings if w.path == DCT + "title"]
    assert untitled.source == MERIT and untitled.message == "Project: the source states no title"



def test_build_and_validate_report_the_same_sorted_findings(bundled_build: BundledBuild) -> None:
    """One validation stage (issue 22.2): validating the store (``kgbuild validate``) and the sources
    (``kgbuild validate SOURCE...``) gives the build's findings, in the build's order."""
    from kgbuild.report import finding_order

    built = bundled_build.report.validation.findings
    assert list(built) == sorted(built, key=finding_order)
    assert validate_store(bundled_build.store, bundled_build.iris).findings == built
    parsed, _ = read_sources(default_sources())
    reference = static_graphs(bundled_build.iris)[bundled_build.iris.reference_graph].quads
    given = validate_given(map_sources(parsed, bundled_build.iris), reference, bundled_build.iris)
    assert given.findings == built

@pytest.fixture(scope="module")
def mapped_karlstad(bundled_build: BundledBuild) -> tuple[MappedSource, list[Quad]]:
    parsed, _ = read_sources(default_sources())
    [karlstad] = [m for m in map_sources(parsed, bundled_build.iris) if m.source.name == KARLSTAD]
    return karlstad, static_graphs(bundled_build.iris)[bundled_build.iris.reference_graph].quads


def _with_a_second_title(quads: list[Quad]) -> list[Quad]:
    [title] = [q for q in quads if q.predicate == NamedNode(DCT + "title")]
    return [*quads, Quad(title.subject, title.predicate, Literal("Ett annat namn", language="sv"), title.graph_name)]


def _setting(predicate: str, value: Literal, subject: str | None = None) -> Callable[[list[Quad]], list[Quad]]:
    def edit(quads: list[Quad]) -> list[Quad]:
        found = [q for q in quads if q.predicate == NamedNode(predicate) and subject in (None, q.subject.value)]
        assert len(found) == 1, predicate
        return [Quad(q.subject, q.predicate, value, q.graph_name) if q in found else q for q in quads]

    return edit


PROJECT_IRI = "http://127.0.0.1:8000/id/project/22-010-S04"
ORGANISATION_IRI = "http://127.0.0.1:8000/id/organisation/municipality/1780"
BROKEN = {
    "two titles": (_with_a_second_title, PROJECT_IRI, DCT + "title"),
    "end before start": (_setting(SCHEMA + "endDate", Literal("2020-01-01", datatype=NamedNode(XSD + "date"))),
                         PROJECT_IRI, SCHEMA + "endDate"),
    "rate 1.4": (_setting(KG + "euCofinancingRate", Literal("1.4", datatype=NamedNode(XSD + "decimal"))),
                 PROJECT_IRI, KG + "euCofinancingRate"),
    "organisationsnummer 21200-1850": (
        _setting(SKOS + "notation", Literal("21200-1850"), ORGANISATION_IRI + "/registration"),
        ORGANISATION_IRI, "http://www.w3.org/ns/regorg#registration"),
}


@pytest.mark.parametrize("case", BROKEN)
def test_a_broken_graph_is_a_violation_naming_its_source(
        mapped_karlstad: tuple[MappedSource, list[Quad]], case: str) -> None:
    karlstad, reference = mapped_karlstad
    edit, focus, path = BROKEN[case]
    assert validate_mapped([karlstad], reference).findings == ()  # the unedited graph is clean
    broken = dataclasses.replace(karlstad, quads=tuple(edit(list(karlstad.quads))))
    report = validate_mapped([broken], reference)
    assert not report.conforms
    assert {v.source for v in report.violations} == {KARLSTAD}
    assert (focus, path) in {(v.focus_node, v.path) for v in report.violations}, report.to_text()
    assert all(v.message for v in report.violations)
    assert KARLSTAD in report.to_text()


def test_real_data_findings_are_warnings_and_are_published(bundled_build: BundledBuild, tmp_path: Path) -> None:
    store = copy_store(bundled_build.store, tmp_path / "kgstore")
    sources = tmp_path / "sources"
    sources.mkdir()
    def budget(granted: str, total: str) -> tuple[str, str]:
        return "Projektnummer:", f"Beviljat ESF-stöd:\n{granted}\nTotal projektbudget:\n{total}\nProjektnummer:"

    texts = {
        "101_national.txt": variant("22-005-N01", "Ett nationellt projekt",
                                    ("Region:\nSmåland & Öarna", "Region:\nESF Nationellt"),
                                    ("NUTS-2 kod:\nSE21", "NUTS-2 kod:\nSE0")),
        "102_granted_above_total.txt": variant("22-005-G01", "Mer beviljat än budgeten",
                                               budget("500 000 kr", "400 000 kr")),
        "103_rate_mismatch.txt": variant("22-005-R01", "En annan andel",  # declared 40 %, granted/total 25 %
                                         budget("100 000 kr", "400 000 kr")),
    }
    for name, text in texts.items():
        (sources / name).write_text(text, encoding="utf-8")
    report = build(default_sources() + sorted(sources.glob("*.txt")), store, bundled_build.iris)
    assert report.ok, report.failures
    assert report.validation.violations == ()
    assert sorted(report.replaced) == sorted(texts) and sorted(report.unchanged) == NAMES
    found = {(f.source, f.path, f.message.split(" ")[0]) for f in report.validation.warnings}
    assert ("101_national.txt", KG + "nationalScope", "national") in found
    assert ("102_granted_above_total.txt", KG + "grantedAmount", "granted") in found
    assert ("103_rate_mismatch.txt", KG + "euCofinancingRate", "declared") in found
    assert {f.source for f in report.validation.findings} == set(texts)  # only what changed was validated
    national = [f for f in report.validation.warnings if f.source == "101_national.txt"]
    assert [f.message for f in national] == ["national project (SE0): no NUTS-2 region"]
    assert {"Ett nationellt projekt", "Mer beviljat än budgeten", "En annan andel"} <= store_titles(store)


def test_a_source_with_violations_is_refused_and_keeps_its_previous_graph(
        bundled_build: BundledBuild, tmp_path: Path) -> None:
    store = copy_store(bundled_build.store, tmp_path / "kgstore")
    corpus = copy_corpus(tmp_path / "sources")
    text = corpus[SIA].read_text(encoding="utf-8")
    corpus[SIA].write_text(text.replace("Slutdatum:\n2026-01-31", "Slutdatum:\n2020-01-31"), encoding="utf-8")
    report = build(list(corpus.values()), store, bundled_build.iris)
    assert not report.ok
    assert report.failures == [SourceFailure(SIA, "1 SHACL violation(s): not published", kept_previous=True)]
    [violation] = report.validation.violations
    assert (violation.source, violation.path, violation.value) == (SIA, SCHEMA + "endDate", "2020-01-31")
    assert report.replaced == [] and sorted(report.unchanged) == sorted(set(NAMES) - {SIA})
    project = bundled_build.iris.id("project", "22-005-S01")
    ends = open_read_only(store).quads_for_pattern(project, NamedNode(SCHEMA + "endDate"), None)
    assert {q.object.value for q in ends} == {"2026-01-31"}


# --- build ---------------------------------------------------------------------------------------


def test_the_first_build_loads_every_source(bundled_build: BundledBuild) -> None:
    report = bundled_build.report
    assert report.ok and report.failures == []
    assert sorted(report.replaced) == NAMES
    assert report.unchanged == [] and report.removed == []
    assert report.generation == "gen-000001" == StoreDirectory(bundled_build.store).current().name  # type: ignore[union-attr]
    assert report.quads == len(open_read_only(bundled_build.store)) > 0
    iris = bundled_build.iris
    graphs = store_graphs(bundled_build.store)
    for name in NAMES:
        key = name.removesuffix(".txt").replace("_", "-")
        assert iris.graph("source", key).value in graphs
    assert {iris.ontology_graph.value, iris.reference_graph.value, iris.build_graph.value} <= graphs
    # No personal graph in the public database; the three texts that name a contact person have one in
    # the personal-data database beside it (the two ESF+ records do not).
    assert not [g for g in graphs if g.startswith(iris.graph("personal").value)]
    personal = store_graphs(bundled_build.store, include_personal=True) - graphs
    assert len(personal) == 3 and all(g.startswith(iris.graph("personal").value) for g in personal)


def test_a_large_first_build_in_parallel_equals_the_same_build_in_one_process(tmp_path: Path) -> None:
    """A new store is mapped, validated and loaded in one streaming pass by the process pool (from 64
    sources on), one bulk load reading the workers' N-Quads as they come. It must refuse a source with
    violations (never published), compare duplicates read back from the store, and give exactly what the
    same build gives in this process, store and report."""
    from benchmarks.corpus import generate

    sources = tmp_path / "sources"
    generate(80, sources, seed=3)
    corpus = {path.name: Path(shutil.copy(path, sources / path.name)) for path in default_sources()}
    shutil.copy(corpus[KARLSTAD], sources / "zz_copy.txt")  # the same project as KARLSTAD, stated identically
    broken = sources / "zz_broken.txt"
    broken.write_text(variant("22-999-S99", "Ett projekt som slutar före sin början",
                              ("Slutdatum:\n2026-01-31", "Slutdatum:\n2020-01-31")), encoding="utf-8")
    paths = sorted(sources.glob("*.txt"))
    iris = Iris(BASE_IRI)
    moment = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    parallel = build(paths, tmp_path / "parallel", iris, now=moment)
    alone = build(paths, tmp_path / "alone", iris, now=moment, workers=1)

    assert parallel.failures == [SourceFailure("zz_broken.txt", "1 SHACL violation(s): not published")]
    assert not any("22-999-S99" in q.subject.value for q in open_read_only(tmp_path / "parallel"))
    assert len(parallel.replaced) == len(paths) - 1 and "zz_broken.txt" not in parallel.replaced
    assert any("identically by" in w and "zz_copy.txt" in w for w in parallel.warnings)
    assert dataclasses.replace(parallel, store=alone.store) == alone
    assert canonical(tmp_path / "parallel") == canonical(tmp_path / "alone")
    assert merge_errors(open_read_only(tmp_path / "parallel")) == (set(), set())  # batches merged in the workers


def _niceness(_: int, __: None) -> int:
    return os.getpriority(os.PRIO_PROCESS, 0)


def test_pool_processes_run_below_the_caller_whose_loader_is_the_critical_path() -> None:
    """A first build bulk-loads the workers' results as they come: the pool must not take the loader's core."""
    from kgbuild.executors import PARALLEL_THRESHOLD, WORKER_NICENESS, LocalExecutor

    with LocalExecutor(2) as pool:
        seen = set(pool.map(_niceness, range(PARALLEL_THRESHOLD), None, count=PARALLEL_THRESHOLD))
    assert seen == {min(19, os.getpriority(os.PRIO_PROCESS, 0) + WORKER_NICENESS)}


def test_a_worker_killed_during_a_first_build_is_one_clear_error_and_publishes_nothing(tmp_path: Path) -> None:
    """A pool process that dies (the out-of-memory killer) stops the build with a message, not a traceback
    from the pool, and no half-loaded generation is switched in."""
    from benchmarks.corpus import generate

    generate(200, tmp_path / "sources", seed=5)
    others = {child.pid for child in multiprocessing.active_children()}  # other tests' processes
    killed: list[int] = []

    def kill_a_worker(stage: str, total: int) -> None:
        if stage.startswith("map") and not killed:  # the pool is up: it parsed the sources
            pool = [child.pid for child in multiprocessing.active_children() if child.pid not in others]
            os.kill(pool[0], signal.SIGKILL)  # type: ignore[arg-type]
            killed.append(pool[0])  # type: ignore[arg-type]

    with pytest.raises(KgbuildError, match="worker processes stopped abruptly .* the store is unchanged"):
        build(sorted((tmp_path / "sources").glob("*.txt")), tmp_path / "store", Iris(BASE_IRI),
              progress=kill_a_worker)
    assert killed
    assert StoreDirectory(tmp_path / "store").current() is None


def test_building_again_changes_nothing(bundled_build: BundledBuild, tmp_path: Path) -> None:
    store = copy_store(bundled_build.store, tmp_path / "kgstore")
    before = set(open_read_only(store))
    report = build(list(copy_corpus(tmp_path / "sources").values()), store, bundled_build.iris)
    assert report.ok
    assert report.replaced == [] and report.removed == []
    assert sorted(report.unchanged) == NAMES
    assert report.generation == bundled_build.report.generation
    assert [g.name for g in StoreDirectory(store).generations()] == ["gen-000001"]
    assert set(open_read_only(store)) == before


def test_changing_one_source_replaces_exactly_that_source(bundled_build: BundledBuild, tmp_path: Path) -> None:
    store = copy_store(bundled_build.store, tmp_path / "kgstore")
    corpus = copy_corpus(tmp_path / "sources")
    text = corpus[SIA].read_text(encoding="utf-8")
    corpus[SIA].write_text(text.replace(f"Namn:\n{SIA_TITLE}", "Namn:\nEn ny titel för SIA"), encoding="utf-8")
    report = build(list(corpus.values()), store, bundled_build.iris)
    assert report.ok
    assert report.replaced == [SIA]
    assert sorted(report.unchanged) == sorted(set(NAMES) - {SIA})
    assert report.removed == []
    assert report.generation == "gen-000002" == StoreDirectory(store).current().name  # type: ignore[union-attr]
    titles = store_titles(store)
    assert "En ny titel för SIA" in titles and SIA_TITLE not in titles
    assert {"Värmlands Skolsamverkan", 'Förprojekt "Utvecklad Samverkan i Klarälvdalen"'} <= titles  # the others stay


def test_a_source_not_given_to_a_sync_build_is_removed(bundled_build: BundledBuild, tmp_path: Path) -> None:
    store = copy_store(bundled_build.store, tmp_path / "kgstore")
    report = build([p for p in default_sources() if p.name != MERIT], store, bundled_build.iris, sync=True)
    assert report.ok
    assert report.removed == ["002-c5b1d8a317488e7e"]
    assert report.replaced == [] and sorted(report.unchanged) == sorted(set(NAMES) - {MERIT})
    iris = bundled_build.iris
    graphs = store_graphs(store)
    assert iris.graph("source", "002-c5b1d8a317488e7e").value not in graphs
    assert iris.graph("personal", "002-c5b1d8a317488e7e").value not in store_graphs(store, include_personal=True)
    assert iris.graph("source", "001-49fdefbf50581b3b").value in graphs
    merit = iris.id("project", "source", "002-c5b1d8a317488e7e")
    assert list(open_read_only(store).quads_for_pattern(merit, None, None)) == []
    build_graph = open_read_only(store).quads_for_pattern(iris.graph("source", "002-c5b1d8a317488e7e"), None, None)
    assert list(build_graph) == []  # nor does the build graph remember it


def test_a_source_not_given_stays(bundled_build: BundledBuild, tmp_path: Path) -> None:
    store = copy_store(bundled_build.store, tmp_path / "kgstore")
    before = set(open_read_only(store))
    report = build([p for p in default_sources() if p.name != MERIT], store, bundled_build.iris)
    assert report.ok and report.removed == [] and report.replaced == []
    assert report.generation == bundled_build.report.generation  # nothing to write
    assert set(open_read_only(store)) == before


PARTNER_GRAPH = "000-fa21285db760708c"
KARLSTAD_MUNICIPALITY = "http://127.0.0.1:8000/id/organisation/municipality/1780"


def _applicants(store: Path, iris: Iris) -> set[str]:
    """The organisations the partner search (000) links as its applicant."""
    graph = open_read_only(store).quads_for_pattern(None, NamedNode(KG + "participant"), None,
                                                     iris.graph("source", PARTNER_GRAPH))
    return {q.object.value for q in graph}


def test_a_source_built_alone_links_organisations_as_the_whole_corpus_does(
        bundled_build: BundledBuild, tmp_path: Path) -> None:
    """The partner search names "The Municipality of Karlstad" without its organisationsnummer; the ESF+
    record of Karlstad (001) states it. Built alone, the partner search still links that number: the
    identities of the sources a build is not given come from what the build graph recorded of them."""
    store = copy_store(bundled_build.store, tmp_path / "kgstore")
    iris = bundled_build.iris
    assert _applicants(store, iris) == {KARLSTAD_MUNICIPALITY}
    report = build([SOURCES / PARTNER_SEARCH], store, iris)
    assert report.ok and report.unchanged == [PARTNER_SEARCH] and report.replaced == []
    assert report.generation == bundled_build.report.generation
    assert _applicants(store, iris) == {KARLSTAD_MUNICIPALITY}
    assert not [w for w in report.warnings if "organisation identities" in w]


def test_removing_the_source_of_an_organisationsnummer_keeps_the_municipalitys_iri(
        bundled_build: BundledBuild, tmp_path: Path) -> None:
    """Karlstad's organisationsnummer comes from 001 alone. Without it, the partner search still links the
    organisation that governs Karlstad by the same IRI: nothing to relink, so no warning (issue 19.4)."""
    store = copy_store(bundled_build.store, tmp_path / "kgstore")
    iris = bundled_build.iris
    report = build([], store, iris, remove=[KARLSTAD])
    assert report.ok and report.removed == ["001-49fdefbf50581b3b"]
    assert not [w for w in report.warnings if "organisation identities" in w]
    assert _applicants(store, iris) == {KARLSTAD_MUNICIPALITY}
    again = build([SOURCES / PARTNER_SEARCH], store, iris)
    assert again.replaced == [PARTNER_SEARCH] and not [w for w in again.warnings if "organisation identities" in w]
    assert _applicants(store, iris) == {KARLSTAD_MUNICIPALITY}
    # Built again without the number in the corpus, it no longer states the registration.
    registration = NamedNode(KARLSTAD_MUNICIPALITY + "/registration")
    assert not list(open_read_only(store).quads_for_pattern(None, None, registration, None))


# An ESF project-bank page naming the federation of 003 (KOMMUNFÖRBUNDET KALMAR LÄN) without its number.
CO_FINANCED = """\
Vägen till arbete i Kalmar

ProjektägareKalmar kommun
Beviljat ESF-stöd100 000 kr
Total projektbudget250 000 kr
Projektperiod2009-01-01 till 2010-12-31
RegionSmåland och Öarna

Medfinansiärer

 • Kommunförbundet Kalmar län
"""


def _co_financiers(store: Path, graph: NamedNode) -> set[str]:
    quads = open_read_only(store).quads_for_pattern(None, NamedNode(KG + "participant"), None, graph)
    return {q.object.value for q in quads} - {MUNICIPAL + "0880"}


MUNICIPAL = "http://127.0.0.1:8000/id/organisation/municipality/"


def test_removing_the_source_of_an_organisationsnummer_names_the_sources_still_linked_by_it(
        bundled_build: BundledBuild, tmp_path: Path) -> None:
    """An organisation that governs no municipality is named by its number while a source states it: a
    source kept as it is links that IRI until it is built again, and the warning says so."""
    store = copy_store(bundled_build.store, tmp_path / "kgstore")
    iris = bundled_build.iris
    page = tmp_path / "kalmar.txt"
    page.write_text(CO_FINANCED, encoding="utf-8")
    assert build([page], store, iris).ok
    graph = iris.graph("source", "kalmar")
    assert _co_financiers(store, graph) == {iris.id("organisation", "8025185011").value}
    report = build([], store, iris, remove=[SIA])
    [warning] = [w for w in report.warnings if "organisation identities" in w]
    assert "kalmar" in warning and "build them again" in warning
    assert _co_financiers(store, graph) == {iris.id("organisation", "8025185011").value}  # kept as it was built
    again = build([page], store, iris)
    assert again.replaced == [page.name] and not [w for w in again.warnings if "organisation identities" in w]
    by_name = iris.id("organisation", "name", "kommunförbundet-kalmar-län")
    assert _co_financiers(store, graph) == {by_name.value}
    # With 003 back, the name's IRI is an earlier name of the numbered one: owl:sameAs, served as a redirect.
    assert build([SOURCES / SIA], store, iris).ok
    same = open_read_only(store).quads_for_pattern(iris.id("organisation", "8025185011"),
                                                    NamedNode(OWL + "sameAs"), by_name, DefaultGraph())
    assert len(list(same)) == 1


# A page that names Falu kommun without its organisationsnummer, and one that states it: the SIA record
# (003) as Falun's project.
FALUN_UNNUMBERED = CO_FINANCED.replace("Kalmar kommun", "Falu kommun").replace("Småland och Öarna",
                                                                              "Norra Mellansverige")
FALUN = MUNICIPAL + "2080"


def test_a_later_source_with_the_organisationsnummer_keeps_the_municipal_organisations_iri(tmp_path: Path) -> None:
    iris = Iris(BASE_IRI)
    store = tmp_path / "kgstore"
    early, later = tmp_path / "early.txt", tmp_path / "later.txt"
    early.write_text(FALUN_UNNUMBERED, encoding="utf-8")
    later.write_text(variant("22-005-S77", "Unga i Falun", ("8025185011", "2120002312"),
                             ("KOMMUNFÖRBUNDET KALMAR LÄN", "FALU KOMMUN")), encoding="utf-8")

    def owners(graph: NamedNode) -> set[str]:
        served = open_read_only(store)
        return {q.object.value for p in served.quads_for_pattern(None, NamedNode(KG + "role"), NamedNode(KG + "owner"),
                                                                  graph)
                for q in served.quads_for_pattern(p.subject, NamedNode(KG + "participant"), None, graph)}

    assert build([early], store, iris).ok
    assert owners(iris.graph("source", "early")) == {FALUN}
    report = build([later], store, iris)
    assert report.ok and not [w for w in report.warnings if "organisation identities" in w]
    assert owners(iris.graph("source", "later")) == {FALUN}
    assert owners(iris.graph("source", "early")) == {FALUN}  # never relinked: its IRI did not change
    served = open_read_only(store)
    [registration] = [q.object for q in served.quads_for_pattern(NamedNode(FALUN), NamedNode(REGORG + "registration"),
                                                                  None, DefaultGraph())]
    assert [q.object.value for q in served.quads_for_pattern(registration, NamedNode(SKOS + "notation"), None,
                                                              DefaultGraph())] == ["2120002312"]
    # The IRI an organisationsnummer alone would give is kept as an earlier name of it.
    assert [q.object.value for q in served.quads_for_pattern(NamedNode(FALUN), NamedNode(OWL + "sameAs"), None,
                                                              DefaultGraph())] == [iris.id("organisation",
                                                                                           "2120002312").value]
    assert not list(served.quads_for_pattern(iris.id("organisation", "2120002312"), None, None, None))


def test_renaming_a_source_keeps_its_projects_iri(tmp_path: Path) -> None:
    """The pre-study (004) states no project number: its IRI comes from its title, owner and start date."""
    iris = Iris(BASE_IRI)
    store, pages = tmp_path / "kgstore", tmp_path / "pages"
    pages.mkdir()
    first = Path(shutil.copy(SOURCES / PRE_STUDY, pages / "forstudie.txt"))

    def projects() -> set[str]:
        return {q.subject.value for q in open_read_only(store).quads_for_pattern(
            None, NamedNode(RDF + "type"), NamedNode(KG + "Project"), DefaultGraph())}

    assert build([first], store, iris).ok
    [project] = projects()
    assert project.startswith(iris.id("project", "digest").value + "/")
    renamed = first.rename(pages / "pre-study-2024-05.txt")
    report = build([renamed], store, iris, sync=True)
    assert report.ok and report.removed == ["forstudie"]
    assert projects() == {project}


def test_a_remove_naming_a_source_not_in_the_store_removes_nothing(bundled_build: BundledBuild,
                                                                   tmp_path: Path) -> None:
    store = copy_store(bundled_build.store, tmp_path / "kgstore")
    unknown = r"no source 'nothing\.txt' in .*kgstore \(it holds 5: 000-.*nothing removed"
    with pytest.raises(KgbuildError, match=unknown):
        build([], store, bundled_build.iris, remove=[KARLSTAD, "nothing.txt"])
    assert [g.name for g in StoreDirectory(store).generations()] == ["gen-000001"]


def test_a_build_whose_every_source_fails_writes_nothing_even_for_sync(bundled_build: BundledBuild,
                                                                       tmp_path: Path) -> None:
    store = copy_store(bundled_build.store, tmp_path / "kgstore")
    broken = tmp_path / "broken.txt"
    broken.write_text(NOT_A_PROJECT_PAGE, encoding="utf-8")
    refused = tmp_path / "refused.txt"
    refused.write_text(variant("22-005-V01", "Slutar före start", ("Slutdatum:\n2026-01-31", "Slutdatum:\n2020-01-31")),
                       encoding="utf-8")
    for paths in ([broken], [refused], [broken, refused, tmp_path / "missing.txt"]):
        report = build(paths, store, bundled_build.iris, sync=True)
        assert report.every_source_failed and not report.ok and len(report.failures) == len(paths)
        assert report.removed == [] and report.replaced == []
        assert report.generation == "gen-000001" == StoreDirectory(store).current().name  # type: ignore[union-attr]
    # A new store is not made of the ontology alone either.
    report = build([refused], tmp_path / "new", bundled_build.iris)
    assert report.every_source_failed and StoreDirectory(tmp_path / "new").current() is None


def test_a_malformed_source_among_good_ones_is_named_and_the_others_are_built(tmp_path: Path,
                                                                              bundled_build: BundledBuild) -> None:
    broken = tmp_path / "sources" / "005_broken.txt"
    broken.parent.mkdir()
    broken.write_text(NOT_A_PROJECT_PAGE, encoding="utf-8")
    with pytest.raises(SourceError):
        parse_file(broken)
    store = tmp_path / "kgstore"
    report = build([SOURCES / SIA, broken], store, bundled_build.iris)
    assert not report.ok
    [failure] = report.failures
    assert failure.source == str(broken) and not failure.kept_previous
    assert "no project, call or partner search could be read from it" in failure.problem
    assert report.replaced == [SIA]
    assert SIA_TITLE in store_titles(store)
    assert not any("005" in g for g in store_graphs(store))


def test_a_published_source_that_becomes_malformed_keeps_its_previous_graph(
        bundled_build: BundledBuild, tmp_path: Path) -> None:
    store = copy_store(bundled_build.store, tmp_path / "kgstore")
    corpus = copy_corpus(tmp_path / "sources")
    corpus[SIA].write_text(NOT_A_PROJECT_PAGE, encoding="utf-8")
    report = build(list(corpus.values()), store, bundled_build.iris)
    assert not report.ok
    assert [(f.source, f.kept_previous) for f in report.failures] == [(str(corpus[SIA]), True)]
    assert report.removed == [] and report.replaced == []
    assert report.generation == bundled_build.report.generation
    assert SIA_TITLE in store_titles(store)
    assert bundled_build.iris.graph("source", "003-03dc92fa27c0c321").value in store_graphs(store)


def test_two_sources_whose_names_make_one_graph_name_are_refused(tmp_path: Path) -> None:
    # "proj-a.txt" and "proj_a.txt" would both be graph/source/proj-a: the second would silently replace
    # the first, so it is refused and named.
    first = Path(shutil.copy(SOURCES / SIA, tmp_path / "proj-a.txt"))
    second = Path(shutil.copy(SOURCES / KARLSTAD, tmp_path / "proj_a.txt"))
    (tmp_path / "elsewhere").mkdir()
    same_name = Path(shutil.copy(SOURCES / MERIT, tmp_path / "elsewhere" / "proj-a.txt"))
    parsed, failures = read_sources([first, second, same_name])
    assert [info.name for info, _ in parsed] == ["proj-a.txt"]
    assert [f.source for f in failures] == [str(second), str(same_name)]
    assert all(str(first) in f.problem and "unique" in f.problem for f in failures)


def test_a_build_records_what_it_loaded(bundled_build: BundledBuild) -> None:
    """Each graph in the build graph: its content hash, when it was loaded and (for a source) from what."""
    iris = bundled_build.iris
    store = open_read_only(bundled_build.store)
    hashes = {q.subject.value for q in store.quads_for_pattern(None, NamedNode(KG + "contentHash"), None,
                                                                iris.build_graph)}
    sources = {iris.graph("source", n.removesuffix(".txt").replace("_", "-")).value for n in NAMES}
    assert hashes == sources | {iris.ontology_graph.value, iris.reference_graph.value}
    for name in NAMES:
        key = name.removesuffix(".txt").replace("_", "-")
        stated = store.quads_for_pattern(iris.id("source", key), NamedNode(KG + "fileName"), None)
        # In the source's graph, and once in the merge of the graphs (the default graph).
        assert {(q.graph_name, q.object) for q in stated} == {(iris.graph("source", key), Literal(name)),
                                                              (DefaultGraph(), Literal(name))}


def test_the_reference_graph_holds_the_nuts_regions(bundled_build: BundledBuild) -> None:
    quads = list(parse(path=SOURCES.parent / "reference" / "nuts.ttl", format=RdfFormat.TURTLE))
    store = open_read_only(bundled_build.store)
    se31 = NamedNode("http://data.europa.eu/nuts/code/SE31")
    assert quads and list(store.quads_for_pattern(se31, NamedNode(SKOS + "notation"), None,
                                                   bundled_build.iris.reference_graph))


def test_what_crosses_between_processes_pickles_back_equal() -> None:
    """Parse results and prepared sources pickle as constructor calls (records.pickled_by_fields)."""
    import pickle

    from kgbuild.prepare import _prepared
    from kgbuild.sources import _source_text

    paths = default_sources()
    parsed, failures = read_sources(paths)
    assert parsed and not failures
    identity = OrganisationIdentity.from_records(r for _, result in parsed for r in result.records)
    info, result = parsed[0]
    prepared = _prepared(result, map_source(result, info, identity, Iris(BASE_IRI)))
    text = _source_text(paths[0], read=True)
    for item in (parsed, prepared, text, *result.records):
        assert pickle.loads(pickle.dumps(item)) == item
    assert any(r.granted_amount_sek is not None and r.start_date is not None for _, res in parsed for r in res.records)
