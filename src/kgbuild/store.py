"""The store: an on-disk Oxigraph database, replaced atomically, one generation at a time.

Layout of a store directory::

    kgstore/
      CURRENT            name of the generation being served (replaced with an atomic rename)
      gen-000001/        a complete Oxigraph database
      gen-000002/        the next one, built beside it
      gen-000002.changes/  the change log up to that generation (:mod:`kgbuild.changes`), its own database

A build writes a new generation, starting from a cheap checkpoint of the current one (Oxigraph's
``backup`` hard-links its files), changes only the graphs that changed, and switches ``CURRENT``
only when it is complete. A build that is killed or fails leaves ``CURRENT`` and its generation
untouched. Readers open the current generation read-only. This is the only module that opens a
pyoxigraph ``Store``.

It also holds the store interface every command and the server work through, :class:`GraphStore`, and what
a build hands it (:class:`GraphChanges`). Its implementations build on this module and it imports neither:
:class:`kgbuild.embedded_store.EmbeddedStore` (over a :class:`StoreDirectory`) and
:class:`kgbuild.remote_store.RemoteStore`; :func:`kgbuild.stores.open_store` chooses between them from the
settings. Callers hold a ``GraphStore`` and never ask which kind it is.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

from pyoxigraph import NamedNode, Quad, Store, Triple

from kgbuild.errors import KgbuildError
from kgbuild.merge import has_merge, merged

if TYPE_CHECKING:
    from pyoxigraph import Literal

    from kgbuild.handoffs import BuildReport, PreparedSource, StaticGraph
    from kgbuild.iris import Iris
    from kgbuild.server.answers import QueryBackend
    from kgbuild.settings import Settings
    from kgbuild.sparql import QueryInfo

__all__ = ["StoreDirectory", "open_read_only", "open_in_memory", "open_generation", "open_changes",
           "scratch_store", "GraphStore", "GraphChanges", "Fill"]

T = TypeVar("T")
_GENERATION_RE = re.compile(r"^gen-([0-9]{6})$")
# Generations kept besides the current one: a server that opened the previous one keeps working.
KEEP_GENERATIONS = 3


class StoreDirectory:
    """A directory of store generations with a ``CURRENT`` pointer."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    @property
    def pointer(self) -> Path:
        return self.root / "CURRENT"

    def current(self) -> Path | None:
        """The generation being served, or ``None`` if nothing has been built yet."""
        try:
            name = self.pointer.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        path = self.root / name
        if not _GENERATION_RE.match(name) or not path.is_dir():
            raise KgbuildError(f"{self.pointer}: names {name!r}, which is not a store generation")
        return path

    def exists(self) -> bool:
        return self.current() is not None

    def generations(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        return sorted(p for p in self.root.iterdir() if p.is_dir() and _GENERATION_RE.match(p.name))

    def _next_generation(self) -> Path:
        numbers = [int(_GENERATION_RE.match(p.name).group(1)) for p in self.generations()]  # type: ignore[union-attr]
        return self.root / f"gen-{max(numbers, default=0) + 1:06d}"

    def write_generation(self, fill: Callable[[Store, Store], T], fresh: bool = False,
                         record: Callable[[Store, Store], None] | None = None, compact: bool = False) -> T:
        """Write a new generation with ``fill`` and switch it in; return what ``fill`` returns.

        The generation starts as a copy of the current one (empty with ``fresh``: a store whose IRIs are
        minted anew under another base keeps nothing of the old ones). ``fill`` gets the open public store and the
        open personal-data store beside it (``gen-N.personal``: contact persons, kept out of the public
        database so that it can be queried as one union graph and never shows them); the store
        never outlives this call, so it is closed before the switch (a reader must never open a
        database that still has a writer). If ``fill`` raises, the new generation is deleted and the
        current one stays. Only one build may write at a time (a lock file says so).

        ``record``, when given, is called after ``fill`` with the written public store and the change
        log (``gen-N.changes``: a copy of the current generation's, empty with ``fresh``), to append
        what this generation changed. The log is a database of its own, not a graph of the public one,
        so that it is in no query's dataset, no dump and no count, and it is switched in with the
        generation it describes or not at all.

        ``compact``: compact the new generation after ``fill`` (``Store.optimize``), while ``record``
        runs. A bulk load leaves many overlapping files: compacted, a generation (read-only from then
        on) answers an aggregate over 10,000 sources 1.6x faster; the compaction takes one core for
        about 8 s at 10,000 sources, and the change log's project digests (7 s) are written meanwhile.

        :raises KgbuildError: when another build holds the lock, or the new generation cannot be
            written or switched in (a full disk, say); the current generation then stays as it was.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        with self._lock():
            self._remove_abandoned()
            target = self._next_generation()
            try:
                result = self._fill(target, fill, fresh, record, compact)
                self._switch(target)
            except BaseException:
                if self.current() != target:  # never remove what was switched in
                    _remove_generation(target)
                raise
        self._collect_garbage()
        return result

    def _fill(self, target: Path, fill: Callable[[Store, Store], T], fresh: bool,
              record: Callable[[Store, Store], None] | None, compact: bool) -> T:
        current = None if fresh else self.current()
        try:
            if current is not None:
                Store.read_only(str(current)).backup(str(target))
                for beside in (personal_path, changes_path):
                    if beside(current).is_dir():
                        Store.read_only(str(beside(current))).backup(str(beside(target)))
            store = Store(str(target))
            personal = Store(str(personal_path(target)))
            log = Store(str(changes_path(target))) if record is not None else None
        except OSError as exc:
            raise KgbuildError(f"cannot create a new store generation in {self.root}: {exc}; "
                               "the current generation is still served") from None
        try:
            result = fill(store, personal)
            with ThreadPoolExecutor(max_workers=1) as side:  # Oxigraph releases the GIL while it compacts
                compacted = side.submit(store.optimize) if compact else None
                if record is not None and log is not None:
                    record(store, log)
                    log.flush()
                if compacted is not None:
                    compacted.result()
            store.flush()
            personal.flush()
        except OSError as exc:
            # The engine's I/O errors (a full disk, a file too large, a failing device) are not bugs: the
            # user can fix them. ``exc`` is not chained, so no frame keeps the store open once we raise.
            problem = str(exc)
        else:
            problem = ""
        finally:
            del store, personal, log  # the only references: closes the databases before a removal or the switch
        if problem:
            raise KgbuildError(f"cannot write a new store generation in {self.root}: {problem}; "
                               "the current generation is still served")
        return result

    def _switch(self, generation: Path) -> None:
        temporary = self.root / "CURRENT.tmp"
        try:
            with temporary.open("w", encoding="utf-8") as f:
                f.write(generation.name + "\n")
                f.flush()
                os.fsync(f.fileno())
        except OSError as exc:  # a full disk can refuse even these few bytes: the switch did not happen
            temporary.unlink(missing_ok=True)
            raise KgbuildError(f"cannot switch {self.pointer} to {generation.name}: {exc.strerror or exc}; "
                               "the current generation is still served") from None
        os.replace(temporary, self.pointer)
        directory = os.open(self.root, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    def _remove_abandoned(self) -> None:
        """Generations newer than CURRENT are what a killed build left behind."""
        current = self.current()
        for generation in self.generations():
            if current is None or generation.name > current.name:
                _remove_generation(generation)

    def _collect_garbage(self) -> None:
        current = self.current()
        older = [g for g in self.generations() if current is not None and g.name < current.name]
        for generation in older[:-KEEP_GENERATIONS] if len(older) > KEEP_GENERATIONS else []:
            _remove_generation(generation)

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        import fcntl

        with (self.root / "LOCK").open("w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise KgbuildError(f"another build is writing to {self.root}; try again when it is done") from None
            yield


def open_read_only(root: str | Path, include_personal: bool = False) -> Store:
    """The current generation of a store directory, opened read-only.

    :param include_personal: open the generation's copy that also holds the personal-data graphs
        (made on first use; only for an operator who opted in).
    :raises KgbuildError: when nothing has been built there yet.
    """
    directory = StoreDirectory(root)
    current = directory.current()
    if current is None:
        raise KgbuildError(f"no knowledge graph in {directory.root}: run `kgbuild build` first")
    return open_generation(current, include_personal)


def open_in_memory() -> Store:
    """An empty in-memory store (tests, and serving a loaded copy)."""
    return Store()


@contextlib.contextmanager
def scratch_store(parent: Path) -> Iterator[Store]:
    """A new on-disk store in a temporary directory under ``parent``, removed afterwards (a remote store's
    copy for making dumps: too large for memory at scale)."""
    import tempfile

    parent.mkdir(parents=True, exist_ok=True)
    directory = Path(tempfile.mkdtemp(prefix=".scratch-", dir=parent))
    try:
        store = Store(str(directory))
        try:
            yield store
        finally:
            del store
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def open_generation(path: str | Path, include_personal: bool = False) -> Store:
    """One generation, read-only (query workers follow ``CURRENT`` themselves)."""
    path = Path(path)
    try:
        return Store.read_only(str(_with_personal(path) if include_personal else path))
    except OSError as exc:
        raise KgbuildError(f"cannot open the store in {path}: {exc}") from None


def open_changes(root: str | Path) -> tuple[str, Store] | None:
    """The current generation's name and its change log (:mod:`kgbuild.changes`), opened read-only.

    :return: None when nothing has been built, or the generation has no log (built before kgbuild kept one).
    :raises KgbuildError: when the log is there but cannot be opened.
    """
    current = StoreDirectory(root).current()
    if current is None or not changes_path(current).is_dir():
        return None
    try:
        return current.name, Store.read_only(str(changes_path(current)))
    except OSError as exc:
        raise KgbuildError(f"cannot open the change log in {changes_path(current)}: {exc}") from None


def changes_path(generation: Path) -> Path:
    """The change-log database beside a generation."""
    return generation.with_name(generation.name + ".changes")


def personal_path(generation: Path) -> Path:
    """The personal-data database beside a generation."""
    return generation.with_name(generation.name + ".personal")


def _full_path(generation: Path) -> Path:
    return generation.with_name(generation.name + ".full")


def _with_personal(generation: Path) -> Path:
    """A generation's public graphs and personal graphs in one database, for the opted-in operator.

    Made once, from a hard-linked checkpoint of the public database plus the (small) personal graphs,
    in a temporary directory renamed into place: concurrent readers either see it whole or make it.
    """
    full = _full_path(generation)
    if full.is_dir():
        return full
    staging = generation.with_name(f"{generation.name}.full-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    Store.read_only(str(generation)).backup(str(staging))
    full_store = Store(str(staging))
    if personal_path(generation).is_dir():
        personal = list(Store.read_only(str(personal_path(generation))))
        if has_merge(full_store):  # the default graph stays the merge of every graph
            full_store.extend(merged(personal))
        full_store.extend(personal)
    full_store.flush()
    del full_store
    try:
        os.rename(staging, full)
    except OSError:  # another reader made it first
        shutil.rmtree(staging, ignore_errors=True)
    return full


def _remove_generation(generation: Path) -> None:
    """A generation with its personal-data database and its opted-in copy."""
    for path in (generation, personal_path(generation), changes_path(generation), _full_path(generation)):
        shutil.rmtree(path, ignore_errors=True)
    for leftover in generation.parent.glob(f"{generation.name}.full-*"):
        shutil.rmtree(leftover, ignore_errors=True)


# --- the store interface ---------------------------------------------------------------------------

Fill = Callable[[Store, Store], None]


@dataclass
class GraphChanges:
    """What a build changes in a store: planned once by :func:`kgbuild.pipeline.build`, whatever the kind.

    ``fill`` and ``record`` are the same changes as a new generation's content and its change-log entry
    (what the embedded store writes); the lists are what a store written graph by graph sends.
    """

    iris: Iris
    static_changes: dict[NamedNode, StaticGraph]
    to_remove: list[str]
    to_write: list[PreparedSource]
    stamp: Literal
    include_personal: bool
    report: BuildReport
    earlier: list[str]  # the bases the store was built with that this build mints anew: their graphs go
    published: list[Quad | Triple]  # the build graph's statements the build read (empty when minted anew)
    fill: Fill
    record: Fill | None

    def __bool__(self) -> bool:
        return bool(self.to_write or self.to_remove or self.static_changes)


@runtime_checkable
class GraphStore(Protocol):
    """The store a command or the server works on: embedded (:class:`kgbuild.embedded_store.EmbeddedStore`)
    or remote (:class:`kgbuild.remote_store.RemoteStore`), chosen once by :func:`kgbuild.stores.open_store`.

    Where an operation does not exist for one kind, that implementation says so with a
    :class:`~kgbuild.errors.KgbuildError`; callers never ask which kind they hold.
    """

    location: Path | str  # what a build report names: the directory, or the remote's URL
    keeps_change_log: bool  # builds log their changes (:mod:`kgbuild.changes`): the LDES feed, the dumps' mention of it
    precise_stamps: bool  # a build's time is recorded to the microsecond (a server polls for it)
    # The server makes dumps in a separate, lower-priority process (writing from a generation on disk holds
    # the interpreter), or in a thread of its own (copying a remote store's graphs is mostly waiting).
    dumps_in_own_process: bool

    def close(self) -> None: ...
    def __enter__(self) -> GraphStore: ...
    def __exit__(self, *exc: object) -> None: ...

    def where(self, generation: str | None) -> str:
        """How a message names the store after a build that left ``generation`` current."""
        ...

    def generation(self) -> str | None:
        """The generation a build starts from (``None``: nothing built yet, or a store without generations)."""
        ...

    def served_generation(self) -> str | None:
        """What is served now, for ``/health``; ``None`` when nothing is built.

        :raises KgbuildError: when the store cannot be read.
        """
        ...

    def stamp(self) -> str:
        """A token that changes whenever a build changes the store (``""``: none); cheap, asked per query."""
        ...

    def recorded_graphs(self) -> list[str]:
        """The build graphs the store holds (:data:`kgbuild.iris.RECORDED_BASES`): they name its bases."""
        ...

    def build_statements(self, iris: Iris, predicates: Sequence[str]) -> list[Quad | Triple]:
        """The statements of the build graph under ``iris``: at least those with one of ``predicates``."""
        ...

    def mentions(self, organisations: Sequence[str]) -> dict[str, set[str]]:
        """Which graphs type each of ``organisations`` as an organisation."""
        ...

    def recorded_digest(self, digest: str, include_personal: bool) -> str:
        """The content hash a build records for a source whose own hash is ``digest``."""
        ...

    def loads_in_bulk(self, anew: bool) -> bool:
        """Whether a build (minting every IRI ``anew``, or not) writes the whole store in one :meth:`bulk_load`."""
        ...

    def bulk_load(self, fill: Fill, fresh: bool, record: Fill | None) -> None:
        """Write the whole store with ``fill`` (from nothing when ``fresh``) and switch it in."""
        ...

    def replace_graphs(self, changes: GraphChanges, progress: Callable[[str, int], None] | None) -> None:
        """Replace, add and remove the graphs ``changes`` names, each wholly old or wholly new; fills in its report."""
        ...

    def answer(self, text: str, info: QueryInfo, write: Callable[[Any], None], timeout: float,
               include_personal: bool) -> None:
        """Run a checked, read-only query and hand its result (solutions, boolean or triples) to ``write``."""
        ...

    def snapshot(self, iris: Iris, include_personal: bool, scratch: Path,
                 generation: str | None = None) -> AbstractContextManager[Store]:
        """The store's graphs under ``iris`` as a read-only pyoxigraph store (of ``generation``, or the current
        one), for exports and dumps; a copy made under ``scratch`` where the graphs are not on this machine."""
        ...

    def open_changes(self) -> tuple[str, Store] | None:
        """The current generation's name and its change log; ``None`` when there is none."""
        ...

    def check_serving(self, iris: Iris, include_personal: bool) -> None:
        """Refuse a store that cannot be served as it is.

        :raises KgbuildError: when the store would answer differently from the embedded one, or leak.
        """
        ...

    def takes_bundled_corpus(self) -> bool:
        """Whether ``kgbuild serve`` builds the bundled corpus into the store first (it holds nothing yet)."""
        ...

    def dumps_home(self) -> Path:
        """Where the server keeps its dumps when ``--dumps-dir`` is not given."""
        ...

    def query_backend(self, settings: Settings) -> QueryBackend:
        """What runs the server's query jobs on this store (:class:`kgbuild.server.answers.QueryBackend`)."""
        ...
