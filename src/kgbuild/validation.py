"""Validation, the stage: each source's quads + the SHACL shapes → a typed :class:`ValidationReport`.

Input: sources as :class:`SourceGraph` (a named graph's N-Quads and the file name findings carry) and
the reference data they point to. Output: findings with a :class:`Severity`, the focus node, the path,
the message and the source file the node came from, sorted by :func:`finding_order`. Each source is
validated on its own, together with just the reference facts it links to (its municipalities, their
counties, their NUTS regions): that is what makes validation cheap to run per source, in parallel, and
only for what changed. Real-data findings (a national project, a municipality outside the declared
region, ...) are warnings; only violations block publishing.

**One engine, one entry point.** :func:`validate` is what ``kgbuild build`` (through
:mod:`kgbuild.validate_stage`) and ``kgbuild validate`` run: the shapes compiled to SPARQL
(:mod:`kgbuild.shacl_sparql`), run by Oxigraph on batches of sources wherever an
:class:`~kgbuild.executors.Executor` runs them (inline, a local process pool, a Dask cluster). The
report types (:mod:`kgbuild.report`) and the engine import no rdflib.

**pyshacl is the test oracle.** :func:`validate_quads` validates one source with pyshacl; the tests
compare the engine's findings with its findings, finding for finding (``tests/test_shacl_sparql.py``).
It is the only code that imports rdflib and pyshacl, and imports them when called, not with this module.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from pyoxigraph import NamedNode, Quad, RdfFormat, Store, Triple, serialize

from kgbuild.executors import Executor, LocalExecutor
from kgbuild.report import Finding, Severity, ValidationReport, finding_order
from kgbuild.resources import shapes_path
from kgbuild.shacl_sparql import REFERENCE_GRAPH, ReferenceIndex, compile_shapes
from kgbuild.store import open_in_memory

if TYPE_CHECKING:
    from rdflib import Graph

__all__ = ["Severity", "Finding", "ValidationReport", "finding_order", "SourceGraph", "BATCH", "validate",
           "validate_batch", "validate_graphs", "reference_nquads", "ReferenceIndex", "validate_quads",
           "load_shapes"]

# Sources validated together in one in-memory store: validating a batch costs more than linearly in its size.
# 3,000 generated sources took 14.0 s in one store and 7.6 s in batches of 256 (64: 11.0 s, 1,024: 10.0 s).
BATCH = 256


class SourceGraph(NamedTuple):
    """One source to validate: its named graph's IRI, the file name its findings carry, and its quads as
    N-Quads (every quad in that graph). Bytes, not quads: a batch travels to a worker process or machine."""

    graph: str
    name: str
    nquads: bytes


def validate(sources: Sequence[SourceGraph], reference: Sequence[Quad], executor: Executor | None = None,
             workers: int | None = None) -> ValidationReport:
    """Validate sources, each with the reference facts it links to, many sources per query.

    The shapes are compiled to SPARQL and run by Oxigraph over a batch of sources at once
    (:mod:`kgbuild.shacl_sparql`): the same findings as pyshacl on each source graph, which
    ``tests/test_shacl_sparql.py`` checks constraint by constraint and on thousands of mutated graphs.
    A source's findings depend only on its own graph and the reference data, so the sources are
    validated in batches of at most :data:`BATCH`, wherever the ``executor`` runs them, and the
    findings sorted afterwards: where they run never changes the report. On a cluster the workers
    take the batches; locally a process pool does (the checks of one batch, run in threads, kept
    about 1.1 cores busy), or this process for fewer than
    :data:`~kgbuild.executors.PARALLEL_THRESHOLD` sources.

    :param sources: the sources (graph IRIs must differ).
    :param reference: the reference data (municipalities, counties, NUTS regions), in any graph.
    :param executor: where the batches run (:mod:`kgbuild.executors`); by default this machine's.
    :param workers: local processes, when no ``executor`` is given (default: one per core).
    :return: the findings sorted by :func:`finding_order`.

    >>> from pyoxigraph import NamedNode, Quad, RdfFormat, serialize
    >>> g, kg = NamedNode("http://example.org/graph/a"), "https://w3id.org/kgbuild/ontology#"
    >>> rdf_type = NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
    >>> quads = [Quad(NamedNode("http://example.org/p"), rdf_type, NamedNode(kg + "Project"), g)]
    >>> report = validate([SourceGraph(g.value, "a.txt", serialize(quads, format=RdfFormat.N_QUADS))], [])
    >>> [(f.source, f.severity.value) for f in report.findings]
    [('a.txt', 'Warning'), ('a.txt', 'Violation')]
    """
    shared = reference_nquads(reference)
    runner = executor or LocalExecutor(workers)
    try:
        findings = runner.map_batches(validate_batch, sources, shared, count=len(sources), limit=BATCH)
    finally:
        if executor is None:
            runner.close()
    return ValidationReport.sorted(findings)


def reference_nquads(reference: Iterable[Quad]) -> bytes:
    """The reference data as the validation's workers take it: N-Quads, in the graph the checks read."""
    return serialize((Quad(q.subject, q.predicate, q.object, REFERENCE_GRAPH) for q in reference),
                     format=RdfFormat.N_QUADS) or b""


def validate_batch(batch: list[SourceGraph], reference: bytes) -> list[Finding]:
    """Validate a batch of sources together in one in-memory store (what a worker runs).

    :param reference: :func:`reference_nquads`.
    """
    store = open_in_memory()
    store.load(input=b"".join(source.nquads for source in batch), format=RdfFormat.N_QUADS)
    return validate_graphs(store, {source.graph: source.name for source in batch}, reference)


def validate_graphs(store: Store, names: Mapping[str, str], reference: bytes) -> list[Finding]:
    """Validate the source graphs (graph IRI → source name) of an in-memory store, adding the reference data.

    For a worker that holds the quads already (the pipeline maps and validates a batch in one task).

    :param reference: :func:`reference_nquads`; loaded into ``store``.
    """
    store.load(input=reference, format=RdfFormat.N_QUADS)
    return compile_shapes().validate(store, names, REFERENCE_GRAPH)


# --- the test oracle: pyshacl -------------------------------------------------------------------


@functools.cache
def load_shapes() -> Graph:
    """The SHACL shapes in ``shapes/*.ttl``, parsed once by rdflib (for pyshacl)."""
    from rdflib import Graph

    graph = Graph()
    for path in sorted(shapes_path().glob("*.ttl")):
        graph.parse(path, format="turtle")
    return graph


def validate_quads(quads: Sequence[Quad], source: str, reference: ReferenceIndex | None = None,
                   shapes: Graph | None = None) -> list[Finding]:
    """Validate one source's quads against the shapes with pyshacl: the oracle the engine is tested against.

    Needs rdflib and pyshacl (the ``test`` extra), imported on the first call.

    :param quads: the source's public quads (one named graph).
    :param source: the source file name, recorded in each finding.
    :param reference: reference data the quads may link to (municipalities, counties, NUTS).
    :param shapes: the shapes graph (default: ``shapes/*.ttl``).
    :return: the findings about nodes of this source (not about the reference data).
    """
    import pyshacl
    from rdflib import Graph
    from rdflib.namespace import SH

    triples = [Triple(q.subject, q.predicate, q.object) for q in quads]
    data = triples + (reference.closure(triples) if reference else [])
    graph = Graph()
    graph.parse(data=serialize(data, format=RdfFormat.N_TRIPLES) or b"", format="nt")
    _, results, _ = pyshacl.validate(graph, shacl_graph=shapes if shapes is not None else load_shapes(),
                                     inference="none", advanced=True, allow_warnings=True)
    own_subjects = {t.subject.value for t in triples if isinstance(t.subject, NamedNode)}
    severities: Mapping[object, Severity] = {SH.Violation: Severity.VIOLATION, SH.Warning: Severity.WARNING,
                                             SH.Info: Severity.INFO}
    findings = []
    for result in results.subjects(predicate=SH.resultSeverity):
        focus = _text(results.value(result, SH.focusNode))
        if focus not in own_subjects:
            continue
        findings.append(Finding(
            source=source,
            severity=severities.get(results.value(result, SH.resultSeverity), Severity.VIOLATION),
            focus_node=focus,
            path=_text(results.value(result, SH.resultPath)),
            message=_text(results.value(result, SH.resultMessage)) or "does not conform",
            value=_text(results.value(result, SH.value)),
        ))
    return sorted(findings, key=lambda f: (f.focus_node, f.path, f.message, f.value))


def _text(node: Any) -> str:
    return "" if node is None else str(node)
