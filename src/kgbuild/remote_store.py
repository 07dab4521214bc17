"""The store interface (:class:`kgbuild.store.GraphStore`) over a remote store.

Input: a :class:`~kgbuild.remote.Remote` client. Output: what every command and the server ask of a
store, done over the SPARQL protocol and the Graph Store Protocol: builds write graph by graph
(:mod:`kgbuild.remote_build`), queries stream back, exports and dumps read a copy of the graphs in a
scratch store, and the server runs its queries on the remote (:mod:`kgbuild.server.remote_pool`).
A remote store keeps no generations and no change log: what needs them says so.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyoxigraph import NamedNode, Quad, Store, Triple

from kgbuild.errors import KgbuildError
from kgbuild.mapping import RECORDED_BASES, Iris
from kgbuild.remote import Remote

if TYPE_CHECKING:
    from kgbuild.server.answers import QueryBackend
    from kgbuild.server.remote_pool import RemoteGeneration
    from kgbuild.settings import Settings
    from kgbuild.sparql import QueryInfo
    from kgbuild.store import Fill, GraphChanges

__all__ = ["RemoteStore"]


class RemoteStore:
    """A remote store as a :class:`~kgbuild.store.GraphStore`; closes its client only when ``owned``."""

    keeps_change_log = False
    # The server notices a build by the latest build time on the remote: to the microsecond, so that two
    # builds within one second are told apart.
    precise_stamps = True
    dumps_in_own_process = False  # the copy over HTTP is mostly waiting; niced, a busy machine starves it

    def __init__(self, remote: Remote, owned: bool = False) -> None:
        self.remote = remote
        self.owned = owned
        self.location: Path | str = remote.name
        self._generation: RemoteGeneration | None = None

    def close(self) -> None:
        if self.owned:
            self.remote.close()

    def __enter__(self) -> RemoteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<remote store {self.location}>"

    def where(self, generation: str | None) -> str:
        return f"remote store {self.location}"

    def generation(self) -> str | None:
        return None  # a remote store has no generations: a build changes it graph by graph

    def served_generation(self) -> str | None:
        name = self.stamp()
        if not name:
            raise KgbuildError(f"the remote store {self.remote.query_url} cannot be read")
        return name

    def stamp(self) -> str:
        return self._generation() if self._generation is not None else ""

    def recorded_graphs(self) -> list[str]:
        return [graph.value for row in self.remote.select(RECORDED_BASES)
                if isinstance(graph := row.get("g"), NamedNode)]

    def build_statements(self, iris: Iris, predicates: Sequence[str]) -> list[Quad | Triple]:
        return list(self.remote.get_graph(iris.build_graph.value))  # all of it: a build rewrites it whole

    def mentions(self, organisations: Sequence[str]) -> dict[str, set[str]]:
        from kgbuild.remote_build import mentions_on

        return mentions_on(self.remote)(organisations)

    def recorded_digest(self, digest: str, include_personal: bool) -> str:
        from kgbuild.remote_build import digest_for

        return digest_for(digest, include_personal)

    def loads_in_bulk(self, anew: bool) -> bool:
        return False  # one PUT per graph, even into an empty remote

    def bulk_load(self, fill: Fill, fresh: bool, record: Fill | None) -> None:
        raise KgbuildError(f"remote store {self.location}: a remote store is written graph by graph, "
                           "not in one bulk load")

    def replace_graphs(self, changes: GraphChanges, progress: Callable[[str, int], None] | None) -> None:
        from kgbuild.remote_build import drop_bases, records_of, write_remote

        if progress:
            progress("load", len(changes.to_write))
        drop_bases(self.remote, [Iris(base) for base in changes.earlier])
        write_remote(self.remote, changes.iris, records_of(changes.published), changes.static_changes,
                     changes.to_remove, changes.to_write, changes.stamp, changes.include_personal, changes.report)

    def answer(self, text: str, info: QueryInfo, write: Callable[[Any], None], timeout: float,
               include_personal: bool) -> None:
        deadline = time.monotonic() + timeout
        with self.remote.query(text, graph=info.form in ("CONSTRUCT", "DESCRIBE"), timeout=timeout,
                               deadline=deadline) as answer:
            write(answer)

    @contextlib.contextmanager
    def snapshot(self, iris: Iris, include_personal: bool, scratch: Path,
                 generation: str | None = None) -> Iterator[Store]:
        from kgbuild.merge import merging_into
        from kgbuild.remote import copy_graphs
        from kgbuild.store import scratch_store

        # A copy of the remote's graphs in a scratch store (too large for memory at scale), read as the
        # embedded store is; copying over HTTP is mostly waiting.
        personal = "" if include_personal else iris.graph("personal").value + "/"
        with scratch_store(scratch) as store:
            copy_graphs(self.remote, iris.base + "graph/", personal, merging_into(store))
            yield store

    def open_changes(self) -> tuple[str, Store] | None:
        return None  # a remote store's builds keep no change log

    def check_serving(self, iris: Iris, include_personal: bool) -> None:
        from kgbuild.server.remote_pool import check_serving

        check_serving(self.remote, iris, include_personal)

    def takes_bundled_corpus(self) -> bool:
        return False  # an empty remote is served empty until a build fills it

    def dumps_home(self) -> Path:
        return Path("kgdumps")

    def query_backend(self, settings: Settings) -> QueryBackend:
        from kgbuild.server.remote_pool import RemoteGeneration, RemotePool

        self._generation = RemoteGeneration(self.remote, Iris(settings.base_iri), settings.include_personal_data)
        return RemotePool(self.remote, settings.query_workers, settings.query_timeout, self._generation)
