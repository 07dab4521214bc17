"""What a build changes, planned from what the store's build graph records it holds.

Input: the store's build records (:mod:`kgbuild.provenance`) and what the build is asked; output: the
graphs it holds (:class:`Published`), the bases it was built with, the graphs a build removes, which
failures keep an earlier version, and which kept sources need relinking. Nothing here writes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pyoxigraph import Literal, NamedNode, Quad, Triple

from kgbuild.errors import KgbuildError
from kgbuild.handoffs import SourceFailure
from kgbuild.iris import Iris, SourceInfo, recorded_bases, source_key
from kgbuild.mapping import OrganisationIdentity
from kgbuild.provenance import STATED_OWNER, owner_of
from kgbuild.store import GraphStore
from kgbuild.stores import store_at
from kgbuild.vocab import KG

if TYPE_CHECKING:
    from kgbuild.remote import Remote

__all__ = ["Published", "published_statements", "store_bases", "earlier_bases", "Asked", "graphs_to_remove",
           "mark_kept_previous", "Mentions", "relinking"]


@dataclass(frozen=True)
class Published:
    """What a store holds, as its build graph records it."""

    digests: dict[str, str]  # graph IRI → content hash: every graph (the sources, the ontology, the reference data)
    owners: dict[str, list[tuple[str, str]]]  # source graph IRI → the owners its source states

    @classmethod
    def of(cls, statements: Iterable[Quad | Triple]) -> Published:
        published = cls({}, {})
        for statement in statements:
            subject, value = statement.subject, statement.object
            if not isinstance(subject, NamedNode) or not isinstance(value, Literal):
                continue
            if statement.predicate.value == KG + "contentHash":
                published.digests[subject.value] = value.value
            elif statement.predicate.value == STATED_OWNER:
                published.owners.setdefault(subject.value, []).append(owner_of(value.value))
        return published

    def sources(self, iris: Iris) -> list[str]:
        prefix = iris.graph("source").value + "/"
        return [graph for graph in self.digests if graph.startswith(prefix)]


def published_statements(store: GraphStore, iris: Iris) -> list[Quad | Triple]:
    """The build graph's statements a build reads: content hashes of every graph, owners of the sources."""
    return store.build_statements(iris, (KG + "contentHash", STATED_OWNER))


def store_bases(store: Path | Remote | GraphStore) -> list[str]:
    """The base IRIs a store was built with: none for a store never built, one otherwise (two or more only
    in a store built under several before kgbuild checked; see :func:`~kgbuild.iris.recorded_bases`)."""
    return recorded_bases(store_at(store).recorded_graphs())


def earlier_bases(graphs: Iterable[str], iris: Iris, asked: Asked, store: Path | str) -> list[str]:
    """The other bases the store was built with, which a build under ``iris`` mints anew (only with ``sync``).

    Two bases in one store are two copies of every project (each counted, each summed): a build under
    another base either replaces everything (``sync``: it is given every source the store should hold)
    or changes nothing.

    :raises KgbuildError: when the store was built with another base and the build is not a ``sync``.
    """
    bases = recorded_bases(graphs)
    if not bases or bases == [iris.base]:
        return []
    if not asked.sync:
        if len(bases) > 1:
            raise KgbuildError(f"{store} holds graphs minted under {len(bases)} base IRIs ({', '.join(bases)}): "
                               f"build again with --sync and every source it should hold to keep one copy under "
                               f"{iris.base}; nothing changed")
        raise KgbuildError(f"{store} was built with base IRI {bases[0]}, not {iris.base}: use --base-iri {bases[0]}, "
                           f"or build again with --sync and every source it should hold to mint its IRIs anew "
                           f"under {iris.base}; nothing changed")
    return bases  # every one, this build's too when there are several: the store is built again from nothing


@dataclass(frozen=True)
class Asked:
    """What a build is asked besides loading its sources."""

    sync: bool
    remove: tuple[str, ...]
    dry_run: bool


def graphs_to_remove(paths: Sequence[Path], published: Published, iris: Iris, sync: bool, names: Sequence[str],
                     store: Path | str) -> list[str]:
    """The source graphs a build takes out: with ``sync`` those of sources not given, and those ``names`` name.

    A name is a path, a file name or a graph's own name: all three give the graph (as a source's file name does).

    :raises KgbuildError: for a name the store holds no source of.
    """
    held = set(published.sources(iris))
    doomed: set[str] = set()
    if sync:
        given = {iris.graph("source", source_key(path.name)).value for path in paths}
        doomed.update(graph for graph in held if graph not in given)
    for name in names:
        graph = iris.graph("source", source_key(Path(name).name)).value
        if graph not in held:
            prefix = iris.graph("source").value + "/"
            some = ", ".join(sorted(g.removeprefix(prefix) for g in held)[:3]) + (", ..." if len(held) > 3 else "")
            holds = f"it holds {len(held)}: {some}" if held else "it holds none"
            raise KgbuildError(f"no source {name!r} in {store} ({holds}); nothing removed")
        doomed.add(graph)
    return sorted(doomed)


def mark_kept_previous(failures: list[SourceFailure], published: Published, iris: Iris) -> None:
    """Mark each failure whose source has a published version (which stays)."""
    for index, failure in enumerate(failures):
        graph = iris.source_graph(SourceInfo(Path(failure.source).name, "", "")).value
        failures[index] = dataclasses.replace(failure, kept_previous=graph in published.digests)


# Organisation IRIs → the graphs that type each as an organisation (in the store a build writes to).
Mentions = Callable[[Sequence[str]], dict[str, set[str]]]


def relinking(published: Published, kept: set[str], identity: OrganisationIdentity, iris: Iris,
              mentions: Mentions) -> list[str]:
    """A warning naming the sources kept as they are whose links this build's organisation identities change.

    A kept source is not read again, so it keeps the IRIs it was mapped with: when a source given (or
    removed) now states (or no longer states) the organisationsnummer of a name a kept source mentions,
    that source links the earlier IRI until it is built again (which redirects to the current one while
    a source states the number, :meth:`~kgbuild.mapping.OrganisationIdentity.aliases`). An organisation
    that governs a municipality keeps its IRI either way: only its registration waits for the rebuild.
    """
    before = OrganisationIdentity.from_owners(owner for owners in published.owners.values() for owner in owners)
    earlier: dict[str, set[str]] = {}  # an IRI a kept source may have minted → the numbers stating it makes it
    # Only names: an organisation that governs a municipality has one IRI whatever numbers are known.
    old, new = before.by_name, identity.by_name
    for key in old.keys() | new.keys():
        if old.get(key) != new.get(key):
            number = old.get(key)
            earlier.setdefault(iris.id("organisation", *((number,) if number else ("name", key))).value,
                               set()).update((number,) if number else ())
    if not earlier or not kept:
        return []
    stale: set[str] = set()
    for iri, graphs in mentions(sorted(earlier)).items():
        # A source that states the number itself linked it from its own text, not from the identities.
        stale.update(g for g in graphs & kept if not {n for n, _ in published.owners.get(g, [])} & earlier[iri])
    if not stale:
        return []
    prefix = iris.graph("source").value + "/"
    names = sorted(graph.removeprefix(prefix) for graph in stale)
    listed = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
    return [f"organisation identities changed (an organisationsnummer is stated anew, or no longer), and "
            f"{len(names)} source(s) not given in this build keep their earlier links: {listed}; "
            "build them again to relink them"]
