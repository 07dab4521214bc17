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
from kgbuild.mapping import Iris
from kgbuild.store import open_read_only
from tests.conftest import BASE_IRI, ROOT, SOURCES

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
    assert run.stdout.strip().splitlines()[-1] == "0 violation(s), 4 warning(s)"


def test_validate_json(cli_store: Path) -> None:
    run = kgbuild("validate", "--json", "--store", cli_store)
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["conforms"] is True
    assert (report["violations"], report["warnings"]) == (0, 4)
    assert {r["source"] for r in report["results"]} == {"004_9880f10e1b458694.txt"}


def test_validate_sources_with_a_violation_exits_1(tmp_path: Path) -> None:
    text = (SOURCES / "003_03dc92fa27c0c321.txt").read_text(encoding="utf-8")
    broken = tmp_path / "003_broken.txt"
    broken.write_text(text.replace("Slutdatum:\n2026-01-31", "Slutdatum:\n2020-01-31"), encoding="utf-8")
    run = kgbuild("validate", broken)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert "1 violation(s)" in run.stdout and "003_broken.txt" in run.stdout


def test_build_with_a_malformed_file_among_good_ones(tmp_path: Path) -> None:
    sources = tmp_path / "sources"
    sources.mkdir()
    shutil.copy(SOURCES / "003_03dc92fa27c0c321.txt", sources)
    (sources / "005_broken.txt").write_text(NOT_A_PROJECT_PAGE, encoding="utf-8")
    run = kgbuild("build", sources, "--store", tmp_path / "kgstore")
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    [error] = [line for line in run.stderr.splitlines() if line.startswith("error: ")]
    assert "005_broken.txt" in error and "not a recognised format" in error
    assert "1 source(s) loaded" in run.stderr and "1 failed" in run.stderr
    assert (tmp_path / "kgstore" / "CURRENT").exists()  # the good one was built


def test_query_a_named_query_as_csv(cli_store: Path) -> None:
    run = kgbuild("query", "--file", "queries/granted-by-nuts2.rq", "--format", "csv", "--store", cli_store)
    assert run.returncode == 0, run.stderr
    rows = list(csv.reader(io.StringIO(run.stdout)))
    assert rows[0] == ["region", "regionLabel", "period", "projects", "grantedSEK", "totalBudgetSEK"]
    assert ["SE11", "Stockholm", "2007-2013", "1", "13857478", "34407757"] in rows
    assert ["SE31", "Norra Mellansverige", "2007-2013", "1", "286275", "381700"] in rows


def test_query_a_construct_as_turtle(cli_store: Path) -> None:
    run = kgbuild("query", "CONSTRUCT WHERE { ?s <http://purl.org/dc/terms/title> ?o }", "--store", cli_store)
    assert run.returncode == 0, run.stderr
    titles = {t.object.value for t in parse(run.stdout.encode(), format=RdfFormat.TURTLE)}
    assert "Värmlands Skolsamverkan" in titles and "merit.nu" in titles


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
