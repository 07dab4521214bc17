"""``python -m benchmarks.endpoint_ab``: the endpoint alone, against ``oxigraph serve``, in alternating rounds.

For working on the request path: no build, validation or dumps are timed (the store of an earlier
``python -m benchmarks`` run, or of ``--build``, is reused), and several versions of kgbuild can be
measured in the same run (``--variant NAME=PYTHONPATH``), each round starting every server afresh in
turn, so that a ratio compares figures taken minutes apart, not hours. Besides wrk's figures, the CPU
each server's main process spent per request is read from ``/proc`` (for kgbuild: the process that
speaks HTTP, without its query workers)::

    python -m benchmarks.endpoint_ab --work benchmarks/work/n1000 --build 1000 --rounds 2 \\
        --variant before=/tmp/before/src --variant after=src
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from benchmarks.endpoint import project_sample, queries_for, wait_for_dumps
from benchmarks.harness import VENV_BIN, Server, WrkResult, free_port, median, run_wrk, start_server
from benchmarks.harness import _cpu_seconds as _tree_cpu_seconds

# (query, concurrency, unique): the uncached lookup and aggregate of issue 23, and the cached lookup.
RUNS = (("lookup-varied", 16, True), ("lookup", 16, False), ("aggregate", 1, True), ("aggregate", 16, True))


@dataclass
class Measured:
    server: str
    query: str
    wrk: WrkResult
    cpu_ms: float  # CPU of the server's main process per request
    tree_cpu_ms: float  # CPU of the server and its child processes (query workers) per request


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _measure(server: Server, queries: dict[str, str | list[str]], seconds: int, runs: tuple[tuple[str, int, bool], ...],
             pid: int) -> list[Measured]:
    out = []
    for name, connections, unique in runs:
        run_wrk(server.endpoint, queries[name], min(connections, 2), 1, unique=unique)  # warm-up
        server.wait_idle()
        before, tree_before = _cpu_seconds(pid), _tree_cpu_seconds(pid)
        result = run_wrk(server.endpoint, queries[name], connections, seconds, unique=unique)
        cpu, tree = _cpu_seconds(pid) - before, _tree_cpu_seconds(pid) - tree_before
        requests = max(result.requests, 1)
        out.append(Measured(server.name, f"{name}, c={connections}", result, 1000 * cpu / requests,
                            1000 * tree / requests))
        server.wait_idle()
    return out


def _main_pid(server: Server) -> int:
    return server.process.pid


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.endpoint_ab", description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True, help="a size's work directory (kgstore, all.nq)")
    parser.add_argument("--build", type=int, metavar="DOCUMENTS",
                        help="generate a corpus of this size and build it into --work first, if not there yet")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=PYTHONPATH",
                        help="a version of kgbuild to serve (default: this checkout's src)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--only", nargs="*", help="query names to run (e.g. lookup-varied aggregate)")
    parser.add_argument("--query-workers", type=int, default=2)
    parser.add_argument("--dumps-wait", type=float, default=3600.0,
                        help="seconds to wait for kgbuild's dumps before measuring (steady state)")
    args = parser.parse_args(argv)
    store = args.work / "kgstore"
    if args.build and not (args.work / "all.nq").exists():
        from benchmarks.build import benchmark_build
        from benchmarks.corpus import generate

        benchmark_build(generate(args.build, args.work / "corpus", seed=1), args.work)
    variants = [v.split("=", 1) for v in args.variant] or [["kgbuild", str(Path(__file__).parent.parent / "src")]]
    runs = tuple(r for r in RUNS if not args.only or r[0] in args.only)
    oxi_store = args.work / "oxigraph-store"
    if not oxi_store.exists():
        subprocess.run([str(VENV_BIN / "oxigraph"), "load", "--location", str(oxi_store), "--file",
                        str(args.work / "all.nq")], check=True, capture_output=True, timeout=3600)
    sample = project_sample(store)
    queries = queries_for(sample[0], sample)
    results: list[list[Measured]] = []
    for round_number in range(args.rounds):
        measured: list[Measured] = []
        for name, path in variants:
            port = free_port()
            env = dict(os.environ, PYTHONPATH=f"{path}{os.pathsep}{Path(__file__).parent.parent}")
            command = [sys.executable, "-m", "kgbuild", "serve", "--store", str(store), "--port", str(port),
                       "--max-concurrent-per-client", "64", "--query-workers", str(args.query_workers)]
            with start_server(name, command, f"http://127.0.0.1:{port}/sparql", log=args.work / f"ab-{name}.log",
                              env=env) as server:
                wait_for_dumps(store, args.dumps_wait)
                server.wait_idle()
                measured += _measure(server, queries, args.seconds, runs, _main_pid(server))
        port = free_port()
        command = [str(VENV_BIN / "oxigraph"), "serve-read-only", "--location", str(oxi_store), "--bind",
                   f"127.0.0.1:{port}"]
        with start_server("oxigraph serve", command, f"http://127.0.0.1:{port}/query") as server:
            measured += _measure(server, queries, args.seconds, runs, server.process.pid)
        results.append(measured)
        _print(measured, f"round {round_number + 1}")
    if args.rounds > 1:
        _print_medians(results)
    return 0


def _print(measured: list[Measured], title: str) -> None:
    reference = {m.query: m for m in measured if m.server == "oxigraph serve"}
    print(f"\n## {title}\n\n| server | query | req/s | p50 ms | p99 ms | p99/p50 | errors | CPU ms/req (main) | "
          "CPU ms/req (all) | req/s ÷ oxigraph | p50 ÷ oxigraph |\n|---|---|---|---|---|---|---|---|---|---|---|")
    for m in measured:
        ref = reference.get(m.query)
        rate = m.wrk.requests_per_second / ref.wrk.requests_per_second if ref else 0
        p50 = m.wrk.p50_ms / ref.wrk.p50_ms if ref and ref.wrk.p50_ms else 0
        w = m.wrk
        print(f"| {m.server} | {m.query} | {w.requests_per_second:,.0f} | {w.p50_ms:.2f} | {w.p99_ms:.2f} | "
              f"{w.p99_ms / max(w.p50_ms, 0.001):.1f} | {w.non_2xx + w.errors} | {m.cpu_ms:.3f} | "
              f"{m.tree_cpu_ms:.3f} | {rate:.2f}× | {p50:.2f}× |", flush=True)


def _print_medians(results: list[list[Measured]]) -> None:
    print("\n## medians of the rounds' ratios\n\n| server | query | req/s ÷ oxigraph | p50 ÷ oxigraph | p99/p50 |"
          " CPU ms/req (main) | CPU ms/req (all) |\n|---|---|---|---|---|---|---|")
    keys = [(m.server, m.query) for m in results[0] if m.server != "oxigraph serve"]
    for server, query in keys:
        rates, p50s, tails, cpus, trees = [], [], [], [], []
        for measured in results:
            ref = next(m for m in measured if m.server == "oxigraph serve" and m.query == query)
            mine = next(m for m in measured if m.server == server and m.query == query)
            rates.append(mine.wrk.requests_per_second / ref.wrk.requests_per_second)
            p50s.append(mine.wrk.p50_ms / ref.wrk.p50_ms)
            tails.append(mine.wrk.p99_ms / max(mine.wrk.p50_ms, 0.001))
            cpus.append(mine.cpu_ms)
            trees.append(mine.tree_cpu_ms)
        print(f"| {server} | {query} | {median(rates):.2f}× | {median(p50s):.2f}× | {median(tails):.1f} | "
              f"{median(cpus):.3f} | {median(trees):.3f} |")


if __name__ == "__main__":
    sys.exit(main())
