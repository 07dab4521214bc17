"""The current value of a project several sources state (issue 19.3): one IRI, every source kept.

Two scrapes of one page, or two sites' pages of one project, give one project IRI (:mod:`kgbuild.mapping`)
and each source keeps its statements in its own named graph, with its provenance. Where they disagree
(420 planned participants in one, 500 in the other), the default graph a query sees must hold one of
them, or a ``SUM`` counts the project twice (920).

**The rule.** For each property of the project (and of the nodes under its IRI: its amounts, its
address), the current value is what the *current source* states: the source loaded most recently (its
graph's ``prov:generatedAtTime`` in the build graph); among sources loaded by one build, the one whose
graph name (its file name) sorts last, so that scrapes named by date (``page-2024-05-01.txt``) are
taken in time order. A property the current source does not state keeps the value of the latest
source that states it. The build graph records the choice: ``<project> kg:currentSource <source>``.

The default graph holds only the current values of those properties; every source's own values stay in
its named graph. What every source states alike (its types, where it came from, earlier IRIs) is kept
from all of them. A project stated by one source is left as the merge has it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from pyoxigraph import DefaultGraph, Literal, NamedNode, Quad, Store

from kgbuild.vocab import KG, OWL, PROV, RDF

__all__ = ["CURRENT_SOURCE", "Conflict", "conflicts", "settle_current"]

CURRENT_SOURCE = KG + "currentSource"
_KINDS = (KG + "Project", KG + "PartnerSearch", KG + "Call")
# Stated by every source alike, or about the source itself: kept from all of them.
_FROM_EVERY_SOURCE = frozenset({RDF + "type", PROV + "wasDerivedFrom", OWL + "sameAs"})


@dataclass(frozen=True, slots=True)
class Conflict:
    """Sources that state different values of one property of one thing; ``values``: graph → values."""

    subject: str
    predicate: str
    values: Mapping[str, frozenset[str]]
    current: str  # the graph whose values are current


def _stated_by_several(store: Store, source_prefix: str) -> dict[str, set[str]]:
    """Project (call, partner search) IRI → the source graphs that state it, for those stated by several."""
    graphs: dict[str, set[str]] = {}
    for kind in _KINDS:
        for quad in store.quads_for_pattern(None, NamedNode(RDF + "type"), NamedNode(kind), None):
            if isinstance(quad.graph_name, NamedNode) and quad.graph_name.value.startswith(source_prefix) \
                    and isinstance(quad.subject, NamedNode):
                graphs.setdefault(quad.subject.value, set()).add(quad.graph_name.value)
    return {subject: found for subject, found in graphs.items() if len(found) > 1}


def _order(store: Store, build_graph: NamedNode, graphs: Iterable[str]) -> list[str]:
    """The graphs from the earliest loaded to the current one (ties: by name)."""
    def loaded(graph: str) -> str:
        stamps = store.quads_for_pattern(NamedNode(graph), NamedNode(PROV + "generatedAtTime"), None, build_graph)
        return max((q.object.value for q in stamps if isinstance(q.object, Literal)), default="")
    return sorted(graphs, key=lambda graph: (loaded(graph), graph))


def _statements(store: Store, subject: str, graph: str) -> dict[tuple[str, str], set[Quad]]:
    """(subject, predicate) → the triples (as default-graph quads) a graph states of ``subject`` and the
    nodes under its IRI, less those kept from every source."""
    out: dict[tuple[str, str], set[Quad]] = {}
    for quad in store.quads_for_pattern(None, None, None, NamedNode(graph)):
        if not isinstance(quad.subject, NamedNode):
            continue
        own = quad.subject.value == subject or quad.subject.value.startswith(subject + "/")
        if own and quad.predicate.value not in _FROM_EVERY_SOURCE:
            out.setdefault((quad.subject.value, quad.predicate.value), set()).add(
                Quad(quad.subject, quad.predicate, quad.object, DefaultGraph()))
    return out


def _choices(store: Store, subject: str, ordered: Sequence[str]
             ) -> Iterator[tuple[tuple[str, str], str, dict[str, set[Quad]]]]:
    """Per (subject, predicate) the sources state differently: the graph whose values are current, and every
    graph's values. Where the text was read (the evidence under the IRI) is no fact: left as the merge."""
    stated = {graph: _statements(store, subject, graph) for graph in ordered}
    for key in sorted({key for by_key in stated.values() for key in by_key}):
        if key[0].startswith(subject + "/evidence/"):
            continue
        values = {graph: stated[graph][key] for graph in ordered if key in stated[graph]}
        if len({frozenset(quads) for quads in values.values()}) > 1:
            yield key, [graph for graph in ordered if graph in values][-1], values


def conflicts(store: Store, build_graph: NamedNode, source_prefix: str) -> list[Conflict]:
    """Every property that sources stating one thing give different values, with the current source's."""
    out = []
    for subject, graphs in sorted(_stated_by_several(store, source_prefix).items()):
        ordered = _order(store, build_graph, graphs)
        for (node, predicate), current, values in _choices(store, subject, ordered):
            texts = {graph: frozenset(str(q.object) for q in quads) for graph, quads in values.items()}
            if len(set(texts.values())) > 1:
                out.append(Conflict(node, predicate, texts, current))
    return out


def settle_current(store: Store, build_graph: NamedNode, source_prefix: str, document_of: Callable[[str], str]
                   ) -> None:
    """Make the default graph hold the current values of every thing several sources state (the rule
    above), record each one's current source, and restore the merge of one no longer stated twice.

    :param document_of: a source graph's IRI → its source document's IRI (what ``kg:currentSource`` names).
    """
    several = _stated_by_several(store, source_prefix)
    marked = {q.subject.value for q in store.quads_for_pattern(None, NamedNode(CURRENT_SOURCE), None, build_graph)
              if isinstance(q.subject, NamedNode)}
    for subject in sorted(marked | several.keys()):
        for quad in list(store.quads_for_pattern(NamedNode(subject), NamedNode(CURRENT_SOURCE), None, None)):
            store.remove(quad)
        ordered = _order(store, build_graph, several.get(subject, ()))
        if not ordered:  # stated by one source (or none) now: the merge of what remains
            for graph in {q.graph_name.value for kind in _KINDS for q in store.quads_for_pattern(
                    NamedNode(subject), NamedNode(RDF + "type"), NamedNode(kind), None)
                    if isinstance(q.graph_name, NamedNode) and q.graph_name.value.startswith(source_prefix)}:
                store.extend(q for quads in _statements(store, subject, graph).values() for q in quads)
            continue
        chosen = {key: values[current] for key, current, values in _choices(store, subject, ordered)}
        # What they state alike is the merge's: restored where an earlier choice took a value out.
        store.extend(q for graph in ordered for key, quads in _statements(store, subject, graph).items()
                     if key not in chosen for q in quads)
        for (node, predicate), quads in chosen.items():
            held = set(store.quads_for_pattern(NamedNode(node), NamedNode(predicate), None, DefaultGraph()))
            for quad in held - quads:
                store.remove(quad)
            store.extend(quads - held)
        marker = (NamedNode(subject), NamedNode(CURRENT_SOURCE), NamedNode(document_of(ordered[-1])))
        store.extend([Quad(*marker, build_graph), Quad(*marker, DefaultGraph())])
