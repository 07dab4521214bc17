"""The store interface (:class:`kgbuild.store.GraphStore`) over the embedded store.

Input: a store directory (:class:`kgbuild.store.StoreDirectory`: generations of an on-disk Oxigraph
database and the ``CURRENT`` pointer). Output: what every command and the server ask of a store: builds
write a new generation and switch it in, queries run on the current generation read-only, exports and
dumps read a generation as it is, and the server runs its queries in worker processes
(:mod:`kgbuild.server.workers`). The databases themselves are opened by :mod:`kgbuild.store`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from pyoxigraph import NamedNode, Quad, Store, Triple

from kgbuild.store import (
    Fill,
    GraphChanges,
    StoreDirectory,
    open_changes,
    open_generation,
    open_in_memory,
    open_read_only,
)

if TYPE_CHECKING:
    from pyoxigraph import QuerySolutions

    from kgbuild.iris import Iris
    from kgbuild.server.answers import QueryBackend
    from kgbuild.settings import Settings
    from kgbuild.sparql import QueryInfo

__all__ = ["EmbeddedStore"]


def _graph_names(rows: Any) -> list[str]:
    names = []
    for row in rows:
        graph = row.get("g") if isinstance(row, dict) else row["g"]
        if isinstance(graph, NamedNode):
            names.append(graph.value)
    return names


class EmbeddedStore:
    """The embedded store: the generations of an on-disk Oxigraph database in one directory."""

    keeps_change_log = True
    precise_stamps = False
    dumps_in_own_process = True

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.directory = StoreDirectory(Path(root))
        self.location: Path | str = self.directory.root
        self._served: tuple[str | None, Store] | None = None
        self._stamp: Callable[[], str] | None = None

    def close(self) -> None:
        self._served = None

    def __enter__(self) -> EmbeddedStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"EmbeddedStore({str(self.location)!r})"

    def _read(self) -> Store:
        """The current generation, read-only (an empty store when nothing is built); opened once per generation."""
        current = self.directory.current()
        name = current.name if current is not None else None
        if self._served is None or self._served[0] != name:
            self._served = (name, open_generation(current) if current is not None else open_in_memory())
        return self._served[1]

    def where(self, generation: str | None) -> str:
        return f"{self.location}/{generation}" if generation else str(self.location)

    def generation(self) -> str | None:
        current = self.directory.current()
        return current.name if current is not None else None

    def served_generation(self) -> str | None:
        return self.generation()

    def stamp(self) -> str:
        if self._stamp is None:
            from kgbuild.server.cache import CurrentGeneration

            self._stamp = CurrentGeneration(self.directory.root)
        return self._stamp()

    def recorded_graphs(self) -> list[str]:
        from kgbuild.iris import RECORDED_BASES

        return _graph_names(cast("QuerySolutions", self._read().query(RECORDED_BASES)))

    def build_statements(self, iris: Iris, predicates: Sequence[str]) -> list[Quad | Triple]:
        store = self._read()
        return [quad for predicate in predicates
                for quad in store.quads_for_pattern(None, NamedNode(predicate), None, iris.build_graph)]

    def mentions(self, organisations: Sequence[str]) -> dict[str, set[str]]:
        from kgbuild.vocab import KG, RDF

        store, typed, organisation = self._read(), NamedNode(RDF + "type"), NamedNode(KG + "Organisation")
        return {iri: {q.graph_name.value for q in store.quads_for_pattern(NamedNode(iri), typed, organisation, None)
                      if isinstance(q.graph_name, NamedNode)} for iri in organisations}

    def recorded_digest(self, digest: str, include_personal: bool) -> str:
        return digest  # the personal graphs are always kept, in their own database

    def loads_in_bulk(self, anew: bool) -> bool:
        return anew or self.directory.current() is None

    def bulk_load(self, fill: Fill, fresh: bool, record: Fill | None) -> None:
        self.directory.write_generation(fill, fresh=fresh, record=record, compact=True)

    def replace_graphs(self, changes: GraphChanges, progress: Callable[[str, int], None] | None) -> None:
        if not changes:
            return
        if progress:
            progress("load", len(changes.to_write))
        self.directory.write_generation(changes.fill, record=changes.record)
        changes.report.generation = self.generation()

    def answer(self, text: str, info: QueryInfo, write: Callable[[Any], None], timeout: float,
               include_personal: bool) -> None:
        from kgbuild.query import dataset_for, execute, on_query_stack

        store = open_read_only(self.directory.root, include_personal)
        on_query_stack(lambda: write(execute(store, text, dataset_for(None, info))))

    def snapshot(self, iris: Iris, include_personal: bool, scratch: Path,
                 generation: str | None = None) -> AbstractContextManager[Store]:
        if generation is None:
            return contextlib.nullcontext(open_read_only(self.directory.root, include_personal))
        return contextlib.nullcontext(open_generation(self.directory.root / generation, include_personal))

    def open_changes(self) -> tuple[str, Store] | None:
        return open_changes(self.directory.root)

    def check_serving(self, iris: Iris, include_personal: bool) -> None:
        return None  # served as it is: read-only generations, the personal data in their own databases

    def takes_bundled_corpus(self) -> bool:
        return not self.directory.exists()

    def dumps_home(self) -> Path:
        return self.directory.root

    def query_backend(self, settings: Settings) -> QueryBackend:
        from kgbuild.server.workers import WorkerPool

        return WorkerPool(self.directory.root, settings.query_workers, settings.query_timeout,
                          settings.queries_per_worker)


