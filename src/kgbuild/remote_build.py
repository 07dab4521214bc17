"""The load stage for a remote store: prepared sources → one Graph Store ``PUT`` per named graph.

Input: the graphs a build decided to write or remove (:func:`kgbuild.pipeline.build` plans, exactly as
for the embedded store) and the remote's build graph. Output: the remote holding the new graphs.

Each graph is replaced by one ``PUT`` (the remote swaps it in one request: wholly old or wholly new).
The build graph, which records the content hash of every graph, is written *after* the graphs it
describes (and, in a long build, at checkpoints covering only graphs already confirmed), so a build
that dies halfway is repaired by the next one: what was not confirmed differs from its record and is
sent again. Personal-data graphs go to the remote only when the operator opts in; otherwise any found
there are deleted, since a remote store is usually public-facing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pyoxigraph import Literal, NamedNode, Quad, RdfFormat, Triple, parse, serialize

from kgbuild.iris import Iris
from kgbuild.provenance import build_record
from kgbuild.remote import Remote
from kgbuild.vocab import KG

if TYPE_CHECKING:
    from kgbuild.handoffs import BuildReport, PreparedSource, StaticGraph

__all__ = ["Record", "published_on", "records_of", "mentions_on", "write_remote", "drop_bases", "digest_for",
           "BATCH_GRAPHS", "CHECKPOINT_SECONDS"]

BATCH_GRAPHS = 256  # graphs sent between two looks at the clock (and the progress bar)
CHECKPOINT_SECONDS = 60.0  # at most this much confirmed work is sent again after a build dies


@dataclass
class Record:
    """What the remote's build graph says of one graph: its content hash and the triples saying so."""

    digest: str = ""
    triples: list[Triple] = field(default_factory=list)


def digest_for(digest: str, include_personal: bool) -> str:
    """The hash recorded on a remote: the source's, marked with whether its personal graph was sent,
    so that opting in (or out) re-sends every source.

    >>> digest_for("ab", False), digest_for("ab", True)
    ('ab:public', 'ab:personal')
    """
    return f"{digest}:{'personal' if include_personal else 'public'}"


def published_on(remote: Remote, iris: Iris) -> dict[str, Record]:
    """The remote's build graph, by described graph (empty for a store kgbuild never wrote to)."""
    return records_of(remote.get_graph(iris.build_graph.value))


def records_of(statements: Iterable[Triple | Quad]) -> dict[str, Record]:
    """A build graph's statements, by described graph."""
    records: dict[str, Record] = {}
    for statement in statements:
        triple = statement.triple if isinstance(statement, Quad) else statement
        if not isinstance(triple.subject, NamedNode):
            continue
        record = records.setdefault(triple.subject.value, Record())
        record.triples.append(triple)
        if triple.predicate.value == KG + "contentHash" and isinstance(triple.object, Literal):
            record.digest = triple.object.value
    return records


def mentions_on(remote: Remote) -> Callable[[Sequence[str]], dict[str, set[str]]]:
    """For a build: which of the remote's graphs type each of some organisation IRIs as an organisation
    (a query per :data:`BATCH_GRAPHS` IRIs: a store built before identities were recorded asks for many)."""
    def mentions(organisations: Sequence[str]) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {iri: set() for iri in organisations}
        for start in range(0, len(organisations), BATCH_GRAPHS):
            values = " ".join(f"<{iri}>" for iri in organisations[start:start + BATCH_GRAPHS])
            rows = remote.select(f"SELECT DISTINCT ?o ?g WHERE {{ VALUES ?o {{ {values} }} "
                                 f"GRAPH ?g {{ ?o a <{KG}Organisation> }} }}")
            for row in rows:
                organisation, graph = row.get("o"), row.get("g")
                if isinstance(organisation, NamedNode) and isinstance(graph, NamedNode):
                    found.setdefault(organisation.value, set()).add(graph.value)
        return found
    return mentions


def _ntriples(nquads: bytes, graph: str) -> bytes:
    """A source's N-Quads (all in ``graph``) as N-Triples: the graph term cut off each line."""
    suffix = f" <{graph}> .".encode()
    lines = nquads.splitlines()
    if all(line.endswith(suffix) for line in lines):
        return b"".join(line[: -len(suffix)] + b" .\n" for line in lines)
    return serialize((q.triple for q in parse(nquads, format=RdfFormat.N_QUADS)), format=RdfFormat.N_TRIPLES) or b""


def _body(triples: Iterable[Triple | Quad]) -> bytes:
    return serialize((t.triple if isinstance(t, Quad) else t for t in triples), format=RdfFormat.N_TRIPLES) or b""


def drop_bases(remote: Remote, bases: Sequence[Iris]) -> None:
    """Delete every graph kgbuild wrote under each of ``bases``: a build under another base mints them anew.

    Each base's build graph goes last: a build that dies halfway still finds the base recorded, and the
    next build under the new base deletes what is left before it writes (never two copies).
    """
    for iris in bases:
        build = iris.build_graph.value
        for graph in remote.graphs_under(iris.graph().value):
            if graph != build:
                remote.delete_graph(graph)
        remote.delete_graph(build)


def write_remote(remote: Remote, iris: Iris, records: Mapping[str, Record], static_changes: Mapping[NamedNode,
                 StaticGraph], to_remove: Sequence[str], to_write: Sequence[PreparedSource], stamp: Literal,
                 include_personal: bool, report: BuildReport) -> None:
    """Write what changed to ``remote``; the build graph last. Fills in ``report``.

    :raises RemoteError: when the remote refuses or cannot be reached (after its retries); graphs sent
        before that are wholly new, the others wholly old, and the next build sends what was not confirmed.
    """

    personal_prefix = iris.graph("personal").value + "/"
    source_prefix = iris.graph("source").value + "/"
    personal_there = set(remote.graphs_under(personal_prefix))
    if not include_personal and personal_there:
        for graph in sorted(personal_there):
            remote.delete_graph(graph)
        report.warnings.append(f"deleted {len(personal_there)} personal-data graph(s) from {remote.name}: "
                               "personal data goes to a remote store only with --include-personal-data")
        personal_there.clear()

    kept = {graph: record for graph, record in records.items()}
    fresh: dict[str, list[Triple]] = {}
    last_checkpoint = time.monotonic()

    def checkpoint() -> None:
        body = [t for record in kept.values() for t in record.triples] + [t for ts in fresh.values() for t in ts]
        remote.put_graph(iris.build_graph.value, _body(body))

    for static_graph, static in static_changes.items():
        remote.put_graph(static_graph.value, _body(static.quads))
        kept.pop(static_graph.value, None)
        fresh[static_graph.value] = [q.triple for q in build_record(static_graph, iris, static.digest, stamp, None)]

    for graph in to_remove:
        remote.delete_graph(graph)
        personal = graph.replace("/graph/source/", "/graph/personal/", 1)
        if personal in personal_there:
            remote.delete_graph(personal)
        kept.pop(graph, None)
        report.removed.append(graph.removeprefix(source_prefix))

    by_graph = {item.graph: item for item in to_write}
    for start in range(0, len(to_write), BATCH_GRAPHS):
        batch = to_write[start:start + BATCH_GRAPHS]
        bodies = [(item.graph, _ntriples(item.nquads, item.graph)) for item in batch]
        if include_personal:
            bodies += [(item.personal_graph, _ntriples(item.personal_nquads, item.personal_graph))
                       for item in batch if item.personal_nquads]
        for item in batch:
            if item.personal_graph in personal_there and not (include_personal and item.personal_nquads):
                remote.delete_graph(item.personal_graph)
        confirmed: list[str] = []
        try:
            remote.put_graphs(bodies, confirmed.append)
        finally:
            for graph in confirmed:
                written = by_graph.get(graph)
                if written is None:  # a personal graph: recorded with its source
                    continue
                kept.pop(graph, None)
                document = iris.id("source", iris.source_key(written.source))
                recorded = digest_for(written.digest, include_personal)
                fresh[graph] = [q.triple for q in build_record(NamedNode(graph), iris, recorded, stamp, document,
                                                                written.owners)]
        if time.monotonic() - last_checkpoint > CHECKPOINT_SECONDS and start + BATCH_GRAPHS < len(to_write):
            checkpoint()
            last_checkpoint = time.monotonic()

    if static_changes or to_remove or to_write:
        checkpoint()
    report.replaced = [item.source.name for item in to_write]
    report.generation = None
