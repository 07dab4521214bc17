"""Benchmark results as Markdown tables (and PNG curves), ratios first."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.build import BuildResult, DumpResult, ParseTiming, ValidationResult
from benchmarks.endpoint import ServerResult
from benchmarks.inputs import InputTiming

__all__ = ["Run", "write_report", "render"]


@dataclass
class Run:
    size: int
    build: BuildResult
    validation: ValidationResult
    dumps: list[DumpResult]
    servers: list[ServerResult]
    latency: dict[str, dict[int, tuple[float, float]]] = field(default_factory=dict)
    parse: ParseTiming | None = None
    inputs: InputTiming | None = None


def _f(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def render(runs: list[Run], machine: str) -> str:
    lines = [f"# Benchmark results\n\n{machine}. Every ratio compares two figures measured in the same run on "
             "the same data.\n", "## Build (parse, map, validate, load) against pyoxigraph's bulk loader\n",
             "| documents | quads | build s | docs/s | quads/s | bulk load s | build / bulk load | peak MB |"
             " failures | violations | warnings |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for run in runs:
        b = run.build
        lines.append(f"| {b.documents:,} | {b.quads:,} | {_f(b.build_seconds)} | {_f(b.documents / b.build_seconds, 0)}"
                     f" | {_f(b.quads / b.build_seconds, 0)} | {_f(b.bulk_load_seconds)} | **{_f(b.ratio)}×** |"
                     f" {_f(b.peak_mb, 0)} | {b.failures} | {b.violations} | {b.warnings} |")
    # Linear reading keeps the median per document as the corpus grows: each size against the smallest.
    timed = [run.parse for run in runs if run.parse is not None]
    lines += ["", "## Reading (decoding and extraction), CPU per document\n",
              "| documents | records | median ms | mean ms | p90 ms | median ÷ smallest corpus's |",
              "|---|---|---|---|---|---|"]
    for p in timed:
        linear = p.median_ms / timed[0].median_ms if timed[0].median_ms else None
        lines.append(f"| {p.documents:,} | {p.records:,} | {_f(p.median_ms)} | {_f(p.mean_ms)} | {_f(p.p90_ms)} |"
                     f" {_f(linear)}× |")
    if any(run.inputs is not None for run in runs):
        lines += ["", "## Reading inputs as published: the same texts as HTML pages and DOCX, CPU per document\n",
                  "| documents | kind | median ms | p90 ms | against the .txt | records equal to the .txt's |",
                  "|---|---|---|---|---|---|"]
        for run in runs:
            if run.inputs is not None:
                i = run.inputs
                for kind in i.median_ms:
                    lines.append(f"| {i.documents:,} | {kind} | {_f(i.median_ms[kind])} | {_f(i.p90_ms[kind])} | "
                                 f"**{_f(i.ratio(kind))}×** | {i.same_records[kind]:,} |")
    lines += ["", "## Validation against pyshacl on the whole graph\n",
              "| documents | ours s | pyshacl s | speed-up | same findings | findings |", "|---|---|---|---|---|---|"]
    for run in runs:
        v = run.validation
        same = "–" if v.identical is None else ("yes" if v.identical else "**no**")
        lines.append(f"| {v.documents:,} | {_f(v.ours_seconds)} | {_f(v.pyshacl_seconds)} | "
                     f"{_f(v.speedup) + '×' if v.speedup else '–'} | {same} | {v.findings} |"
                     + (f" {v.note}" if v.note else ""))
    lines += ["", "## Dumps against Store.dump\n", "| documents | format | ours s | peer | peer s | ours / peer |",
              "|---|---|---|---|---|---|"]
    for run in runs:
        for d in run.dumps:
            lines.append(f"| {run.size:,} | {d.format} | {_f(d.ours_seconds)} | {d.peer} | {_f(d.peer_seconds)} | "
                         f"{_f(d.ratio)}× |")
    if any(run.servers for run in runs):
        lines += ["", "## Endpoints under wrk (GET, JSON results)\n",
                  "| documents | server | query | req/s | p50 ms | p99 ms | p99/p50 | errors | vs oxigraph req/s |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for run in runs:
            reference = {q: r.requests_per_second for s in run.servers if s.name == "oxigraph serve"
                         for q, r in s.runs.items()}
            for server in run.servers:
                if server.error:
                    lines.append(f"| {run.size:,} | {server.name} | – | – | – | – | – | {server.error} | – |")
                for query, r in server.runs.items():
                    ratio = r.requests_per_second / reference[query] if reference.get(query) else None
                    lines.append(f"| {run.size:,} | {server.name} | {query} | {_f(r.requests_per_second, 0)} | "
                                 f"{_f(r.p50_ms, 1)} | {_f(r.p99_ms, 1)} | {_f(r.p99_ms / max(r.p50_ms, 0.001), 1)} | "
                                 f"{r.non_2xx + r.errors} | {_f(ratio) + '×' if ratio else '–'} |")
        lines += ["", "| documents | server | start s | peak MB | RSS at start MB | RSS at end MB |",
                  "|---|---|---|---|---|---|"]
        for run in runs:
            for s in run.servers:
                lines.append(f"| {run.size:,} | {s.name} | {_f(s.start_seconds)} | {_f(s.peak_mb, 0)} | "
                             f"{_f(s.rss_start_mb, 0)} | {_f(s.rss_end_mb, 0)} |")
    for run in runs:
        if run.latency:
            lines += ["", f"## Lookup latency against concurrency ({run.size:,} documents)\n",
                      "| server | concurrency | p50 ms | p99 ms |", "|---|---|---|---|"]
            for server, curve in run.latency.items():
                for concurrency, (p50, p99) in sorted(curve.items()):
                    lines.append(f"| {server} | {concurrency} | {_f(p50, 1)} | {_f(p99, 1)} |")
    return "\n".join(lines) + "\n"


def write_report(runs: list[Run], out: Path, machine: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.md").write_text(render(runs, machine), encoding="utf-8")
    _plots(runs, out)


def _plots(runs: list[Run], out: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # the bench extra is not installed: tables only
        return
    sizes = [r.size for r in runs]
    figure, (time_axis, memory_axis) = plt.subplots(1, 2, figsize=(10, 4))
    time_axis.plot(sizes, [r.build.build_seconds for r in runs], "o-", label="kgbuild build")
    time_axis.plot(sizes, [r.build.bulk_load_seconds for r in runs], "s--", label="bulk load only")
    time_axis.set(xscale="log", yscale="log", xlabel="documents", ylabel="seconds", title="Build time")
    time_axis.legend()
    memory_axis.plot(sizes, [r.build.peak_mb for r in runs], "o-")
    memory_axis.set(xscale="log", xlabel="documents", ylabel="peak MB", title="Build memory")
    figure.tight_layout()
    figure.savefig(out / "build.png", dpi=100)
    plt.close(figure)
    for run in runs:
        if not run.latency:
            continue
        figure, axis = plt.subplots(figsize=(6, 4))
        for server, curve in run.latency.items():
            levels = sorted(curve)
            axis.plot(levels, [curve[c][0] for c in levels], "o-", label=f"{server} p50")
            axis.plot(levels, [curve[c][1] for c in levels], "x--", label=f"{server} p99")
        axis.set(xscale="log", yscale="log", xlabel="concurrent connections", ylabel="ms",
                 title=f"Lookup latency, {run.size:,} documents")
        axis.legend()
        figure.tight_layout()
        figure.savefig(out / "latency.png", dpi=100)
        plt.close(figure)
