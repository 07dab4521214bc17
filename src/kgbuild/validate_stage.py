"""The validate stage of a build, and of ``kgbuild validate``: the engine (:mod:`kgbuild.validation`)
applied to prepared sources, to mapped sources, or to a built store, and the refusals it implies.

Not to be confused with :mod:`kgbuild.validation`, the engine itself (sources' N-Quads + shapes →
findings): this module knows the build's hand-offs and the store's layout, the engine neither.
Input: sources or a store; output: a :class:`~kgbuild.report.ValidationReport`, and a
:class:`~kgbuild.handoffs.SourceFailure` for each source with violations.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from pyoxigraph import Literal, NamedNode, Quad, RdfFormat, Store, serialize

from kgbuild.current import conflicts
from kgbuild.executors import Executor
from kgbuild.handoffs import PreparedSource, SourceFailure
from kgbuild.iris import Iris
from kgbuild.mapping import MappedSource
from kgbuild.report import Finding, Severity, ValidationReport
from kgbuild.store import open_in_memory, open_read_only
from kgbuild.validation import SourceGraph, validate
from kgbuild.vocab import KG

__all__ = ["validate_mapped", "validate_given", "validate_prepared", "refusals_of", "validate_store"]


def validate_mapped(mapped: Sequence[MappedSource], reference: Sequence[Quad], workers: int | None = None
                    ) -> ValidationReport:
    """Validate each source on its own (with the reference facts it links to): :func:`kgbuild.validation.validate`
    on this machine's processes (``workers``; in this process when there are few sources)."""
    return validate([_source_graph(m.graph.value, m.source.name, m.quads) for m in mapped], reference,
                    workers=workers)


def _source_graph(graph: str, name: str, quads: Iterable[Quad]) -> SourceGraph:
    """A source to validate, its quads moved into ``graph`` where they are elsewhere (an edited mapping)."""
    named = NamedNode(graph)
    return SourceGraph(graph, name, serialize((q if q.graph_name == named else
                                               Quad(q.subject, q.predicate, q.object, named) for q in quads),
                                              format=RdfFormat.N_QUADS) or b"")


def validate_given(mapped: Sequence[MappedSource], reference: Sequence[Quad], iris: Iris) -> ValidationReport:
    """:func:`validate_mapped`, and the disagreements of sources that state one project, as
    :func:`validate_store` reports them (given together, the current source is the name that sorts last)."""
    report = validate_mapped(mapped, reference)
    store = open_in_memory()
    store.extend(q for m in mapped for q in m.quads)
    names = {iris.id("source", iris.source_key(m.source)).value: m.source.name for m in mapped}
    return ValidationReport.sorted(report.findings + tuple(_conflict_findings(store, iris, names)))


def validate_prepared(prepared: Sequence[PreparedSource], reference: Sequence[Quad], workers: int | None = None,
                      executor: Executor | None = None) -> ValidationReport:
    """Validate prepared sources, each with the reference facts it links to: :func:`kgbuild.validation.validate`
    where the ``executor`` runs (a cluster's workers, this machine's processes; by default ``workers``
    local processes, one per core).

    :return: the findings sorted by source, focus node, path, message, value.
    """
    return validate([SourceGraph(p.graph, p.source.name, p.nquads) for p in prepared], reference, executor=executor,
                    workers=workers)


def refusals_of(validation: ValidationReport, graphs: dict[str, str], published: dict[str, str]) -> list[SourceFailure]:
    """A failure for each source with violations (``graphs``: source name → its graph IRI)."""
    counts: dict[str, int] = {}
    for finding in validation.violations:
        counts[finding.source] = counts.get(finding.source, 0) + 1
    return [SourceFailure(name, f"{count} SHACL violation(s): not published", kept_previous=graphs[name] in published)
            for name, count in sorted(counts.items())]


def validate_store(store_dir: Path, iris: Iris) -> ValidationReport:
    """Validate every source graph of the store's current generation (each with its reference facts), as
    a build validates them (:func:`kgbuild.validation.validate`), and report the properties that two
    sources of one thing state differently."""
    store = open_read_only(store_dir)
    reference = list(store.quads_for_pattern(None, None, None, iris.reference_graph))
    names = {q.subject.value: q.object.value
             for q in store.quads_for_pattern(None, NamedNode(KG + "fileName"), None, None)
             if isinstance(q.subject, NamedNode) and isinstance(q.object, Literal)}
    prefix = iris.graph("source").value + "/"
    sources = []
    for graph in sorted(g.value for g in store.named_graphs() if g.value.startswith(prefix)):
        document = iris.id("source", graph.removeprefix(prefix)).value
        quads = list(store.quads_for_pattern(None, None, None, NamedNode(graph)))  # read to the end here
        sources.append(SourceGraph(graph, names.get(document, graph), serialize(quads, format=RdfFormat.N_QUADS)
                                   or b""))
    report = validate(sources, reference)
    return ValidationReport.sorted(report.findings + tuple(_conflict_findings(store, iris, names)))


def _conflict_findings(store: Store, iris: Iris, names: dict[str, str]) -> list[Finding]:
    """A warning for each property that two sources of one thing state differently, naming both sources,
    their values and the current one (:mod:`kgbuild.current`)."""
    prefix = iris.graph("source").value + "/"

    def name(graph: str) -> str:
        return names.get(iris.id("source", graph.removeprefix(prefix)).value, graph)

    findings = []
    for conflict in conflicts(store, iris.build_graph, prefix):
        stated = ", ".join(f"{name(graph)} states {' '.join(sorted(values)) or 'nothing'}"
                           for graph, values in sorted(conflict.values.items(), key=lambda item: name(item[0])))
        findings.append(Finding(name(conflict.current), Severity.WARNING, conflict.subject, conflict.predicate,
                                f"sources disagree: {stated}; the current value is {name(conflict.current)}'s "
                                "(the source loaded last)", " ".join(sorted(conflict.values[conflict.current]))))
    return findings
