"""Every named query in ``queries/*.rq``, run on the bundled corpus through ``kgbuild.query`` (the path
``kgbuild query`` and the server take), each with its answer checked.

Two queries have no answer on the bundled corpus (no organisation there co-finances one project and
owns another); they are checked on the corpus plus one more ESF project-bank page written here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pyoxigraph import QuerySolutions, Store

from kgbuild.export import public_graphs
from kgbuild.iris import Iris
from kgbuild.pipeline import build
from kgbuild.query import dataset_for, execute
from kgbuild.resources import queries_path
from kgbuild.sources import default_sources
from kgbuild.sparql import QueryRefused, check_query
from kgbuild.store import open_read_only
from tests.conftest import SOURCES, BundledBuild, copy_store

QUERIES = sorted(queries_path().glob("*.rq"))
FEDERATED = "federated-wikidata-municipality.rq"
WIKIDATA = "https://query.wikidata.org/sparql"
BASE = "http://127.0.0.1:8000/"
PARTNER_SEARCH = BASE + "id/partner-search/digest/bc8c75b4e1ea941c"
KARLSTAD_PROJECT = BASE + "id/project/22-010-S04"
MERIT = BASE + "id/project/digest/00fa4d25cd4df775"
PRE_STUDY = BASE + "id/project/digest/0caabebe770ed572"
PRE_STUDY_TITLE = 'Förprojekt "Utvecklad Samverkan i Klarälvdalen"'
KARLSTAD = BASE + "id/organisation/municipality/1780"
IRIS = Iris(BASE)

Row = dict[str, str | None]


def run(store: Store, name: str) -> list[Row]:
    """Check and run ``queries/<name>`` on the public graphs; rows as {variable: value or None}."""
    text = queries_path(name).read_text(encoding="utf-8")
    info = check_query(text, [])
    public = [g.value for g in public_graphs(store, IRIS)]
    result = execute(store, text, dataset_for(public, info))
    assert isinstance(result, QuerySolutions)
    variables = [v.value for v in result.variables]
    return [{v: (row[v].value if row[v] is not None else None) for v in variables} for row in result]  # type: ignore[union-attr]




@pytest.fixture(scope="module")
def store(bundled_build: BundledBuild) -> Store:
    assert bundled_build.iris == IRIS
    return open_read_only(bundled_build.store)


# An ESF project-bank page: Forshaga kommun owns it; two organisations of the pre-study (004)
# co-finance it, one of which owns the pre-study.
EXTRA_SOURCE = """\
Logotyp på utskrifter

Vägen till arbete i Forshaga

ProgramområdeProgramområde 2 Ökat arbetskraftsutbud
ProjektfasGenomförande
ProjektägareForshaga kommun
KontaktpersonEva Exempelsson
E-posteva.exempelsson@example.se
Telefonnummer054-12 34 56
Beviljat ESF-stöd100 000 kr
Total projektbudget250 000 kr
Projektperiod2009-01-01 till 2010-12-31
RegionNorra Mellansverige
In English

Sammanfattning

Forshaga kommun driver projektet tillsammans med samordningsförbundet.

Medfinansiärer

 • Klarälvdalens Samordningsförbund
 • Landstingets kansli

Kommun

 • Forshaga
"""
EXTRA = BASE + "id/project/digest/89b9b7ec005fde0b"  # its title, owner and start date
EXTRA_TITLE = "Vägen till arbete i Forshaga"


@pytest.fixture(scope="module")
def extended_store(bundled_build: BundledBuild, tmp_path_factory: pytest.TempPathFactory) -> Store:
    directory = tmp_path_factory.mktemp("extended")
    source = directory / "005_forshaga.txt"
    source.write_text(EXTRA_SOURCE, encoding="utf-8")
    store = copy_store(bundled_build.store, directory / "kgstore")
    report = build(default_sources() + [source], store, bundled_build.iris)
    assert report.ok and report.replaced == [source.name], report.failures
    return open_read_only(store)


# --- the files ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", QUERIES, ids=lambda p: p.stem)
def test_every_query_file_opens_with_a_title_and_a_description(path: Path) -> None:
    first, second = path.read_text(encoding="utf-8").splitlines()[:2]
    assert first.startswith("# title: ") and len(first) > len("# title: ") + 10
    assert second.startswith("# description: ") and len(second) > len("# description: ") + 20


def test_every_query_has_a_checked_answer() -> None:
    assert {p.name for p in QUERIES} == set(CHECKS) | {FEDERATED}


# --- the answers ----------------------------------------------------------------------------------


def check_granted_by_nuts2(store: Store, extended: Store) -> None:
    rows = [(r["region"], r["regionLabel"], r["period"], r["projects"], r["projectsWithGranted"], r["grantedSEK"],
             r["projectsWithTotalBudget"], r["totalBudgetSEK"]) for r in run(store, "granted-by-nuts2.rq")]
    assert rows == [
        ("SE11", "Stockholm", "2007-2013", "1", "1", "13857478", "1", "34407757"),
        # The two ESF+ records state no amount: unknown, not 0 SEK (issue 19).
        ("SE21", "Småland med öarna", "2021-2027", "1", "0", None, "0", None),
        ("SE31", "Norra Mellansverige", "2007-2013", "1", "1", "286275", "1", "381700"),
        ("SE31", "Norra Mellansverige", "2021-2027", "1", "0", None, "0", None),
    ]


def check_organisation_across_sources(store: Store, extended: Store) -> None:
    rows = run(store, "organisation-across-sources.rq")
    assert [(r["organisation"], r["item"], r["role"]) for r in rows] == [
        (KARLSTAD, PARTNER_SEARCH, "applicant"),
        (KARLSTAD, KARLSTAD_PROJECT, "project owner"),
    ]
    for row in rows:
        assert set((row["namesUsed"] or "").split(" | ")) == {"Municipality of Karlstad", "KARLSTADS KOMMUN"}


VÄRMLAND = {"Arvika", "Eda", "Filipstad", "Forshaga", "Grums", "Hagfors", "Hammarö", "Karlstad", "Kil",
            "Kristinehamn", "Munkfors", "Storfors", "Sunne", "Säffle", "Torsby", "Årjäng"}


def check_projects_in_county(store: Store, extended: Store) -> None:
    pre_study, schools = run(store, "projects-in-county.rq")
    assert (pre_study["project"], pre_study["title"], pre_study["municipalities"]) == (PRE_STUDY, PRE_STUDY_TITLE, "16")
    assert set((pre_study["names"] or "").split(", ")) == VÄRMLAND
    # Seed 001 names the eight Värmland municipalities it works in only in its prose ("i nio kommuner i
    # Värmland: Eda, Filipstad, ..."): read since the extraction engine reads prose.
    assert (schools["project"], schools["title"], schools["municipalities"]) == (
        KARLSTAD_PROJECT, "Värmlands Skolsamverkan", "8")


def check_data_quality(store: Store, extended: Store) -> None:
    rows = run(store, "data-quality.rq")
    assert {(r["item"], r["finding"]) for r in rows} == {(PRE_STUDY, "municipality outside the declared region")}
    assert sorted(r["detail"] for r in rows) == [  # type: ignore[type-var]
        "Enköping (SE121)", "Tierp (SE121)", "Älvkarleby (SE121)", "Östhammar (SE121)"]


def check_owner_and_cofinancier_same_project(store: Store, extended: Store) -> None:
    rows = {(r["project"], r["label"]): set((r["roles"] or "").split(", "))
            for r in run(store, "owner-and-cofinancier-same-project.rq")}
    assert rows[(PRE_STUDY, "Klarälvdalens Samordningsförbund")] == {"project owner", "co-financier"}
    assert rows[(PRE_STUDY, "Forshaga kommun KOMMUNKONTOR")] == {"co-financier", "partner"}
    assert rows[(MERIT, "AMO Sthlm")] == {"co-financier", "partner"}
    assert len(rows) == 8  # five in the pre-study, three in merit.nu


def check_active_in_year(store: Store, extended: Store) -> None:
    rows = [(r["item"], r["type"], r["from"], r["to"]) for r in run(store, "active-in-year.rq")]
    assert rows == [(MERIT, "project", "2010", "2014"), (PARTNER_SEARCH, "partner search", "2013", "2015")]


def check_participants_by_objective_region(store: Store, extended: Store) -> None:
    rows = [(r["objective"], r["region"], r["projects"], r["plannedParticipants"])
            for r in run(store, "participants-by-objective-region.rq")]
    assert rows == [("A2A", "SE21", "1", "584"), ("A2B", "SE31", "1", "1600")]


def check_projects_by_programme_area(store: Store, extended: Store) -> None:
    rows = [(r["area"], r["areaName"], r["interventionType"], r["interventionName"], r["projects"])
            for r in run(store, "projects-by-programme-area.rq")]
    assert rows == [
        ("2", None, None, None, "2"),  # ESF 2014-2020 "Programområde 2": a code with no name in the reference data
        ("A", "Öka möjligheten till ett inkluderande och hållbart arbetsliv för alla", "140",
         "Support for labour market matching and transitions", "2"),
    ]


def check_child_poverty(store: Store, extended: Store) -> None:
    rows = run(store, "child-poverty.rq")
    assert {r["item"] for r in rows} == {PARTNER_SEARCH}
    assert {r["evidence"] for r in rows} == {"key word: Child poverty", "named in the text"}


def check_cofinancing_rate_check(store: Store, extended: Store) -> None:
    rows = [(r["project"], r["granted"], r["total"], r["impliedRate"], r["declaredRate"])
            for r in run(store, "cofinancing-rate-check.rq")]
    # By title: merit.nu's page states none, and an unbound title sorts first.
    assert rows == [(MERIT, "13857478", "34407757", "0.4027", None), (PRE_STUDY, "286275", "381700", "0.75", None)]


def check_owner_summary(store: Store, extended: Store) -> None:
    rows = {r["organisation"]: (r["projects"], r["projectsWithGranted"], r["grantedSEK"], r["firstYear"], r["lastYear"])
            for r in run(store, "owner-summary.rq")}
    assert rows == {
        STOCKHOLMS_STAD: ("1", "1", "13857478", "2010", "2014"),
        SAMORDNINGSFÖRBUND: ("1", "1", "286275", "2008", "2008"),
        KALMAR_LÄN: ("1", "0", None, "2023", "2026"),  # states no amount: unknown, not 0
        KARLSTAD: ("1", "0", None, "2023", "2025"),  # the partner search is not a project it owns
    }


FORSHAGA = BASE + "id/organisation/municipality/1763"
SAMORDNINGSFÖRBUND = BASE + "id/organisation/name/klarälvdalens-samordningsförbund"
STOCKHOLMS_STAD = BASE + "id/organisation/name/arbetsmarknadsförvaltningen-stockholms-stad"
KALMAR_LÄN = BASE + "id/organisation/8025185011"
LANDSTINGET = BASE + "id/organisation/name/landstingets-kansli"


def check_cofinancier_and_owner(store: Store, extended: Store) -> None:
    assert run(store, "cofinancier-and-owner.rq") == []
    rows = {(r["organisation"], r["owned"], r["cofinanced"]) for r in run(extended, "cofinancier-and-owner.rq")}
    assert rows == {
        (FORSHAGA, EXTRA, PRE_STUDY),  # "Forshaga kommun" owns the new one, co-finances the pre-study
        (SAMORDNINGSFÖRBUND, PRE_STUDY, EXTRA),
    }


def check_shared_cofinanciers(store: Store, extended: Store) -> None:
    assert run(store, "shared-cofinanciers.rq") == []
    rows = {r["organisation"]: (r["projects"], set((r["titles"] or "").split(" | ")))
            for r in run(extended, "shared-cofinanciers.rq")}
    assert rows == {SAMORDNINGSFÖRBUND: ("2", {PRE_STUDY_TITLE, EXTRA_TITLE}),
                    LANDSTINGET: ("2", {PRE_STUDY_TITLE, EXTRA_TITLE})}


def test_a_sum_covers_the_projects_that_state_the_amount_and_says_how_many(
        bundled_build: BundledBuild, tmp_path: Path) -> None:
    """SIA (SE21, 2021-2027) states no amount; another project there states both: the sums are that
    project's, with the counts saying one of the two stated them (not a sum read as the region's total)."""
    sia = (SOURCES / "003_03dc92fa27c0c321.txt").read_text(encoding="utf-8")
    stated = "Beviljat ESF-stöd:\n100 000 kr\nTotal projektbudget:\n400 000 kr\nProjektnummer:"
    other = tmp_path / "005_stated.txt"
    other.write_text(sia.replace("22-005-S01", "22-005-S55").replace("Projektnummer:", stated, 1), encoding="utf-8")
    store = copy_store(bundled_build.store, tmp_path / "kgstore")
    assert build([other], store, bundled_build.iris).replaced == [other.name]
    columns = ("projects", "projectsWithGranted", "grantedSEK", "projectsWithTotalBudget", "totalBudgetSEK")
    rows = [tuple(r[c] for c in columns) for r in run(open_read_only(store), "granted-by-nuts2.rq")
            if r["region"] == "SE21"]
    assert rows == [("2", "1", "100000", "1", "400000")]
    owners = [(r["projects"], r["projectsWithGranted"], r["grantedSEK"])
              for r in run(open_read_only(store), "owner-summary.rq") if r["organisation"] == KALMAR_LÄN]
    assert owners == [("2", "1", "100000")]  # the owner of both


CHECKS: dict[str, Callable[[Store, Store], None]] = {
    "granted-by-nuts2.rq": check_granted_by_nuts2,
    "organisation-across-sources.rq": check_organisation_across_sources,
    "projects-in-county.rq": check_projects_in_county,
    "data-quality.rq": check_data_quality,
    "owner-and-cofinancier-same-project.rq": check_owner_and_cofinancier_same_project,
    "active-in-year.rq": check_active_in_year,
    "participants-by-objective-region.rq": check_participants_by_objective_region,
    "child-poverty.rq": check_child_poverty,
    "projects-by-programme-area.rq": check_projects_by_programme_area,
    "cofinancing-rate-check.rq": check_cofinancing_rate_check,
    "owner-summary.rq": check_owner_summary,
    "cofinancier-and-owner.rq": check_cofinancier_and_owner,
    "shared-cofinanciers.rq": check_shared_cofinanciers,
}


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_named_query(store: Store, extended_store: Store, name: str) -> None:
    CHECKS[name](store, extended_store)


def test_the_extra_page_keeps_its_contact_out_of_the_public_graphs(extended_store: Store) -> None:
    text = "SELECT ?s ?p ?o { ?s ?p ?o FILTER(CONTAINS(STR(?o), 'Exempelsson')) }"
    public = [g.value for g in public_graphs(extended_store, IRIS)]
    assert list(execute(extended_store, text, dataset_for(public, check_query(text, [])))) == []  # type: ignore[arg-type]


def test_the_federated_query_needs_wikidata_on_the_allow_list() -> None:
    text = queries_path(FEDERATED).read_text(encoding="utf-8")
    assert f"# federated: {WIKIDATA}" in text.splitlines()[:4]
    with pytest.raises(QueryRefused) as refused:
        check_query(text, [])
    assert refused.value.status == 403 and WIKIDATA in str(refused.value)
    with pytest.raises(QueryRefused):
        check_query(text, ["https://query.wikidata.org/"])  # a prefix of it is not it
    info = check_query(text, [WIKIDATA])
    assert info.form == "SELECT" and info.services == (WIKIDATA,)


def test_every_other_query_calls_no_service() -> None:
    for path in QUERIES:
        if path.name != FEDERATED:
            assert check_query(path.read_text(encoding="utf-8"), []).services == (), path.name



@pytest.mark.parametrize("path", sorted(queries_path().glob("*.rq")), ids=lambda p: p.stem)
def test_sparqlwrapper_sees_each_named_query_as_a_query(path: Path) -> None:
    """SPARQLWrapper guesses a query's form from its text, and a word in a comment ("added") can make it
    send a SELECT as an update (ADD), which it refuses to GET: the named queries are read as queries."""
    from SPARQLWrapper import SPARQLWrapper

    wrapper = SPARQLWrapper("http://127.0.0.1:8000/sparql")
    wrapper.setQuery(path.read_text(encoding="utf-8"))
    assert wrapper.queryType in ("SELECT", "CONSTRUCT", "ASK", "DESCRIBE")
