"""The endpoint benchmark's machinery (benchmarks/endpoint.py, benchmarks/harness.py), run for real but briefly.

wrk drives kgbuild serve and oxigraph serve on loopback over the bundled corpus, one second per query.
The figures are not checked (that is what the benchmark is for); what is checked is that the harness
measures what it says: every answer a 200, and the varied lookup really asks a different project each
time, in a text no request sent before, so that kgbuild's answer cache cannot serve it (the cache's
hits and misses on /healthz prove it).
Marked slow (about 40 s): not in the default run, nor in CI; ``scripts/test -m slow`` runs it. Skipped only
where Debian's ``wrk`` is absent and ``KGBUILD_CI`` is unset.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import httpx
import pytest
from pyoxigraph import RdfFormat

from benchmarks.endpoint import benchmark_endpoints, project_sample, queries_for
from benchmarks.harness import VENV_BIN, free_port, run_wrk, start_server
from kgbuild.store import open_read_only
from tests.conftest import BundledBuild, copy_store

pytestmark = pytest.mark.slow


def _require_wrk() -> None:
    if shutil.which("wrk"):
        return
    if os.environ.get("KGBUILD_CI"):
        pytest.fail("wrk is not installed; KGBUILD_CI is set, so the benchmark machinery test must run")
    pytest.skip("wrk is not installed (apt-get install wrk)")


@pytest.fixture
def store(bundled_build: BundledBuild, tmp_path: Path) -> Path:
    return copy_store(bundled_build.store, tmp_path / "kgstore")  # the server writes its dumps beside it


def test_the_varied_lookup_asks_every_project_and_misses_the_cache(store: Path) -> None:
    _require_wrk()
    projects = project_sample(store)
    assert len(projects) > 3
    port = free_port()
    command = [str(VENV_BIN / "kgbuild"), "serve", "--store", str(store), "--port", str(port),
               "--max-concurrent-per-client", "64"]
    with start_server("kgbuild serve", command, f"http://127.0.0.1:{port}/sparql") as server:
        before = httpx.get(f"http://127.0.0.1:{port}/healthz").json()["answer_cache"]
        result = run_wrk(server.endpoint, queries_for(projects[0], projects)["lookup-varied"], 2, 1, unique=True)
        after = httpx.get(f"http://127.0.0.1:{port}/healthz").json()["answer_cache"]
    assert result.requests > len(projects) and result.non_2xx == 0 and result.errors == 0, result
    assert after["misses"] - before["misses"] >= result.requests  # every request missed the cache...
    assert after["hits"] == before["hits"]  # ...though the list of projects was sent round more than once


def test_kgbuild_and_oxigraph_are_measured_on_the_same_data(store: Path, tmp_path: Path) -> None:
    _require_wrk()
    nquads = tmp_path / "all.nq"
    open_read_only(store).dump(str(nquads), format=RdfFormat.N_QUADS)
    results = benchmark_endpoints(store, nquads, tmp_path / "unused.nt", tmp_path / "servers", project_sample(store)[0],
                                  connections=2, seconds=1, run_rdflib=False)
    by_name = {result.name: result for result in results}
    assert set(by_name) == {"kgbuild serve", "oxigraph serve", "rdflib-endpoint"}
    assert "not run" in by_name["rdflib-endpoint"].error
    for name in ("kgbuild serve", "oxigraph serve"):
        runs = by_name[name].runs
        assert set(runs) == {"lookup", "lookup-varied", "aggregate", "join", "aggregate, c=1", "join, c=1"}, name
        for query, run in runs.items():
            assert run.requests > 0 and run.non_2xx == 0 and run.errors == 0, (name, query, run)
    assert (store / "dumps-public" / "GENERATION").is_file()  # measured after the server made its dumps
