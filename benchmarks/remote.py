"""Build into a remote store against building into the embedded store, on the same generated corpus.

Measures, for N documents of ``benchmarks/corpus.py``: ``kgbuild.pipeline.build`` into a fresh embedded
store (the bulk loader), into a fresh ``oxigraph serve`` over HTTP (one Graph Store PUT per graph, four
at a time), and the unchanged rebuild into that remote (which sends nothing). The remote and the build
share the machine's cores, as they would not in a deployment.

Usage::

    python -m benchmarks.remote --count 10000 [--seed 1] [--work /tmp/kgbuild-remote-bench]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx

from benchmarks.corpus import generate
from benchmarks.harness import free_port
from kgbuild.iris import Iris
from kgbuild.pipeline import build
from kgbuild.remote import Remote

OXIGRAPH = Path(sys.executable).parent / "oxigraph"


class Stages:
    """The build's progress callback, timing each stage (parse and map, validate, load)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._current = ""
        self._started = 0.0

    def __call__(self, stage: str, total: int) -> None:
        self.stop()
        self._current, self._started = stage, time.perf_counter()

    def stop(self) -> None:
        if self._current:
            self.seconds[self._current] = time.perf_counter() - self._started
            self._current = ""


def _timed(label: str, run):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = run()
    seconds = time.perf_counter() - started
    print(f"{label}: {seconds:.1f} s", flush=True)
    return result, seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.remote", description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, default=Path("/tmp/kgbuild-remote-bench"))
    args = parser.parse_args(argv)
    shutil.rmtree(args.work, ignore_errors=True)
    iris = Iris("http://127.0.0.1:8000/")
    sources, _ = _timed(f"generate {args.count} documents", lambda: generate(args.count, args.work / "corpus",
                                                                             args.seed))
    embedded_stages, remote_stages = Stages(), Stages()
    embedded, embedded_s = _timed("build into the embedded store",
                                  lambda: build(sources, args.work / "kgstore", iris, progress=embedded_stages))
    embedded_stages.stop()
    port = free_port()
    with (args.work / "oxigraph.log").open("wb") as log:
        server = subprocess.Popen([str(OXIGRAPH), "serve", "--location", str(args.work / "oxigraph"),
                                   "--bind", f"127.0.0.1:{port}", "--union-default-graph"], stdout=log,
                                  stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}/query"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url, params={"query": "ASK {}"}, timeout=2).is_success:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("oxigraph serve did not start")
            time.sleep(0.1)
        with Remote(url) as remote:
            remote_report, remote_s = _timed("build into oxigraph serve (Graph Store PUT per graph)",
                                             lambda: build(sources, remote, iris, progress=remote_stages))
            remote_stages.stop()
            requests = remote.requests
            rebuild, rebuild_s = _timed("unchanged rebuild into oxigraph serve", lambda: build(sources, remote, iris))
    finally:
        server.terminate()
        server.wait(timeout=30)
    documents = args.count
    print(f"\n| {documents:,} documents | seconds | documents/s |\n|---|---|---|")
    print(f"| embedded store (bulk load) | {embedded_s:.1f} | {documents / embedded_s:,.0f} |")
    print(f"| oxigraph serve over HTTP ({requests:,} requests) | {remote_s:.1f} | {documents / remote_s:,.0f} |")
    print(f"| unchanged rebuild into oxigraph serve | {rebuild_s:.1f} | {documents / rebuild_s:,.0f} |")
    print(f"\nstages, embedded: {_stages(embedded_stages)}; remote: {_stages(remote_stages)}")
    load = remote_stages.seconds.get("load", 0.0)
    if load:
        print(f"load stage into oxigraph serve: {requests / load:,.0f} requests/s, {documents / load:,.0f} docs/s; "
              f"embedded bulk load {documents / max(embedded_stages.seconds.get('load', 0.0), 1e-9):,.0f} documents/s")
    print(f"\nremote/embedded: {remote_s / embedded_s:.2f}x; loaded {len(remote_report.replaced)} sources, "
          f"{len(embedded.replaced)} embedded, {len(rebuild.replaced)} on rebuild")
    return 0


def _stages(stages: Stages) -> str:
    return ", ".join(f"{name} {seconds:.1f} s" for name, seconds in stages.seconds.items())


if __name__ == "__main__":
    sys.exit(main())
