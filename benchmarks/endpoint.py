"""Endpoint benchmark: kgbuild serve against `oxigraph serve-read-only` and rdflib-endpoint on the same data.

Three queries (a one-project lookup, an aggregate by NUTS-2 region, a two-hop join with ORDER BY and
LIMIT), each driven by wrk at fixed concurrency for a bounded time; each server's start time, peak
memory and memory drift under load. Servers and wrk share the machine's cores, as they would.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.harness import VENV_BIN, Server, WrkResult, free_port, run_wrk, start_server

__all__ = ["QUERIES", "ServerResult", "benchmark_endpoints"]

_PREFIXES = """PREFIX kg: <https://w3id.org/kgbuild/ontology#>
PREFIX dct: <http://purl.org/dc/terms/>
PREFIX schema: <https://schema.org/>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
"""


def queries_for(project_iri: str, other_projects: Sequence[str] = ()) -> dict[str, str | list[str]]:
    """The queries measured; ``lookup-varied`` asks for another project each time (no answer cache helps)."""
    lookup = "SELECT ?p ?o WHERE {{ <{}> ?p ?o }}"
    return {
        "lookup": lookup.format(project_iri),
        "lookup-varied": [lookup.format(iri) for iri in (other_projects or [project_iri])],
        "aggregate": _PREFIXES + """SELECT ?region (COUNT(?project) AS ?projects) (SUM(?granted) AS ?grantedSEK)
WHERE { ?project a kg:Project ; kg:nutsRegion/skos:notation ?region .
        OPTIONAL { ?project kg:grantedAmount/schema:value ?g } BIND(COALESCE(?g, 0) AS ?granted) }
GROUP BY ?region ORDER BY ?region""",
        "join": _PREFIXES + """SELECT ?title ?owner WHERE {
  ?project a kg:Project ; dct:title ?title ; kg:hasParticipation ?p .
  ?p kg:role kg:owner ; kg:participant/rdfs:label ?owner .
} ORDER BY ?title LIMIT 100""",
    }


QUERIES = tuple(queries_for("http://127.0.0.1:8000/id/project/x"))


@dataclass
class ServerResult:
    name: str
    start_seconds: float = 0.0
    peak_mb: float = 0.0
    rss_start_mb: float = 0.0
    rss_end_mb: float = 0.0
    runs: dict[str, WrkResult] = field(default_factory=dict)
    error: str = ""


# Sent with a unique comment each request: no answer cache helps (kgbuild's would, the others have none).
# Only "lookup" repeats one text, to show the cache.
UNCACHED = frozenset({"lookup-varied", "aggregate", "join"})
# The aggregate and the join are also measured one request at a time (the latency of the query itself,
# without queueing), before the same query under load. The join at load comes last: a server goes on
# with the queries wrk gave up on, and Oxigraph has no deadline to stop them.
ORDER = (("lookup", 0), ("lookup-varied", 0), ("aggregate", 1), ("aggregate", 0), ("join", 1), ("join", 0))


def _measure(server: Server, queries: dict[str, str | list[str]], connections: int, seconds: int) -> ServerResult:
    result = ServerResult(server.name, server.start_seconds, rss_start_mb=server.rss_mb())
    for name, fixed in ORDER:
        if not fixed:
            run_wrk(server.endpoint, queries[name], min(connections, 2), 1)  # a warm-up run: measured warm
            server.wait_idle()  # a slow query of the warm-up goes on after wrk stops: not beside the run
        result.runs[name + (f", c={fixed}" if fixed else "")] = run_wrk(
            server.endpoint, queries[name], fixed or connections, seconds, unique=name in UNCACHED)
        server.wait_idle()  # queries left running by the run must not slow the next one
    result.rss_end_mb = server.rss_mb()
    result.peak_mb = server.peak_mb()
    return result


def project_sample(store: Path, count: int = 2000) -> list[str]:
    """Up to ``count`` project IRIs of the store, for the varied lookup."""
    from pyoxigraph import QuerySolutions

    from kgbuild.store import open_read_only

    answer = open_read_only(store).query(
        f"SELECT ?p {{ ?p a <https://w3id.org/kgbuild/ontology#Project> }} LIMIT {count}")
    assert isinstance(answer, QuerySolutions)
    return [row[0].value for row in answer]  # type: ignore[union-attr]


def wait_for_dumps(store: Path, timeout: float = 3600.0) -> float:
    """Seconds until the server's dumps of the current generation are made (measured in steady state)."""
    started = time.perf_counter()
    current = (store / "CURRENT").read_text(encoding="utf-8").strip()
    while time.perf_counter() - started < timeout:
        with contextlib.suppress(FileNotFoundError):
            if (store / "dumps-public" / "GENERATION").read_text(encoding="utf-8").strip() == current:
                break
        time.sleep(0.2)
    return time.perf_counter() - started


def benchmark_endpoints(store: Path, nquads: Path, ntriples: Path, work: Path, project_iri: str,
                        connections: int = 16, seconds: int = 10, run_rdflib: bool = True) -> list[ServerResult]:
    """Measure the three servers on the same data; every server is stopped afterwards.

    kgbuild serve is measured once it has made its dumps (in a background process, once per store
    generation), as a server runs most of its life. rdflib-endpoint holds the graph in Python objects:
    ``run_rdflib=False`` leaves it out at sizes it cannot load in reasonable time and memory.
    """
    queries = queries_for(project_iri, project_sample(store))
    results: list[ServerResult] = []
    work.mkdir(parents=True, exist_ok=True)

    port = free_port()
    ours = [str(VENV_BIN / "kgbuild"), "serve", "--store", str(store), "--port", str(port),
            "--max-concurrent-per-client", str(connections * 4), "--query-workers", "2"]
    with start_server("kgbuild serve", ours, f"http://127.0.0.1:{port}/sparql", log=work / "kgbuild.log") as server:
        wait_for_dumps(store)
        results.append(_measure(server, queries, connections, seconds))

    oxi_store = work / "oxigraph-store"
    if not oxi_store.exists() or oxi_store.stat().st_mtime < nquads.stat().st_mtime:  # loaded from this build
        shutil.rmtree(oxi_store, ignore_errors=True)
        subprocess.run([str(VENV_BIN / "oxigraph"), "load", "--location", str(oxi_store), "--file", str(nquads)],
                       check=True, capture_output=True, timeout=3600)
    port = free_port()
    oxigraph = [str(VENV_BIN / "oxigraph"), "serve-read-only", "--location", str(oxi_store), "--bind",
                f"127.0.0.1:{port}"]  # the dump's default graph is the merge of its graphs, as kgbuild serves it
    with start_server("oxigraph serve", oxigraph, f"http://127.0.0.1:{port}/query",
                      log=work / "oxigraph.log") as server:
        results.append(_measure(server, queries, connections, seconds))

    if not run_rdflib:
        results.append(ServerResult("rdflib-endpoint", error="not run at this size (--rdflib-max)"))
        return results
    port = free_port()
    rdflib_endpoint = [str(VENV_BIN / "rdflib-endpoint"), "serve", "--host", "127.0.0.1", "--port", str(port),
                       str(ntriples)]
    try:
        with start_server("rdflib-endpoint", rdflib_endpoint, f"http://127.0.0.1:{port}/",
                          log=work / "rdflib-endpoint.log", timeout=1800) as server:
            results.append(_measure(server, queries, connections, seconds))
    except RuntimeError as exc:
        results.append(ServerResult("rdflib-endpoint", error=str(exc)))
    return results
