"""Build, validation and dump benchmarks, each against its peer measured in the same run.

- build: ``kgbuild.pipeline.build`` of N generated documents into a fresh store, against pyoxigraph's
  bulk loader loading the same quads (an N-Quads file of what the build stored) into a fresh store;
- validation: kgbuild's validation of all sources against pyshacl validating the whole graph at once
  (data + the reference facts it links to), with the findings compared;
- dumps: ``kgbuild export`` per format against pyoxigraph's ``Store.dump``.
"""

from __future__ import annotations

import gc
import shutil
import time
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyoxigraph import DefaultGraph, RdfFormat, Store

from benchmarks.harness import median

__all__ = ["BuildResult", "ValidationResult", "DumpResult", "benchmark_build", "benchmark_validation",
           "benchmark_dumps"]


@dataclass
class BuildResult:
    documents: int
    quads: int
    build_seconds: float
    bulk_load_seconds: float
    peak_mb: float
    failures: int
    violations: int
    warnings: int

    @property
    def ratio(self) -> float:
        return self.build_seconds / self.bulk_load_seconds


@dataclass
class ParseTiming:
    """CPU time of reading one document (decoding and extraction), over a corpus: the target is absolute
    (1 ms a document), and CPU time is what another process on the machine does not change."""

    documents: int
    median_ms: float
    p90_ms: float
    records: int
    mean_ms: float = 0.0


def benchmark_parse(sources: list[Path]) -> ParseTiming:
    """Read every source as ``kgbuild parse`` does, timing each one's CPU."""
    import statistics

    from kgbuild.parsers import parse_bytes

    texts = [(path.read_bytes(), path.name) for path in sources]
    parse_bytes(*texts[0])  # the lexicon is compiled once per process, not per document
    times, records = [], 0
    for data, name in texts:
        started = time.process_time()
        records += len(parse_bytes(data, name).records)
        times.append(time.process_time() - started)
    times.sort()
    return ParseTiming(len(times), statistics.median(times) * 1000, times[int(len(times) * 0.9)] * 1000, records,
                       statistics.mean(times) * 1000)


@dataclass
class ValidationResult:
    documents: int
    ours_seconds: float
    pyshacl_seconds: float | None
    identical: bool | None
    findings: int
    note: str = ""

    @property
    def speedup(self) -> float | None:
        return self.pyshacl_seconds / self.ours_seconds if self.pyshacl_seconds else None


@dataclass
class DumpResult:
    format: str
    ours_seconds: float
    peer_seconds: float
    peer: str

    @property
    def ratio(self) -> float:
        return self.ours_seconds / self.peer_seconds


@dataclass
class BuildArtifacts:
    store: Path
    nquads: Path  # every public quad, for the peers
    ntriples: Path
    project_iri: str
    results: list[object] = field(default_factory=list)


def _peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def benchmark_build(sources: list[Path], work: Path) -> tuple[BuildResult, BuildArtifacts]:
    """Build ``sources`` into a fresh store, then bulk-load the same quads into another fresh store."""
    from kgbuild.export import write_export
    from kgbuild.iris import Iris
    from kgbuild.pipeline import build
    from kgbuild.store import open_read_only

    iris = Iris("http://127.0.0.1:8000/")
    store_dir = work / "kgstore"
    shutil.rmtree(store_dir, ignore_errors=True)
    gc.collect()
    started = time.perf_counter()
    report = build(sources, store_dir, iris)
    build_seconds = time.perf_counter() - started
    store = open_read_only(store_dir)
    nquads = work / "all.nq"
    ntriples = work / "all.nt"
    # The peer loads the public store as built. The build also writes the personal-data store beside it
    # (a few contact quads per source), which the peer does not load: the ratio slightly favours the peer.
    store.dump(str(nquads), format=RdfFormat.N_QUADS)
    write_export(store, iris, "ntriples", ntriples)
    quads = len(store)
    project = next(iter(store.query("SELECT ?p { GRAPH ?g { ?p a <https://w3id.org/kgbuild/ontology#Project> } } "
                                    "LIMIT 1")))[0].value
    del store
    peer_dir = work / "bulk-load-store"
    samples = []
    for _ in range(2):
        shutil.rmtree(peer_dir, ignore_errors=True)
        started = time.perf_counter()
        peer = Store(str(peer_dir))
        peer.bulk_load(path=str(nquads), format=RdfFormat.N_QUADS)
        peer.flush()
        samples.append(time.perf_counter() - started)
        del peer
    shutil.rmtree(peer_dir, ignore_errors=True)
    result = BuildResult(len(sources), quads, build_seconds, median(samples), _peak_rss_mb(), len(report.failures),
                         len(report.validation.violations), len(report.validation.warnings))
    return result, BuildArtifacts(store_dir, nquads, ntriples, project)


def benchmark_validation(sources: list[Path], run_pyshacl: bool) -> ValidationResult:
    """Validate every source the way the build does, and (if asked) pyshacl on the whole graph at once."""
    ours, ours_seconds, mapped, reference = validate_as_built(sources)
    if not run_pyshacl:
        return ValidationResult(len(sources), ours_seconds, None, None, len(ours.findings),
                                "pyshacl not run at this size (--pyshacl-max)")
    pyshacl_seconds, same = _pyshacl_whole_graph(mapped, reference, ours)
    return ValidationResult(len(sources), ours_seconds, pyshacl_seconds, same, len(ours.findings))


def validate_as_built(sources: list[Path]) -> tuple[Any, float, list, list]:  # type: ignore[type-arg]
    """kgbuild's validation of every source as the build runs it (timed), the mapped sources and the
    reference quads: (report, seconds, mapped, reference)."""
    from kgbuild.iris import Iris
    from kgbuild.prepare import map_sources, prepare_sources, static_graphs
    from kgbuild.sources import read_sources
    from kgbuild.validate_stage import validate_prepared

    iris = Iris("http://127.0.0.1:8000/")
    prepared, _, _ = prepare_sources(sources, iris)
    reference = static_graphs(iris)[iris.reference_graph].quads
    started = time.perf_counter()
    ours = validate_prepared(prepared, reference)  # what the build runs
    seconds = time.perf_counter() - started
    del prepared  # freed before the sources are mapped again, which holds as much once more
    mapped = map_sources(read_sources(sources)[0], iris)
    return ours, seconds, mapped, reference


def _pyshacl_whole_graph(mapped: list, reference: list, ours: object) -> tuple[float, bool]:  # type: ignore[type-arg]
    """pyshacl on the union of every source graph and the reference data, parsed from N-Triples."""
    import pyshacl
    from rdflib import Graph

    from kgbuild.validation import load_shapes

    data = whole_graph_ntriples(mapped, reference)
    shapes = load_shapes()
    started = time.perf_counter()
    graph = Graph()
    graph.parse(data=data, format="nt")
    _, results, _ = pyshacl.validate(graph, shacl_graph=shapes, inference="none", advanced=True, allow_warnings=True)
    seconds = time.perf_counter() - started
    mine = {(f.focus_node, f.path, f.severity.value) for f in ours.findings}  # type: ignore[attr-defined]
    return seconds, mine == pyshacl_findings(results, own_subjects(mapped))


def whole_graph_ntriples(mapped: list, reference: list) -> bytes:  # type: ignore[type-arg]
    """Every source graph and the reference data as one N-Triples document: the graph pyshacl validates."""
    from pyoxigraph import RdfFormat as Format
    from pyoxigraph import Triple, serialize

    triples = [Triple(q.subject, q.predicate, q.object) for m in mapped for q in m.quads]
    triples += [Triple(q.subject, q.predicate, q.object) for q in reference]
    return serialize(triples, format=Format.N_TRIPLES) or b""


def own_subjects(mapped: list) -> set[str]:  # type: ignore[type-arg]
    """The subjects the sources' own graphs describe: pyshacl's findings about reference data are not ours."""
    return {q.subject.value for m in mapped for q in m.quads}


def pyshacl_findings(results: object, own: set[str]) -> set[tuple[str, str, str]]:
    """(focus node, path, severity) of each pyshacl result about the sources' own nodes, as kgbuild reports them."""
    from rdflib.namespace import SH

    value = results.value  # type: ignore[attr-defined]
    return {(str(value(r, SH.focusNode)), str(value(r, SH.resultPath) or ""),
             str(value(r, SH.resultSeverity)).rsplit("#", 1)[-1])
            for r in results.subjects(predicate=SH.resultSeverity)  # type: ignore[attr-defined]
            if str(value(r, SH.focusNode)) in own}


def benchmark_dumps(store_dir: Path, work: Path) -> list[DumpResult]:
    """``write_export`` per format against ``Store.dump`` of the same store to the same format."""
    from kgbuild.export import EXPORT_FORMATS, write_export
    from kgbuild.iris import Iris
    from kgbuild.store import open_read_only

    iris = Iris("http://127.0.0.1:8000/")
    store = open_read_only(store_dir)
    warm_up = work / "warm-up.nq"  # the store read once: the first format timed pays no cold reads
    store.dump(str(warm_up), format=RdfFormat.N_QUADS)
    warm_up.unlink()
    results = []
    for name, fmt in EXPORT_FORMATS.items():
        ours_path, peer_path = work / f"ours.{fmt.extension}", work / f"peer.{fmt.extension}"
        started = time.perf_counter()
        write_export(store, iris, name, ours_path)
        ours = time.perf_counter() - started
        # A triple format holds the default graph, which is the merge of the graphs (kgbuild.merge): the
        # peer dumps that graph to the same format.
        graph = {} if fmt.keeps_graphs else {"from_graph": DefaultGraph()}
        peer_name = f"Store.dump({fmt.rdf_format.name}{'' if fmt.keeps_graphs else ', default graph'})"
        started = time.perf_counter()
        store.dump(str(peer_path), format=fmt.rdf_format, **graph)
        peer = time.perf_counter() - started
        results.append(DumpResult(name, ours, peer, peer_name))
        ours_path.unlink(missing_ok=True)
        peer_path.unlink(missing_ok=True)
    return results


def memory_snapshot() -> float:
    """Current traced Python memory in MB (when tracemalloc is on)."""
    return tracemalloc.get_traced_memory()[0] / 1e6 if tracemalloc.is_tracing() else 0.0
