"""The distributed build against the local one: documents per second on a Dask cluster of 1 and 2 workers.

Each run is ``kgbuild.pipeline.build`` of the same generated corpus into a fresh store: with the local
process pool (one process per core), and on a Dask ``LocalCluster`` of one and of two single-threaded
worker processes (both started before the clock starts, as a cluster would be). The configurations
take turns, run after run, so that a busy spell on a shared machine does not land on one of them only.
The stores are compared (quad count, report) so a figure never comes from a build that did something
else. Stage times come from the build's progress callback: parse and map, validate, load; loading is
the same code on this machine whatever the executor, so "distributable" is parse, map and validate.

Usage::

    python -m benchmarks.distributed --documents 10000 [--runs 1] [--work DIR]

Results are printed and written to ``benchmarks/results/distributed.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.corpus import generate
from benchmarks.harness import cpu_count, median

HERE = Path(__file__).parent
STAGES = ("parse and map", "validate", "load")


@dataclass
class Run:
    name: str
    seconds: list[float] = field(default_factory=list)
    stages: dict[str, list[float]] = field(default_factory=dict)
    quads: int = 0
    outcome: tuple[object, ...] = ()

    def docs_per_second(self, documents: int) -> float:
        return documents / median(self.seconds)

    def stage(self, name: str) -> float:
        return median(self.stages.get(name, [0.0]))

    def distributable(self) -> float:
        """Median over runs of parse, map and validate (what the executor runs)."""
        per_run = [sum(self.stages[s][i] for s in STAGES[:2]) for i in range(len(self.seconds))]
        return median(per_run)


def _corpus(documents: int, work: Path) -> list[Path]:
    directory = work / f"corpus-{documents}"
    marker = directory / ".complete"
    if not marker.exists():
        shutil.rmtree(directory, ignore_errors=True)
        generate(documents, directory)
        marker.touch()
    return sorted(directory.glob("*.txt"))


def _build_once(run: Run, sources: list[Path], store: Path, executor: str) -> None:
    from kgbuild.iris import Iris
    from kgbuild.pipeline import build

    shutil.rmtree(store, ignore_errors=True)
    marks: list[tuple[str, float]] = []
    start = time.perf_counter()
    report = build(sources, store, Iris("http://127.0.0.1:8000/"), executor=executor,
                   progress=lambda stage, _: marks.append((stage, time.perf_counter())),
                   now=dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
    end = time.perf_counter()
    run.seconds.append(end - start)
    bounds = [*marks, ("end", end)]
    for i, (stage, at) in enumerate(marks):
        run.stages.setdefault(stage, []).append(bounds[i + 1][1] - at)
    run.quads = report.quads
    run.outcome = (report.quads, len(report.replaced), report.failures, report.warnings, report.validation.findings)
    shutil.rmtree(store, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.distributed", description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=10000, help="corpus size (generated, seeded)")
    parser.add_argument("--runs", type=int, default=1, help="builds per configuration (the median is reported)")
    parser.add_argument("--work", type=Path, default=HERE / "work", help="scratch directory (git-ignored)")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "distributed.md", help="Markdown report")
    args = parser.parse_args(argv)

    args.work.mkdir(parents=True, exist_ok=True)
    sources = _corpus(args.documents, args.work)
    store = args.work / "distributed-store"
    runs = [Run("local process pool"), Run("Dask, 1 worker"), Run("Dask, 2 workers")]
    from distributed import LocalCluster

    clusters = [LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0",
                             host="127.0.0.1") for n in (1, 2)]
    try:
        specs = ["local"] + ["dask://" + c.scheduler_address.removeprefix("tcp://") for c in clusters]
        for _ in range(args.runs):
            for run, spec in zip(runs, specs, strict=True):
                _build_once(run, sources, store, spec)
    finally:
        for cluster in clusters:
            cluster.close()
    same = all(r.outcome == runs[0].outcome for r in runs)

    n = args.documents
    local, one, two = (r.docs_per_second(n) for r in runs)
    lines = [
        "# Distributed build",
        "",
        f"{dt.date.today().isoformat()}; {n:,} generated documents, {runs[0].quads:,} quads; "
        f"{cpu_count()} cores ({platform.machine()}, Python {platform.python_version()}), shared with other "
        "work; workers are single-threaded processes of a Dask `LocalCluster` on the same machine; median of "
        f"{args.runs} build(s) per row (taking turns), each into a fresh store. Same store and report in every row: "
        f"{'yes' if same else 'NO'}.",
        "",
        "| executor | build | documents/s | " + " | ".join(STAGES) + " | parse, map, validate | documents/s |",
        "|---|---|---|" + "---|" * len(STAGES) + "---|---|",
    ]
    for run in runs:
        stages = " | ".join(f"{run.stage(s):.1f} s" for s in STAGES)
        lines.append(f"| {run.name} | {median(run.seconds):.1f} s | {run.docs_per_second(n):.0f} | {stages} | "
                     f"{run.distributable():.1f} s | {n / run.distributable():.0f} |")
    d_local, d_one, d_two = (n / r.distributable() for r in runs)
    lines += [
        "",
        "| ratio of documents/s | whole build | parse, map, validate |",
        "|---|---|---|",
        f"| Dask 2 workers / Dask 1 worker | **{two / one:.2f}×** | **{d_two / d_one:.2f}×** |",
        f"| Dask 2 workers / local process pool | {two / local:.2f}× | {d_two / d_local:.2f}× |",
        f"| Dask 1 worker / local process pool | {one / local:.2f}× | {d_one / d_local:.2f}× |",
        "",
        "Build times per run (s): " + "; ".join(f"{r.name} " + ", ".join(f"{t:.1f}" for t in r.seconds)
                                              for r in runs) + ".",
        "",
        "Command: `python -m benchmarks.distributed --documents " + f"{n}" + "`.",
    ]
    text = "\n".join(lines) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    sys.stdout.write(text)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
