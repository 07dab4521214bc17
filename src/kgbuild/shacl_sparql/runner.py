"""Running compiled checks: each check's SPARQL on a store of source graphs and reference data → findings.

Why it exists apart from the compiler: the checks are compiled once per set of shape files and run
on many stores (one per batch of sources, on this machine or on a cluster's workers); this module
holds what a run needs: what a compiled :class:`Check` is, how a check's query template is filled in
for a run (:func:`_materialise`: the reference graph, the class hierarchy), the detection of sources
that must be validated exactly, each in its own graph with the reference triples it reaches (a
:class:`ReferenceIndex`), and how rows become
:class:`~kgbuild.report.Finding` objects (as pyshacl writes its results, for SPARQL constraints too).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from pyoxigraph import NamedNode, Quad, Store, Triple

from kgbuild.report import Finding, Severity, finding_order
from kgbuild.shacl_sparql.patterns import select
from kgbuild.shacl_sparql.pyshacl_compat import render
from kgbuild.shacl_sparql.sparql_constraints import SparqlRows
from kgbuild.store import open_in_memory
from kgbuild.vocab import RDF, RDFS

__all__ = ["Check", "CompiledShapes", "ReferenceIndex", "REFERENCE_GRAPH", "EMPTY_GRAPH", "BATCH_SOURCES"]


RDF_TYPE = RDF + "type"
# Private graph names for the validation's stores; never a source's own graph name.
REFERENCE_GRAPH = NamedNode("urn:x-kgbuild:validation:reference")
EMPTY_GRAPH = NamedNode("urn:x-kgbuild:validation:nothing")
HIERARCHY_GRAPH = NamedNode("urn:x-kgbuild:validation:hierarchy")
SUBCLASS_OF = NamedNode(RDFS + "subClassOf")
BATCH_SOURCES = 256  # more sources per store cost more than linear time: see kgbuild.validation.BATCH


@dataclass(frozen=True, slots=True)
class Check:
    """One compiled constraint: a SPARQL SELECT whose solutions are its validation results.

    ``query`` is a template (the reference graph and the class hierarchy are filled in per run).
    ``via`` is the chain of ``sh:node`` paths from a target to the result's focus node: empty for a
    target's own constraints, ``(regorg:registration,)`` for a nested shape's results (sh:detail).
    """

    shape: str
    component: str
    parameters: tuple[Any, ...]
    path: str
    severity: Severity
    message: str
    targets: tuple[str, ...]
    via: tuple[str, ...]
    query: str
    sparql: SparqlRows | None = field(default=None, compare=False, repr=False)


class ReferenceIndex:
    """Reference triples by subject, so that a source can be validated with just what it links to."""

    def __init__(self, quads: Iterable[Quad]) -> None:
        self._by_subject: dict[NamedNode, list[Triple]] = {}
        for quad in quads:
            if isinstance(quad.subject, NamedNode):
                self._by_subject.setdefault(quad.subject, []).append(Triple(quad.subject, quad.predicate, quad.object))

    def closure(self, triples: Iterable[Triple | Quad]) -> list[Triple]:
        """The reference triples reachable from the objects of ``triples`` (municipality → county → NUTS...)."""
        out: list[Triple] = []
        seen: set[NamedNode] = set()
        todo = [t.object for t in triples if isinstance(t.object, NamedNode)]
        while todo:
            node = todo.pop()
            if node in seen or node not in self._by_subject:
                continue
            seen.add(node)
            for triple in self._by_subject[node]:
                out.append(triple)
                if isinstance(triple.object, NamedNode):
                    todo.append(triple.object)
        return out


@dataclass(frozen=True)
class CompiledShapes:
    """The shapes as SPARQL checks, ready to run on any store (see :func:`compile_shapes`)."""

    checks: tuple[Check, ...]
    functions: Mapping[NamedNode, Callable[..., Any]] = field(repr=False)
    # Oxigraph releases the GIL while it evaluates: checks run in threads, one per core.
    workers: int = field(default_factory=lambda: min(8, os.cpu_count() or 1))

    def validate(self, store: Store, source_names: Mapping[str, str], reference_graph: str | NamedNode
                 ) -> list[Finding]:
        """Validate the source graphs of ``store``; every source in one run.

        :param store: the quads: each source's in its own named graph, the reference data in another.
        :param source_names: source graph IRI → the source file name recorded in findings; other named
            graphs (ontology, personal data...) are not validated.
        :param reference_graph: the graph of the reference data the sources link to.
        :return: the findings about IRI subjects of the source graphs, sorted by source, focus node,
            path, message, value.

        >>> from pyoxigraph import Literal, NamedNode, Quad
        >>> from kgbuild.shacl_sparql import compile_shapes
        >>> from kgbuild.store import open_in_memory
        >>> store, g = open_in_memory(), NamedNode("http://example.org/graph/a")
        >>> kg = "https://w3id.org/kgbuild/ontology#"
        >>> store.add(Quad(NamedNode("http://example.org/p"), NamedNode(RDF_TYPE), NamedNode(kg + "Project"), g))
        >>> findings = compile_shapes().validate(store, {g.value: "a.txt"}, "http://example.org/graph/reference")
        >>> sorted(f.message.split(": ", 1)[1] for f in findings)
        ['at least one prov:wasDerivedFrom, a kg:SourceDocument', 'the source states no title']
        """
        reference = NamedNode(reference_graph) if isinstance(reference_graph, str) else reference_graph
        names = {g: n for g, n in source_names.items() if g != reference.value}
        restating, subclassing = self._needs_exact(store, reference, names)
        findings = self._run(store, names.keys() - restating - subclassing, names, reference, reference)
        if restating or subclassing:
            index = ReferenceIndex(list(store.quads_for_pattern(None, None, None, reference)))  # see patterns.select
            findings += self._run_exactly(store, sorted(restating - subclassing), names, index)
            for graph in sorted(subclassing):  # its own class hierarchy: alone
                findings += self._run_exactly(store, [graph], names, index)
        return sorted(findings, key=finding_order)

    def findings_by_check(self, store: Store, source_names: Mapping[str, str], reference_graph: str | NamedNode
                          ) -> dict[Check, list[Finding]]:
        """Like :meth:`validate`, with each check's findings apart (for tests and diagnostics)."""
        reference = NamedNode(reference_graph) if isinstance(reference_graph, str) else reference_graph
        names = {g: n for g, n in source_names.items() if g != reference.value}
        if any(self._needs_exact(store, reference, names)):
            raise ValueError("findings_by_check needs sources that do not restate reference subjects")
        return self._run_checks(store, names.keys(), names, reference, reference)

    def _needs_exact(self, store: Store, reference: NamedNode, names: Mapping[str, str]
                     ) -> tuple[set[str], set[str]]:
        """Source graphs that restate a reference subject, and those that say rdfs:subClassOf: each
        validated with the reference triples it reaches in its own graph."""
        ref = f"<{reference.value}>"
        restating = (f"SELECT DISTINCT ?g WHERE {{ {{ SELECT DISTINCT ?s WHERE {{ GRAPH {ref} {{ ?s ?p ?o }} "
                     f"FILTER(isIRI(?s)) }} }} GRAPH ?g {{ ?s ?p2 ?o2 }} FILTER(?g != {ref}) }}")
        subclassing = f"SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ ?s <{RDFS}subClassOf> ?o }} FILTER(?g != {ref}) }}"
        def graphs(query: str) -> set[str]:
            return {row["g"].value for row in select(store, query)} & set(names)

        return graphs(restating), graphs(subclassing)

    def _run(self, store: Store, graphs: Iterable[str], names: Mapping[str, str], reference: NamedNode,
             hierarchy: NamedNode) -> list[Finding]:
        by_check = self._run_checks(store, graphs, names, reference, hierarchy)
        return [f for found in by_check.values() for f in found]

    def _run_checks(self, store: Store, graphs: Iterable[str], names: Mapping[str, str], reference: NamedNode,
                    hierarchy: NamedNode) -> dict[Check, list[Finding]]:
        wanted = set(graphs)
        if not wanted:
            return {check: [] for check in self.checks}
        subclasses = _subclasses(store, hierarchy)
        queries = [_materialise(c.query, reference, subclasses) for c in self.checks]

        def run(item: tuple[Check, str]) -> list[Finding]:
            check, query = item
            solutions = select(store, query, self.functions)
            if check.sparql is not None:
                return _sparql_findings(check, solutions, wanted, names)
            return [Finding(source=names[row["kg_g"].value], severity=check.severity,
                            focus_node=row["kg_focus"].value, path=check.path, message=check.message,
                            value=render(row["kg_value"]) if row["kg_value"] is not None else "")
                    for row in solutions if row["kg_g"].value in wanted and isinstance(row["kg_focus"], NamedNode)]

        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            results = list(pool.map(run, zip(self.checks, queries, strict=True)))
        return dict(zip(self.checks, results, strict=True))

    def _run_exactly(self, store: Store, graphs: Sequence[str], names: Mapping[str, str], index: ReferenceIndex
                     ) -> list[Finding]:
        """Each source with the reference triples it reaches, in its own graph: validate_quads' data exactly.

        The checks read each graph apart (``GRAPH ?kg_g``), so many such sources share one store; what
        they share is the class hierarchy, the union of the rdfs:subClassOf triples of their graphs. A
        class a graph types a node with is an object it reaches, with its superclasses: the union adds
        no superclass to a class a graph uses, unless the source states rdfs:subClassOf itself, and such
        a source is given alone."""
        if len({names[g] for g in graphs}) < len(graphs):  # findings name their source: one at a time
            return [f for graph in graphs for f in self._run_exactly(store, [graph], names, index)]
        together = open_in_memory()
        own: dict[str, set[str]] = {}
        for graph in map(NamedNode, graphs):
            quads = list(store.quads_for_pattern(None, None, None, graph))  # see patterns.select
            own[names[graph.value]] = {q.subject.value for q in quads if isinstance(q.subject, NamedNode)}
            reached = index.closure(quads)
            together.extend(quads)
            together.extend(Quad(t.subject, t.predicate, t.object, graph) for t in reached)
            stated: list[Quad | Triple] = [*quads, *reached]
            together.extend(Quad(t.subject, t.predicate, t.object, HIERARCHY_GRAPH)
                            for t in stated if t.predicate == SUBCLASS_OF)
        findings = self._run(together, graphs, {g: names[g] for g in graphs}, EMPTY_GRAPH, HIERARCHY_GRAPH)
        return [f for f in findings if f.focus_node in own[f.source]]


def _subclasses(store: Store, graph: NamedNode) -> dict[str, set[str]]:
    """Class → its subclasses (transitively), from the rdfs:subClassOf triples of ``graph``."""
    direct: dict[str, set[str]] = {}
    query = f"SELECT ?s ?o WHERE {{ GRAPH <{graph.value}> {{ ?s <{RDFS}subClassOf> ?o }} FILTER(isIRI(?s)) }}"
    for row in select(store, query):
        direct.setdefault(row["o"].value, set()).add(row["s"].value)
    closed: dict[str, set[str]] = {}
    for cls in direct:
        seen, todo = set(), [cls]
        while todo:
            for sub in direct.get(todo.pop(), ()):
                if sub not in seen:
                    seen.add(sub)
                    todo.append(sub)
        closed[cls] = seen
    return closed


_PLACEHOLDER = re.compile(r"%%(REF|CLASSES|FOCUS)([^%]*)%%")


def _materialise(template: str, reference: NamedNode, subclasses: Mapping[str, set[str]]) -> str:
    def classes(text: str) -> list[str]:
        named = re.findall(r"<([^>]*)>", text)
        return sorted({c for cls in named for c in (cls, *subclasses.get(cls, ()))})

    def fill(m: re.Match[str]) -> str:
        if m[1] == "REF":
            return f"<{reference.value}>"
        if m[1] == "CLASSES":
            return " ".join(f"<{c}>" for c in classes(m[2]))
        kinds = classes(m[2])
        # Blank focus nodes are dropped from the rows (_run_checks, _sparql_findings): an isIRI test here
        # cost 0.5 µs for every row of every check, far more than the rows it would save.
        guard = f"FILTER(?kg_g != <{reference.value}>)"
        if len(kinds) == 1:
            return f"GRAPH ?kg_g {{ ?this <{RDF_TYPE}> <{kinds[0]}> }} {guard}"
        values = " ".join(f"<{c}>" for c in kinds)
        return (f"{{ SELECT DISTINCT ?kg_g ?this WHERE {{ VALUES ?kg_class {{ {values} }} "
                f"GRAPH ?kg_g {{ ?this <{RDF_TYPE}> ?kg_class }} {guard} }} }}")

    return _PLACEHOLDER.sub(fill, template)


# --- the results of a SPARQL constraint, as pyshacl writes them --------------------------------

def _sparql_findings(check: Check, solutions: Iterable[Any], wanted: set[str], names: Mapping[str, str]
                     ) -> list[Finding]:
    """pyshacl's handling of a SPARQL constraint's rows: dedup, ?path/?value, {?var} in the message."""
    rows = check.sparql
    assert rows is not None
    seen: set[tuple[str, ...]] = set()
    out = []
    for row in solutions:
        graph = row["kg_g"].value
        if graph not in wanted:
            continue
        focus = row["this"]
        if not isinstance(focus, NamedNode):  # a blank node's results are not reported (see _materialise)
            continue

        def text(name: str, row: Any = row) -> str | None:
            term = row[name]
            return None if term is None else render(term)

        others = [(name, text(name)) for name in rows.projected if name not in ("this", "path", "value")]
        bound = [(name, value) for name, value in others if value is not None]
        path = text("path") if "path" in rows.projected else None
        value = text("value") if "value" in rows.projected else None
        key = (graph, focus.value, path or "", value or "", *(f"{n}={v}" for n, v in bound))
        if key in seen:
            continue
        seen.add(key)
        value = value if value is not None else render(focus)  # a node shape's result is about its focus
        substitutions = bound + ([("this", render(focus))] if "this" in rows.projected else [])
        substitutions += ([("path", path)] if path is not None else []) + [("value", value)]
        message = check.message
        for name, replacement in substitutions:
            try:
                message = re.sub(f"{{[?$]{name}}}", replacement, message)
            except re.error:  # pyshacl hands the value to re.sub as a template; we keep it as written
                message = message.replace("{?" + name + "}", replacement).replace("{$" + name + "}", replacement)
        out.append(Finding(source=names[graph], severity=check.severity, focus_node=focus.value, path=path or "",
                           message=message, value=value))
    return out
