"""The default graph a query sees: the RDF merge of the named graphs, stored.

Each source has its own named graph, so a triple that several sources state (an organisation's name,
the fund's concept scheme) is in several graphs. SPARQL's default graph is an RDF graph, a set: such a
triple must count once. Oxigraph's union default graph (``use_default_graph_as_union``, and
``oxigraph serve --union-default-graph``) repeats it once per graph instead (oxigraph#1919, fixed after
0.5.13): ``COUNT`` and ``SUM`` over it come out too high, and a join through a shared organisation
multiplies its rows (the benchmark's two-hop join at 10,000 sources: 62 s over the union, 1.9 s over
the merge). So a store keeps the merge as its own default graph, and queries read that.

Adding a triple to the merge is a copy (a store is a set). A triple leaves it only when no named graph
states it any more, which :meth:`MergeKeeper.settle` checks once a build's edits are done. After that,
:mod:`kgbuild.current` takes out the values that are not current of a project sources disagree on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

from pyoxigraph import DefaultGraph, NamedNode, Quad, RdfFormat, Store, Triple

__all__ = ["DISTINCT_TRIPLES", "MergeKeeper", "has_merge", "merged", "merged_nquads", "merging_into"]

# The merge computed by a query, over the store's union or the graphs a query names.
DISTINCT_TRIPLES = "CONSTRUCT { ?s ?p ?o } WHERE { SELECT DISTINCT ?s ?p ?o WHERE { ?s ?p ?o } }"


def merged(quads: Iterable[Quad]) -> Iterator[Quad]:
    """The same triples in the default graph."""
    for quad in quads:
        yield Quad(quad.subject, quad.predicate, quad.object)


def merged_nquads(nquads: bytes, graph: str) -> bytes:
    """One graph's N-Quads as the same triples in the default graph.

    Every line ends in `` <graph> .``; N-Quads escapes line breaks inside literals, so that ending
    cannot occur anywhere else.

    >>> merged_nquads(b'<s> <p> "o <g> ." <g> .\\n', "g")
    b'<s> <p> "o <g> ." .\\n'
    """
    return nquads.replace(b" <" + graph.encode() + b"> .\n", b" .\n")


def merging_into(store: Store) -> Callable[[Sequence[Quad]], None]:
    """Where copied quads go (a remote store's graphs, copied for dumps): ``store``, and its merge."""
    def add(quads: Sequence[Quad]) -> None:
        store.bulk_extend(quads)
        store.bulk_extend(merged(quads))
    return add


def has_merge(store: Store) -> bool:
    """Whether ``store`` keeps the merge (a store written before kgbuild did has an empty default graph)."""
    return next(iter(store.quads_for_pattern(None, None, None, DefaultGraph())), None) is not None


class MergeKeeper:
    """Edits to a store's named graphs that keep its default graph their merge."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._dropped: set[Triple] = set()
        # Written before kgbuild kept the merge: named graphs, and nothing in the default graph.
        self._older = not has_merge(store) and next(iter(store.named_graphs()), None) is not None

    def extend(self, quads: Iterable[Quad]) -> None:
        quads = list(quads)
        self.store.extend(quads)
        self.store.extend(merged(quads))

    def load(self, nquads: bytes, graph: str) -> None:
        """Add one graph's N-Quads (with its merge in the same document: a blank node label names one node
        within a load, and a new one in each load)."""
        self.store.load(input=nquads + merged_nquads(nquads, graph), format=RdfFormat.N_QUADS)

    def remove(self, quad: Quad) -> None:
        self._dropped.add(quad.triple)
        self.store.remove(quad)

    def remove_graph(self, graph: NamedNode) -> None:
        self._dropped.update(quad.triple for quad in self.store.quads_for_pattern(None, None, None, graph))
        self.store.remove_graph(graph)

    def settle(self) -> None:
        """Drop from the merge what no named graph states any more; add the whole merge to an older store."""
        if self._older:  # Oxigraph's DISTINCT computes the merge once, as objects: blank nodes stay the same
            self._older = False
            triples = list(self.store.query(DISTINCT_TRIPLES, use_default_graph_as_union=True))  # type: ignore[arg-type]
            self.store.extend(Quad(*triple) for triple in triples)
        for triple in self._dropped:
            if not any(isinstance(q.graph_name, NamedNode) for q in self.store.quads_for_pattern(*triple)):
                self.store.remove(Quad(*triple))
        self._dropped.clear()
