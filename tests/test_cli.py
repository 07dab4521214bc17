"""The ``kgbuild`` command, run as a real subprocess (``python -m kgbuild.cli``) on stores in ``tmp_path``.

A user's mistake is one line on stderr and exit code 1, never a traceback.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pyoxigraph import RdfFormat, parse

from kgbuild.cli import build_parser
from kgbuild.export import export_quads
from kgbuild.iris import Iris
from kgbuild.store import open_read_only
from tests.conftest import BASE_IRI, ROOT, SOURCES, copy_store

NOT_A_PROJECT_PAGE = "Hej!\nDet här är ingen projektsida.\n"


def kgbuild(*args: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """Run the command as a user would, without the caller's KGBUILD_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KGBUILD_")}
    return subprocess.run([sys.executable, "-m", "kgbuild.cli", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def assert_one_line_error(run: subprocess.CompletedProcess[str], *words: str) -> str:
    assert run.returncode == 1, (run.stdout, run.stderr)
    assert "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), run.stderr
    assert all(word in lines[0] for word in words), lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def cli_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled corpus built by ``kgbuild build`` (no sources given: the bundled ones)."""
    store = tmp_path_factory.mktemp("cli") / "kgstore"
    run = kgbuild("build", "--store", store)
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    assert "5 source(s) loaded" in run.stderr
    assert run.stdout == ""  # messages go to stderr
    return store


def test_build_then_validate(cli_store: Path) -> None:
    run = kgbuild("validate", "--store", cli_store)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "0 violation(s), 5 warning(s)"


def test_validate_json(cli_store: Path) -> None:
    run = kgbuild("validate", "--json", "--store", cli_store)
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["conforms"] is True
    assert (report["violations"], report["warnings"]) == (0, 5)
    # Four municipalities outside the pre-study's region; merit.nu's page states no title.
    assert {r["source"] for r in report["results"]} == {"004_9880f10e1b458694.txt", "002_c5b1d8a317488e7e.txt"}


def test_validate_sources_with_a_violation_exits_1(tmp_path: Path) -> None:
    text = (SOURCES / "003_03dc92fa27c0c321.txt").read_text(encoding="utf-8")
    broken = tmp_path / "003_broken.txt"
    broken.write_text(text.replace("Slutdatum:\n2026-01-31", "Slutdatum:\n2020-01-31"), encoding="utf-8")
    run = kgbuild("validate", broken)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert "1 violation(s)" in run.stdout and "003_broken.txt" in run.stdout
    # The finding names where the end date was read: the line after "Slutdatum:".
    line = broken.read_text(encoding="utf-8").split("\n").index("2020-01-31") + 1
    [violation] = [row for row in run.stdout.splitlines() if row.startswith("Violation")]
    assert f"003_broken.txt, line {line}, column 1: " in violation, violation


def test_build_names_the_line_of_a_value_a_finding_is_about(tmp_path: Path) -> None:
    text = (SOURCES / "003_03dc92fa27c0c321.txt").read_text(encoding="utf-8")
    broken = tmp_path / "003_broken.txt"
    broken.write_text(text.replace("Slutdatum:\n2026-01-31", "Slutdatum:\n2020-01-31"), encoding="utf-8")
    run = kgbuild("build", broken, "--store", tmp_path / "kgstore")
    line = broken.read_text(encoding="utf-8").split("\n").index("2020-01-31") + 1
    assert run.returncode == 1
    assert f"violation: 003_broken.txt, line {line}, column 1: " in run.stderr, run.stderr


def test_build_with_a_malformed_file_among_good_ones(tmp_path: Path) -> None:
    sources = tmp_path / "sources"
    sources.mkdir()
    shutil.copy(SOURCES / "003_03dc92fa27c0c321.txt", sources)
    (sources / "005_broken.txt").write_text(NOT_A_PROJECT_PAGE, encoding="utf-8")
    run = kgbuild("build", sources, "--store", tmp_path / "kgstore")
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    [error] = [line for line in run.stderr.splitlines() if line.startswith("error: ")]
    assert "005_broken.txt" in error and "no project, call or partner search could be read" in error
    assert "1 source(s) loaded" in run.stderr and "1 failed" in run.stderr
    assert (tmp_path / "kgstore" / "CURRENT").exists()  # the good one was built


# --- builds add; removal is explicit (issue 19) -----------------------------------------------------

BUNDLED_KEYS = sorted(p.name.removesuffix(".txt").replace("_", "-") for p in SOURCES.glob("*.txt"))


def source_keys(store: Path) -> list[str]:
    """The sources a store holds, by their graphs' names."""
    prefix = Iris(BASE_IRI).graph("source").value + "/"
    return sorted(g.value.removeprefix(prefix) for g in open_read_only(store).named_graphs()
                  if g.value.startswith(prefix))


def state(store: Path) -> tuple[str, int, list[str]]:
    """What a user could notice changing: the generation served, its quad count, and its sources."""
    return (store / "CURRENT").read_text(encoding="utf-8").strip(), len(open_read_only(store)), source_keys(store)


@pytest.fixture
def store_copy(cli_store: Path, tmp_path: Path) -> Path:
    """A private copy of the bundled store, to build on."""
    return copy_store(cli_store, tmp_path / "kgstore")


def my_pages(directory: Path) -> Path:
    """A directory of one page of the user's own: the SIA record as another project."""
    directory.mkdir()
    text = (SOURCES / "003_03dc92fa27c0c321.txt").read_text(encoding="utf-8")
    (directory / "my-page.txt").write_text(text.replace("22-005-S01", "22-005-S42"), encoding="utf-8")
    return directory


def test_a_path_that_is_not_there_changes_nothing(store_copy: Path) -> None:
    before = state(store_copy)
    for options in ((), ("--sync",)):
        run = kgbuild("build", *options, "/nonexistent/file.txt", "--store", store_copy)
        assert_one_line_error(run, "/nonexistent/file.txt", "no such file")
        assert state(store_copy) == before


def test_a_build_of_my_pages_keeps_the_bundled_corpus(store_copy: Path, tmp_path: Path) -> None:
    run = kgbuild("build", my_pages(tmp_path / "my-pages"), "--store", store_copy)
    assert run.returncode == 0, run.stderr
    assert "1 source(s) loaded (1 new), 0 unchanged, 0 removed, 0 failed" in run.stderr
    assert source_keys(store_copy) == sorted([*BUNDLED_KEYS, "my-page"])


def test_a_build_of_garbage_only_changes_nothing(store_copy: Path, tmp_path: Path) -> None:
    before = state(store_copy)
    garbage = tmp_path / "garbage.txt"
    garbage.write_text(NOT_A_PROJECT_PAGE, encoding="utf-8")
    for options in ((), ("--sync",)):
        run = kgbuild("build", *options, garbage, "--store", store_copy)
        assert run.returncode == 1 and "Traceback" not in run.stderr
        [error] = [line for line in run.stderr.splitlines() if line.startswith("error: ")]
        assert str(garbage) in error and "no project, call or partner search could be read" in error
        assert f"nothing built: every source given failed; {store_copy}/{before[0]} is unchanged" in run.stderr
        assert state(store_copy) == before


def test_sync_removes_the_sources_not_given_and_names_them(store_copy: Path, tmp_path: Path) -> None:
    pages = my_pages(tmp_path / "my-pages")
    run = kgbuild("build", "--sync", SOURCES / "001_49fdefbf50581b3b.txt", pages, "--store", store_copy)
    assert run.returncode == 0, run.stderr
    gone = sorted(set(BUNDLED_KEYS) - {"001-49fdefbf50581b3b"})
    said = [line for line in run.stderr.splitlines() if line.startswith("removed ")]
    assert said == [f"removed {key} (not among the sources given to --sync)" for key in gone]
    assert "1 source(s) loaded (1 new), 1 unchanged, 4 removed, 0 failed" in run.stderr
    assert source_keys(store_copy) == ["001-49fdefbf50581b3b", "my-page"]


def test_renaming_a_page_keeps_its_projects_iri(tmp_path: Path) -> None:
    """The pre-study (004) states no project number: its IRI is not its file's name (issue 19.4)."""
    pages, store = tmp_path / "pages", tmp_path / "kgstore"
    pages.mkdir()
    shutil.copy(SOURCES / "004_9880f10e1b458694.txt", pages / "forstudie.txt")
    query = "SELECT ?project WHERE { ?project a <https://w3id.org/kgbuild/ontology#Project> }"

    def projects() -> list[list[str]]:
        run = kgbuild("query", query, "--format", "csv", "--store", store)
        assert run.returncode == 0, run.stderr
        return list(csv.reader(io.StringIO(run.stdout)))[1:]

    assert kgbuild("build", pages, "--store", store).returncode == 0
    before = projects()
    assert before == [[BASE_IRI + "id/project/digest/0caabebe770ed572"]]
    (pages / "forstudie.txt").rename(pages / "pre-study-klaralvdalen.txt")
    run = kgbuild("build", "--sync", pages, "--store", store)
    assert run.returncode == 0, run.stderr
    assert "removed forstudie" in run.stderr
    assert source_keys(store) == ["pre-study-klaralvdalen"] and projects() == before


def test_remove_takes_out_the_source_named_by_path_file_name_or_graph_name(store_copy: Path) -> None:
    for name, key in ((SOURCES / "002_c5b1d8a317488e7e.txt", "002-c5b1d8a317488e7e"),
                      ("003_03dc92fa27c0c321.txt", "003-03dc92fa27c0c321"),
                      ("004-9880f10e1b458694", "004-9880f10e1b458694")):
        before = state(store_copy)
        run = kgbuild("remove", name, "--store", store_copy)
        assert run.returncode == 0, run.stderr
        assert f"removed {key}\n" in run.stderr and "removed 1 source(s) from" in run.stderr
        assert source_keys(store_copy) == [k for k in before[2] if k != key]
        assert state(store_copy)[0] > before[0]
    assert source_keys(store_copy) == ["000-fa21285db760708c", "001-49fdefbf50581b3b"]


def test_remove_of_a_source_not_in_the_store_is_one_line_and_removes_nothing(store_copy: Path) -> None:
    before = state(store_copy)
    # One unknown name among known ones: none is removed.
    run = kgbuild("remove", "001_49fdefbf50581b3b.txt", "no-such-page.txt", "--store", store_copy)
    assert_one_line_error(run, "no-such-page.txt", "nothing removed")
    assert state(store_copy) == before


def test_dry_runs_say_what_they_would_do_and_write_nothing(store_copy: Path, tmp_path: Path) -> None:
    before = state(store_copy)
    pages = my_pages(tmp_path / "my-pages")
    changed = tmp_path / "changed"
    changed.mkdir()
    text = (SOURCES / "003_03dc92fa27c0c321.txt").read_text(encoding="utf-8")
    (changed / "003_03dc92fa27c0c321.txt").write_text(text.replace("Kalmar län (SIA)", "Kalmar län"),
                                                       encoding="utf-8")
    runs = {
        "build": kgbuild("build", "--dry-run", pages, changed, "--store", store_copy),
        "sync": kgbuild("build", "--sync", "--dry-run", pages, "--store", store_copy),
        "remove": kgbuild("remove", "--dry-run", "001_49fdefbf50581b3b.txt", "--store", store_copy),
    }
    for run in runs.values():
        assert run.returncode == 0, run.stderr
        assert "nothing written" in run.stderr
        assert state(store_copy) == before
    assert "would add my-page.txt" in runs["build"].stderr
    assert "would replace 003_03dc92fa27c0c321.txt" in runs["build"].stderr
    assert "2 source(s) would be loaded (1 new), 0 unchanged, 0 removed" in runs["build"].stderr
    assert [line for line in runs["sync"].stderr.splitlines() if line.startswith("would remove")] == \
        [f"would remove {key} (not among the sources given to --sync)" for key in BUNDLED_KEYS]
    assert "would remove 001-49fdefbf50581b3b\n" in runs["remove"].stderr


OTHER_BASE = "http://127.0.0.1:8812/"
PROJECTS = "SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE { ?p a <https://w3id.org/kgbuild/ontology#Project> }"


def _count(store: Path, query: str, base: str = BASE_IRI) -> int:
    run = kgbuild("query", query, "--format", "csv", "--store", store, "--base-iri", base)
    assert run.returncode == 0, run.stderr
    return int(run.stdout.splitlines()[1])


def _granted(store: Path, base: str) -> list[list[str]]:
    run = kgbuild("query", "--file", "queries/granted-by-nuts2.rq", "--format", "csv", "--store", store,
                  "--base-iri", base)
    assert run.returncode == 0, run.stderr
    return list(csv.reader(io.StringIO(run.stdout)))


def source_keys_under(store: Path, base: str) -> list[str]:
    prefix = Iris(base).graph("source").value + "/"
    return sorted(g.value.removeprefix(prefix) for g in open_read_only(store).named_graphs()
                  if g.value.startswith(prefix))


def _graph_bases(store: Path) -> set[str]:
    return {g.value.split("graph/")[0] for g in open_read_only(store, include_personal=True).named_graphs()}


def test_a_build_with_another_base_changes_nothing_and_says_how(store_copy: Path) -> None:
    """Issue 19.2: a second base on one store doubled every project (8 instead of 4, SE11's total twice)."""
    before, granted = state(store_copy), _granted(store_copy, BASE_IRI)
    for run in (kgbuild("build", "--store", store_copy, "--base-iri", OTHER_BASE),
                kgbuild("build", "--dry-run", "--store", store_copy, "--base-iri", OTHER_BASE),
                kgbuild("remove", "001_49fdefbf50581b3b.txt", "--store", store_copy, "--base-iri", OTHER_BASE)):
        assert_one_line_error(run, f"built with base IRI {BASE_IRI}, not {OTHER_BASE}", f"--base-iri {BASE_IRI}",
                              "--sync", "nothing changed")
        assert state(store_copy) == before
    assert _count(store_copy, PROJECTS) == 4
    assert _granted(store_copy, BASE_IRI) == granted
    assert _graph_bases(store_copy) == {BASE_IRI}


def test_a_sync_under_another_base_mints_every_iri_anew_once(store_copy: Path) -> None:
    granted = _granted(store_copy, BASE_IRI)
    assert ["SE11", "Stockholm", "2007-2013", "1", "1", "13857478", "1", "34407757"] in granted
    dry = kgbuild("build", "--sync", "--dry-run", "--store", store_copy, "--base-iri", OTHER_BASE)
    assert dry.returncode == 0, dry.stderr
    assert f"would mint every IRI anew under {OTHER_BASE} (the store was built with {BASE_IRI}" in dry.stderr
    assert _graph_bases(store_copy) == {BASE_IRI}

    run = kgbuild("build", "--sync", SOURCES, "--store", store_copy, "--base-iri", OTHER_BASE)
    assert run.returncode == 0, run.stderr
    assert f"minted every IRI anew under {OTHER_BASE}" in run.stderr
    assert "5 source(s) loaded (5 new), 0 unchanged, 0 removed, 0 failed" in run.stderr
    assert _graph_bases(store_copy) == {OTHER_BASE}  # one copy: nothing is left under the first base
    assert _count(store_copy, PROJECTS, OTHER_BASE) == 4
    assert _granted(store_copy, OTHER_BASE) == granted
    # The store now belongs to the new base: a build or a removal under the old one changes nothing...
    before = state(store_copy)
    assert_one_line_error(kgbuild("build", "--store", store_copy, "--base-iri", BASE_IRI),
                          f"built with base IRI {OTHER_BASE}")
    assert_one_line_error(kgbuild("remove", "001-49fdefbf50581b3b", "--store", store_copy, "--base-iri", BASE_IRI),
                          f"--base-iri {OTHER_BASE}")
    assert state(store_copy) == before
    # ... and one that names no base goes on under the store's own.
    for run in (kgbuild("build", "--store", store_copy), kgbuild("build", "--store", store_copy, "--base-iri",
                                                                  OTHER_BASE)):
        assert run.returncode == 0 and "0 source(s) loaded (0 new), 5 unchanged" in run.stderr, run.stderr
    assert _graph_bases(store_copy) == {OTHER_BASE}
    export = kgbuild("export", "--format", "nquads", "--store", store_copy)
    assert export.returncode == 0 and f"<{OTHER_BASE}id/project/22-010-S04>" in export.stdout
    assert f"<{BASE_IRI}" not in export.stdout
    validated = kgbuild("validate", "--store", store_copy)  # the store's sources, found under its base
    assert validated.returncode == 0 and validated.stdout.strip().splitlines()[-1] == "0 violation(s), 5 warning(s)"
    removed = kgbuild("remove", "001-49fdefbf50581b3b", "--store", store_copy)
    assert removed.returncode == 0, removed.stderr
    assert source_keys_under(store_copy, OTHER_BASE) == sorted(set(BUNDLED_KEYS) - {"001-49fdefbf50581b3b"})


def test_a_sync_under_another_base_names_the_sources_it_does_not_keep(store_copy: Path) -> None:
    run = kgbuild("build", "--sync", SOURCES / "001_49fdefbf50581b3b.txt", "--store", store_copy,
                  "--base-iri", OTHER_BASE)
    assert run.returncode == 0, run.stderr
    gone = sorted(set(BUNDLED_KEYS) - {"001-49fdefbf50581b3b"})
    assert [line for line in run.stderr.splitlines() if line.startswith("removed ")] == \
        [f"removed {key} (not among the sources given to --sync)" for key in gone]
    assert _graph_bases(store_copy) == {OTHER_BASE}


def test_a_store_doubled_before_the_check_is_refused_then_synced_to_one_copy(store_copy: Path,
                                                                              tmp_path: Path) -> None:
    """A store an earlier kgbuild doubled (both bases' graphs in it): named as such, and ``--sync`` keeps one."""
    from kgbuild.store import StoreDirectory

    other = tmp_path / "other"
    assert kgbuild("build", "--store", other, "--base-iri", OTHER_BASE).returncode == 0
    doubled = list(open_read_only(other).quads_for_pattern(None, None, None, None))
    StoreDirectory(store_copy).write_generation(lambda store, personal: store.extend(doubled))
    assert _graph_bases(store_copy) == {BASE_IRI, OTHER_BASE}
    assert _count(store_copy, PROJECTS) == 8  # what the user saw: every project twice
    before = state(store_copy)
    for base in (BASE_IRI, OTHER_BASE):
        assert_one_line_error(kgbuild("build", "--store", store_copy, "--base-iri", base),
                              f"holds graphs minted under 2 base IRIs ({BASE_IRI}, {OTHER_BASE})", "--sync",
                              "nothing changed")
    assert_one_line_error(kgbuild("build", "--store", store_copy), "2 base IRIs")
    assert state(store_copy) == before
    run = kgbuild("build", "--sync", "--store", store_copy)
    assert run.returncode == 0, run.stderr
    assert f"minted every IRI anew under {BASE_IRI} (the store was built with {OTHER_BASE}" in run.stderr
    assert _graph_bases(store_copy) == {BASE_IRI}
    assert _count(store_copy, PROJECTS) == 4


def test_build_help_says_a_build_adds_and_how_to_remove() -> None:
    text = " ".join(kgbuild("build", "--help").stdout.split())
    assert "A build adds" in text and "--sync" in text and "kgbuild remove" in text and "--dry-run" in text


def test_query_a_named_query_as_csv(cli_store: Path) -> None:
    run = kgbuild("query", "--file", "queries/granted-by-nuts2.rq", "--format", "csv", "--store", cli_store)
    assert run.returncode == 0, run.stderr
    rows = list(csv.reader(io.StringIO(run.stdout)))
    assert rows[0] == ["region", "regionLabel", "period", "projects", "projectsWithGranted", "grantedSEK",
                       "projectsWithTotalBudget", "totalBudgetSEK"]
    assert ["SE11", "Stockholm", "2007-2013", "1", "1", "13857478", "1", "34407757"] in rows
    assert ["SE31", "Norra Mellansverige", "2007-2013", "1", "1", "286275", "1", "381700"] in rows
    assert ["SE21", "Småland med öarna", "2021-2027", "1", "0", "", "0", ""] in rows  # stated by none: empty, not 0


def test_query_a_construct_as_turtle(cli_store: Path) -> None:
    run = kgbuild("query", "CONSTRUCT WHERE { ?s <http://purl.org/dc/terms/title> ?o }", "--store", cli_store)
    assert run.returncode == 0, run.stderr
    titles = {t.object.value for t in parse(run.stdout.encode(), format=RdfFormat.TURTLE)}
    assert {"Värmlands Skolsamverkan", 'Förprojekt "Utvecklad Samverkan i Klarälvdalen"'} <= titles


def test_a_malformed_query_is_one_line(cli_store: Path) -> None:
    run = kgbuild("query", "SELECT * WHERE { ?s ?p }", "--store", cli_store)
    assert_one_line_error(run, "malformed query")
    assert run.stdout == ""


@pytest.mark.parametrize("query", [
    "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }",
    "SELECT * WHERE { SERVICE SILENT <https://query.wikidata.org/sparql> { ?s ?p ?o } }",
    "INSERT DATA { <http://a.example/s> <http://a.example/p> <http://a.example/o> }",
])
def test_a_refused_query_is_one_line(cli_store: Path, query: str) -> None:
    before = len(open_read_only(cli_store))
    run = kgbuild("query", query, "--store", cli_store)
    assert_one_line_error(run)
    assert run.stdout == ""
    assert len(open_read_only(cli_store)) == before


def test_a_long_chain_runs_where_the_main_thread_stack_would_overflow(cli_store: Path) -> None:
    # 30,000 negations overflowed the main thread's 8 MB stack (SIGSEGV, no message): it runs on a larger one.
    run = kgbuild("query", "ASK { FILTER(" + "!" * 30_000 + "true) }", "--format", "json", "--store", cli_store)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["boolean"] is True


def test_the_federated_query_runs_only_with_the_allow_list(cli_store: Path) -> None:
    run = kgbuild("query", "--file", "queries/federated-wikidata-municipality.rq", "--store", cli_store)
    assert_one_line_error(run, "https://query.wikidata.org/sparql", "allow-list")


def test_query_on_a_store_never_built(tmp_path: Path) -> None:
    assert_one_line_error(kgbuild("query", "SELECT * { ?s ?p ?o }", "--store", tmp_path / "none"), "kgbuild build")


def test_a_bad_setting_is_one_line(cli_store: Path) -> None:
    run = kgbuild("query", "SELECT * { ?s ?p ?o }", "--store", cli_store, "--query-timeout", "nan")
    assert_one_line_error(run, "query_timeout")


def test_export_nquads_gzip(cli_store: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.nq.gz"
    run = kgbuild("export", "--format", "nquads", "--out", out, "--store", cli_store)
    assert run.returncode == 0, run.stderr
    quads = list(parse(gzip.decompress(out.read_bytes()), format=RdfFormat.N_QUADS))
    public = list(export_quads(open_read_only(cli_store), Iris(BASE_IRI)))
    assert len(quads) == len(public) + len({q.triple for q in public}) > 10_000  # the graphs and their merge


def test_export_to_stdout(cli_store: Path) -> None:
    run = kgbuild("export", "--format", "ntriples", "--store", cli_store)
    assert run.returncode == 0, run.stderr
    assert len(list(parse(run.stdout.encode(), format=RdfFormat.N_TRIPLES))) > 10_000
    assert "Roger Nilsson" not in run.stdout


def test_export_all(cli_store: Path, tmp_path: Path) -> None:
    target = tmp_path / "dumps"
    run = kgbuild("export", "--all", target, "--store", cli_store)
    assert run.returncode == 0, run.stderr
    names = {p.name for p in target.iterdir()}
    assert {p for p in names if p.endswith(".gz")} == {
        "kgbuild.ttl.gz", "kgbuild.nt.gz", "kgbuild.nq.gz", "kgbuild.trig.gz", "kgbuild.jsonld.gz"}
    assert {"SHA256SUMS", "void.ttl"} <= names
    assert len((target / "SHA256SUMS").read_text().splitlines()) == 5


def test_export_all_into_a_file_is_one_line(cli_store: Path, tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a directory\n", encoding="utf-8")
    run = kgbuild("export", "--all", tmp_path / "a-file" / "dumps", "--store", cli_store)
    assert_one_line_error(run, "cannot write")


def _verbs() -> list[str]:
    [verbs] = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return sorted(verbs.choices)


def test_the_command_has_the_pipeline_verbs() -> None:
    assert {"parse", "build", "validate", "query", "export"} <= set(_verbs())


@pytest.mark.parametrize("verb", _verbs())
def test_every_verb_help_has_an_example(verb: str) -> None:
    run = kgbuild(verb, "--help")
    assert run.returncode == 0, run.stderr
    examples = [line for line in run.stdout.splitlines() if line.startswith("example: kgbuild ")]
    assert examples, run.stdout
    assert all(f"kgbuild {verb}" in line for line in examples)


def test_the_top_level_help_has_an_example() -> None:
    run = kgbuild("--help")
    assert run.returncode == 0
    assert any(line.startswith("example: kgbuild ") for line in run.stdout.splitlines())


def test_a_mistyped_command_or_choice_is_told_the_nearest_one() -> None:
    typo = kgbuild("biuld")
    assert typo.returncode == 2 and "invalid choice: 'biuld'" in typo.stderr
    assert typo.stderr.rstrip().endswith("did you mean 'build'?")
    assert kgbuild("export", "--format", "tutle").stderr.rstrip().endswith("did you mean 'turtle'?")
    unlike = kgbuild("zzzz")  # nothing near: the list of commands alone
    assert unlike.returncode == 2 and "did you mean" not in unlike.stderr and "'serve'" in unlike.stderr
