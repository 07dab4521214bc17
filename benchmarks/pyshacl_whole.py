"""pyshacl on the whole graph, at sizes where one ``pyshacl.validate`` call outlasts a working session.

Usage::

    python -m benchmarks.pyshacl_whole --size 100000      # resumes where an earlier run stopped

pyshacl validates each target shape over the whole data graph in turn. This runs the same work as
jobs, each one shape over the whole graph (``use_shapes``), or, for a shape with many focus nodes, one
part of them (``focus_nodes``), and writes each job's time and findings to a checkpoint as it ends. So
the run survives a stop, and two processes (one forked from the other after the graph is parsed, so
the graph is held once) share the jobs. The union of the jobs' findings must equal kgbuild's.

pyshacl's time is the graph's parse plus the sum of the jobs' times: the time one process would take.
It runs with ``inplace=True``: the data graph is not copied first (with ``advanced=True`` it would
be, for rules the shapes do not have), which spares pyshacl time and the memory of a second graph.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rdflib import Graph

HERE = Path(__file__).parent
PART_SIZE = 5000  # focus nodes per job: a job at 100k takes minutes, so a stop loses little
MEMORY_FLOOR_KB = 1_500_000  # below this much available memory, the forked helper is stopped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.pyshacl_whole", description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, required=True, help="corpus size, as python -m benchmarks made it")
    parser.add_argument("--processes", type=int, choices=(1, 2), default=2, help="processes sharing the jobs")
    parser.add_argument("--work", type=Path, default=HERE / "work", help="where the corpus is, and the checkpoint goes")
    parser.add_argument("--out", type=Path, default=HERE / "results", help="where the result is written")
    parser.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)  # the child that prepares
    args = parser.parse_args(argv)
    work = args.work / f"n{args.size}" / "pyshacl"
    if args.prepare:
        prepare(args.work / f"n{args.size}" / "corpus", work)
        return 0
    if not (work / "ours.json").exists():
        # In its own process: the mapped sources it holds are freed before the graph is parsed.
        subprocess.run([sys.executable, "-m", "benchmarks.pyshacl_whole", "--size", str(args.size),
                        "--work", str(args.work), "--prepare"], check=True)
    validate(work, args.processes)
    return report(work, args.size, args.out)


def prepare(corpus: Path, work: Path) -> None:
    """kgbuild's validation of every source (timed, as the build runs it), and the whole graph for pyshacl."""
    from benchmarks.build import own_subjects, validate_as_built, whole_graph_ntriples

    sources = sorted(corpus.glob("*.txt"))
    if not sources:
        raise SystemExit(f"{corpus}: no corpus; run python -m benchmarks --sizes N first")
    work.mkdir(parents=True, exist_ok=True)
    ours, seconds, mapped, reference = validate_as_built(sources)
    (work / "data.nt").write_bytes(whole_graph_ntriples(mapped, reference))
    (work / "own.txt").write_text("\n".join(sorted(own_subjects(mapped))), encoding="utf-8")
    findings = sorted([f.focus_node, f.path, f.severity.value] for f in ours.findings)
    _write_json(work / "ours.json", {"documents": len(sources), "seconds": seconds, "findings": findings})


def validate(work: Path, processes: int) -> None:
    """Parse the graph, then run the jobs not yet in the checkpoint, in one process or two."""
    import pyshacl  # noqa: F401  (imported before the fork, once)
    from rdflib import Graph

    from kgbuild.validation import load_shapes

    done = _finished_jobs(work)
    if (work / "jobs.json").exists() and _job_names(work) <= done.keys():
        return  # every job has run: nothing to parse the graph for
    shapes = load_shapes()
    started = time.perf_counter()
    graph = Graph()
    graph.parse(work / "data.nt", format="nt")
    parse_seconds = time.perf_counter() - started
    if not (work / "parse.json").exists():
        _write_json(work / "parse.json", {"seconds": parse_seconds, "triples": len(graph)})
    jobs = _jobs(graph, shapes)
    _write_json(work / "jobs.json", [name for name, _, _ in jobs])
    jobs = [job for job in jobs if job[0] not in done]
    print(f"{len(graph):,} triples parsed in {parse_seconds:.0f} s; {len(jobs)} jobs to run", file=sys.stderr)
    own = set((work / "own.txt").read_text(encoding="utf-8").splitlines())
    gc.freeze()  # the collector would otherwise write to every object and unshare the forked pages
    if processes == 1 or len(jobs) < 2:
        _run_jobs(graph, shapes, jobs, own, work / "checkpoint-0.jsonl")
        return
    helper = os.fork()
    if helper == 0:
        try:
            _run_jobs(graph, shapes, jobs[1::2], own, work / "checkpoint-1.jsonl")
        finally:
            os._exit(0)
    helper_ended = threading.Event()
    threading.Thread(target=_stop_on_low_memory, args=(helper, helper_ended), daemon=True).start()
    _run_jobs(graph, shapes, jobs[0::2], own, work / "checkpoint-0.jsonl")
    os.waitpid(helper, 0)
    helper_ended.set()


def _jobs(graph: Graph, shapes: Graph) -> list[tuple[str, str, list[str] | None]]:
    """(job name, shape, focus nodes or None for the shape's own targets), in a fixed order."""
    from pyshacl.shapes_graph import ShapesGraph
    from rdflib import URIRef
    from rdflib.namespace import SH

    declared = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf)
    names = sorted({str(s) for p in declared for s in shapes.subjects(p, None)})
    by_name = {str(shape.node): shape for shape in ShapesGraph(shapes).shapes}
    jobs: list[tuple[str, str, list[str] | None]] = []
    for name in names:
        shape = by_name[name]
        shape.set_advanced(True)
        focus = shape.focus_nodes(graph)
        if len(focus) <= PART_SIZE or not all(isinstance(node, URIRef) for node in focus):
            jobs.append((name, name, None))
            continue
        ordered = sorted(str(node) for node in focus)
        count = -(-len(ordered) // PART_SIZE)
        for index in range(count):
            jobs.append((f"{name} {index + 1}/{count}", name, ordered[index * PART_SIZE:(index + 1) * PART_SIZE]))
    return jobs


def _run_jobs(graph: Graph, shapes: Graph, jobs: list[tuple[str, str, list[str] | None]], own: set[str],
              checkpoint: Path) -> None:
    import pyshacl

    from benchmarks.build import pyshacl_findings

    for name, shape, focus in jobs:
        started = time.perf_counter()
        _, results, _ = pyshacl.validate(graph, shacl_graph=shapes, inference="none", advanced=True,
                                         allow_warnings=True, inplace=True, use_shapes=[shape], focus_nodes=focus)
        seconds = time.perf_counter() - started
        findings = sorted(list(f) for f in pyshacl_findings(results, own))
        with checkpoint.open("a", encoding="utf-8") as out:
            out.write(json.dumps({"job": name, "seconds": seconds, "findings": findings}) + "\n")
        print(f"{_now()} {seconds:8.1f} s {len(findings):6d} findings  {name}", file=sys.stderr, flush=True)


def _stop_on_low_memory(helper: int, helper_ended: threading.Event) -> None:
    """The helper's copied pages could exhaust memory: stop it (its finished jobs are kept) before that."""
    while not helper_ended.wait(5):
        if _available_kb() < MEMORY_FLOOR_KB:
            os.kill(helper, signal.SIGKILL)  # not reaped here: the main thread waits for it
            print(f"{_now()} memory low: the helper process is stopped; its unfinished jobs wait for a rerun",
                  file=sys.stderr, flush=True)
            return


def report(work: Path, size: int, out: Path) -> int:
    """Write the result if every job has run; otherwise say how far the run got."""
    ours = json.loads((work / "ours.json").read_text(encoding="utf-8"))
    parse = json.loads((work / "parse.json").read_text(encoding="utf-8"))
    done = _finished_jobs(work)
    pyshacl_seconds = parse["seconds"] + sum(job["seconds"] for job in done.values())
    missing = _job_names(work) - done.keys()
    if missing:
        print(f"{len(done)} jobs done, {len(missing)} to go, {pyshacl_seconds:.0f} s of pyshacl so far; "
              "run again to go on",
              file=sys.stderr)
        return 1
    theirs = {tuple(f) for job in done.values() for f in job["findings"]}
    mine = {tuple(f) for f in ours["findings"]}
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=HERE).stdout.strip()
    path = out / f"validation-{size}-{commit}.md"
    path.write_text(
        f"# Validation against pyshacl at {size:,} documents\n\n"
        f"Written {_now()}, commit {commit}, {os.cpu_count()} cores: `python -m benchmarks.pyshacl_whole "
        f"--size {size}` on the corpus of `python -m benchmarks --sizes {size}`. pyshacl's time is the parse of "
        f"the whole graph ({parse['triples']:,} triples, {parse['seconds']:.0f} s) plus {len(done)} jobs, "
        "each a shape (or part of its focus nodes) over the whole graph (the same parsed "
        "graph for every job), with `inplace=True` (the data graph not copied first). The findings are compared as "
        f"(focus node, path, severity): {len(mine):,} distinct ones.\n\n"
        "| documents | ours s | pyshacl s | speed-up | same findings | findings |\n"
        "|---|---|---|---|---|---|\n"
        f"| {size:,} | {ours['seconds']:.2f} | {pyshacl_seconds:.2f} | {pyshacl_seconds / ours['seconds']:.1f}× | "
        f"{'yes' if mine == theirs else 'NO'} | {len(ours['findings'])} |\n", encoding="utf-8")
    print(path.read_text(encoding="utf-8"))
    return 0 if mine == theirs else 1


def _finished_jobs(work: Path) -> dict[str, dict]:  # type: ignore[type-arg]
    done = {}
    for checkpoint in sorted(work.glob("checkpoint-*.jsonl")):
        for line in checkpoint.read_text(encoding="utf-8").splitlines():
            if line.strip():
                job = json.loads(line)
                done[job["job"]] = job
    return done


def _job_names(work: Path) -> set[str]:
    return set(json.loads((work / "jobs.json").read_text(encoding="utf-8")))


def _write_json(path: Path, value: object) -> None:
    path.write_text(json.dumps(value), encoding="utf-8")


def _available_kb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1])
    return sys.maxsize


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


if __name__ == "__main__":
    sys.exit(main())
