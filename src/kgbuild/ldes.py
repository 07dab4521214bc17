"""Publish: the change log (:mod:`kgbuild.changes`) → a Linked Data Event Stream, paged as a TREE view.

Input: a store's change log, opened read-only. Output: the triples of the stream's documents, which the
server (:mod:`kgbuild.server.feed`) writes in the format a client asks for:

- ``/ldes``, the stream: an ``ldes:EventStream`` (``ldes:timestampPath prov:generatedAtTime``,
  ``ldes:versionOfPath dct:isVersionOf``) whose ``tree:view`` is its first page, with ``as:first``,
  ``as:last`` (the page a harvester that is up to date reads next) and ``as:totalItems``;
- ``/ldes/N``, page N (from 0): members N·100 to N·100+99 in the order they were logged (``tree:member``
  and each member's description, with the build it came from), a ``tree:GreaterThanOrEqualToRelation`` on
  ``prov:generatedAtTime`` to the next page (every member reachable from there is at least as recent
  as that page's first one), and ``as:prev`` / ``as:next`` links between neighbours (not TREE relations:
  following one back would break the relations' promise on what is reachable).

The log only grows, and a page's members are fixed by their positions, so a page with a next page never
changes again: it is *closed* (served as immutable). The last page grows until it is full and gets its
relation to the next page when that page's first member is logged.

The stream's IRI (and each member's) is under the store's base IRI; the pages are under the URL the
server answers at, so that a client can follow them wherever it runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from pyoxigraph import BlankNode, Literal, NamedNode, Store, Triple

from kgbuild.changes import AS, POSITION
from kgbuild.vocab import DCT, PROV, RDF, XSD

__all__ = ["LDES", "PAGE_SIZE", "PREFIXES", "TREE", "FeedIndex", "page_triples", "page_url", "stream_triples"]

LDES = "https://w3id.org/ldes#"
TREE = "https://w3id.org/tree#"
PREFIXES = {"ldes": LDES, "tree": TREE, "as": AS}
PAGE_SIZE = 100
_TIME = NamedNode(PROV + "generatedAtTime")
_BUILD_FRAGMENT = "ldes#build-"


def _value(term: object) -> str:
    """An IRI's or a literal's text (the log holds no triple terms)."""
    assert isinstance(term, NamedNode | BlankNode | Literal), term
    return term.value


@dataclass(frozen=True)
class FeedIndex:
    """The log's members in order (their IRIs and times), and the base IRI of the store that logged them."""

    members: tuple[str, ...]
    times: tuple[Literal, ...]
    base: str

    @classmethod
    def of(cls, log: Store, default_base: str) -> FeedIndex:
        """Read the order of the members (one pass over their positions and times).

        :param default_base: the base IRI to name the stream under when the log has no member yet.
        """
        positions = sorted((int(_value(q.object)), _value(q.subject))
                           for q in log.quads_for_pattern(None, NamedNode(POSITION), None))
        members = tuple(member for _, member in positions)
        times = {_value(q.subject): q.object for q in log.quads_for_pattern(None, _TIME, None)}
        base = default_base
        for quad in log.quads_for_pattern(None, NamedNode(PROV + "wasGeneratedBy"), None):
            base = _value(quad.object).split(_BUILD_FRAGMENT, 1)[0]  # the builds are named under the store's base
            break
        return cls(members, tuple(_literal(times[m]) for m in members), base)

    @property
    def stream(self) -> NamedNode:
        return NamedNode(self.base + "ldes")

    @property
    def last_page(self) -> int:
        """The number of the last page (0 when the log is empty)."""
        return max(0, (len(self.members) - 1) // PAGE_SIZE)

    def closed(self, page: int) -> bool:
        """Whether ``page`` has a next page, and so never changes again."""
        return page < self.last_page


def _literal(term: object) -> Literal:
    assert isinstance(term, Literal), "a member's time is a literal"
    return term


def page_url(here: str, page: int) -> NamedNode:
    """The URL of one page on the server answering at ``here`` (ending in ``/``)."""
    return NamedNode(f"{here}ldes/{page}")


def _describe_stream(index: FeedIndex) -> Iterator[Triple]:
    node = NamedNode
    stream = index.stream
    yield Triple(stream, node(RDF + "type"), node(LDES + "EventStream"))
    yield Triple(stream, node(LDES + "timestampPath"), _TIME)
    yield Triple(stream, node(LDES + "versionOfPath"), node(DCT + "isVersionOf"))


def stream_triples(index: FeedIndex, here: str) -> list[Triple]:
    """The stream's own document: what it is, its view (the first page) and its last page."""
    node = NamedNode
    stream = index.stream
    return [
        *_describe_stream(index),
        Triple(stream, node(DCT + "title"), Literal("Change feed: every version of every project, source graph, "
                                                    "the ontology and the shapes", language="en")),
        Triple(stream, node(TREE + "view"), page_url(here, 0)),
        Triple(page_url(here, 0), node(RDF + "type"), node(TREE + "Node")),
        Triple(stream, node(AS + "first"), page_url(here, 0)),
        Triple(stream, node(AS + "last"), page_url(here, index.last_page)),
        Triple(stream, node(AS + "totalItems"), Literal(str(len(index.members)),
                                                         datatype=node(XSD + "nonNegativeInteger"))),
    ]


def page_triples(log: Store, index: FeedIndex, here: str, page: int) -> list[Triple] | None:
    """Page ``page`` of the stream: its members with their descriptions, and its links; None past the last."""
    if page < 0 or page > index.last_page:
        return None
    node = NamedNode
    stream, this = index.stream, page_url(here, page)
    triples = list(_describe_stream(index))
    if page == 0:
        triples.append(Triple(stream, node(TREE + "view"), this))
    triples += [Triple(this, node(RDF + "type"), node(TREE + "Node")),
                Triple(this, node(DCT + "isPartOf"), stream)]
    if page > 0:
        triples.append(Triple(this, node(AS + "prev"), page_url(here, page - 1)))
    if index.closed(page):
        following, relation = page_url(here, page + 1), node(f"{this.value}#newer")
        triples += [
            Triple(this, node(AS + "next"), following),
            Triple(this, node(TREE + "relation"), relation),
            Triple(relation, node(RDF + "type"), node(TREE + "GreaterThanOrEqualToRelation")),
            Triple(relation, node(TREE + "node"), following),
            Triple(relation, node(TREE + "path"), _TIME),
            Triple(relation, node(TREE + "value"), index.times[(page + 1) * PAGE_SIZE]),
        ]
    builds: set[str] = set()
    for member in index.members[page * PAGE_SIZE:(page + 1) * PAGE_SIZE]:
        subject = node(member)
        triples.append(Triple(stream, node(TREE + "member"), subject))
        for quad in log.quads_for_pattern(subject, None, None):
            if quad.predicate.value == POSITION:
                continue
            triples.append(Triple(quad.subject, quad.predicate, quad.object))
            if quad.predicate.value == PROV + "wasGeneratedBy":
                builds.add(_value(quad.object))
    for build in sorted(builds):
        triples += [Triple(q.subject, q.predicate, q.object) for q in log.quads_for_pattern(node(build), None, None)]
    return triples
