"""``python -m benchmarks``: every benchmark at the chosen corpus sizes, each figure against its peer.

Usage::

    python -m benchmarks                      # 1,000 documents: a few minutes
    python -m benchmarks --sizes 1000 10000 100000 --seconds 20

Results go to ``benchmarks/results/`` (Markdown and PNG) and are printed. The machine is shared and
noisy: every figure is a ratio against a peer measured in the same run, on the same data.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import sys
from pathlib import Path

from benchmarks.build import benchmark_build, benchmark_dumps, benchmark_parse, benchmark_validation
from benchmarks.corpus import generate
from benchmarks.endpoint import benchmark_endpoints, wait_for_dumps
from benchmarks.harness import VENV_BIN, free_port, run_wrk, start_server
from benchmarks.inputs import benchmark_inputs
from benchmarks.report import Run, write_report

HERE = Path(__file__).parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000], help="corpus sizes (documents)")
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration per query and server")
    parser.add_argument("--connections", type=int, default=16, help="wrk concurrency")
    parser.add_argument("--pyshacl-max", type=int, default=10000,
                        help="largest size at which pyshacl validates the whole graph (it needs ~2 GB per 50k)")
    parser.add_argument("--dumps-max", type=int, default=10000,
                        help="largest size at which dumps are timed (ten full dumps: half an hour at 100k)")
    parser.add_argument("--rdflib-max", type=int, default=10000,
                        help="largest size served by rdflib-endpoint (it holds the graph as Python objects)")
    parser.add_argument("--work", type=Path, default=HERE / "work", help="scratch directory (git-ignored)")
    parser.add_argument("--out", type=Path, default=HERE / "results", help="where results are written")
    parser.add_argument("--skip-endpoint", action="store_true", help="no server benchmark (no wrk needed)")
    parser.add_argument("--inputs-max", type=int, default=200,
                        help="texts rendered as HTML pages and DOCX for the inputs benchmark (at most)")
    args = parser.parse_args(argv)

    runs: list[Run] = []
    for size in sorted(args.sizes):
        work = args.work / f"n{size}"
        corpus = work / "corpus"
        if not corpus.is_dir() or len(list(corpus.glob("*.txt"))) != size:
            print(f"[{size}] generating the corpus ...", file=sys.stderr)
            sources = generate(size, corpus, seed=1)
        else:
            sources = sorted(corpus.glob("*.txt"))
        print(f"[{size}] reading, CPU per document ...", file=sys.stderr)
        parse = benchmark_parse(sources)
        print(f"[{size}] reading HTML pages and DOCX against their texts ...", file=sys.stderr)
        inputs = benchmark_inputs(min(size, args.inputs_max), kinds=("txt", "html", "docx"))
        print(f"[{size}] build vs bulk load ...", file=sys.stderr)
        build, artifacts = benchmark_build(sources, work)
        print(f"[{size}] validation vs pyshacl ...", file=sys.stderr)
        validation = benchmark_validation(sources, run_pyshacl=size <= args.pyshacl_max)
        dumps = []
        if size <= args.dumps_max:
            print(f"[{size}] dumps vs Store.dump ...", file=sys.stderr)
            dumps = benchmark_dumps(artifacts.store, work)
        servers = []
        latency: dict[str, dict[int, tuple[float, float]]] = {}
        if not args.skip_endpoint:
            print(f"[{size}] endpoints under wrk ...", file=sys.stderr)
            servers = benchmark_endpoints(artifacts.store, artifacts.nquads, artifacts.ntriples, work / "servers",
                                          artifacts.project_iri, args.connections, args.seconds,
                                          run_rdflib=size <= args.rdflib_max)
            if size == max(args.sizes):
                latency = latency_curve(artifacts.store, work / "servers", artifacts.project_iri, args.seconds)
        runs.append(Run(size, build, validation, dumps, servers, latency, parse, inputs))
        write_report(runs, args.out, _machine())
    print((args.out / "latest.md").read_text(encoding="utf-8"))
    return 0


def latency_curve(store: Path, work: Path, project_iri: str, seconds: int) -> dict[str, dict[int, tuple[float, float]]]:
    """Lookup latency (p50, p99) against concurrency, for kgbuild serve and oxigraph serve."""
    from benchmarks.endpoint import queries_for

    query = queries_for(project_iri)["lookup"]
    curves: dict[str, dict[int, tuple[float, float]]] = {}
    port = free_port()
    ours = [str(VENV_BIN / "kgbuild"), "serve", "--store", str(store), "--port", str(port),
            "--max-concurrent-per-client", "256"]
    with start_server("kgbuild serve", ours, f"http://127.0.0.1:{port}/sparql") as server:
        wait_for_dumps(store)
        curves["kgbuild serve"] = {c: _p(run_wrk(server.endpoint, query, c, max(3, seconds // 2)))
                                   for c in (1, 4, 16, 64)}
    port = free_port()
    oxigraph = [str(VENV_BIN / "oxigraph"), "serve-read-only", "--location", str(work / "oxigraph-store"),
                "--bind", f"127.0.0.1:{port}"]  # the default graph is the merge, as kgbuild serves it
    with start_server("oxigraph serve", oxigraph, f"http://127.0.0.1:{port}/query") as server:
        curves["oxigraph serve"] = {c: _p(run_wrk(server.endpoint, query, c, max(3, seconds // 2)))
                                    for c in (1, 4, 16, 64)}
    return curves


def _p(result: object) -> tuple[float, float]:
    return result.p50_ms, result.p99_ms  # type: ignore[attr-defined]


def _machine() -> str:
    import os

    return (f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC")


if __name__ == "__main__":
    sys.exit(main())
