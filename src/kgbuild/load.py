"""The load stage: prepared sources and the static graphs into the store's next generation.

Input: what the build accepted (:class:`~kgbuild.handoffs.PreparedSource`, validated) and what it
removes; output: the store's graphs replaced, their build records (:mod:`kgbuild.provenance`) and the
default graph's merge and current values settled. A new store is mapped, validated and loaded in one
pass (:func:`build_new_store`); an existing one has exactly the changed graphs replaced
(:func:`write_changes`).
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import IO, cast

from pyoxigraph import Literal, NamedNode, Quad, RdfFormat, Store, Triple, serialize

from kgbuild.changes import recorder
from kgbuild.current import settle_current
from kgbuild.duplicates import source_warnings, stated_in
from kgbuild.executors import Executor
from kgbuild.handoffs import BuildReport, PreparedSource, Progress, StaticGraph
from kgbuild.iris import Iris, SourceInfo
from kgbuild.mapping import MappedSource, OrganisationIdentity
from kgbuild.merge import MergeKeeper, merged
from kgbuild.prepare import prepare_batch
from kgbuild.provenance import build_record, build_records
from kgbuild.records import ParseResult
from kgbuild.report import Finding, ValidationReport, refused
from kgbuild.store import GraphChanges, GraphStore
from kgbuild.validate_stage import refusals_of
from kgbuild.validation import BATCH as VALIDATION_BATCH
from kgbuild.validation import reference_nquads

__all__ = ["build_new_store", "write_changes"]


def build_new_store(store: GraphStore, parsed: Sequence[tuple[SourceInfo, ParseResult]],
                    identity: OrganisationIdentity, statics: dict[NamedNode, StaticGraph], iris: Iris,
                    report: BuildReport, stamp: Literal, progress: Progress | None, runner: Executor,
                    fresh: bool = False) -> BuildReport:
    """A new store (or, ``fresh``, a store rebuilt from nothing): every source is mapped, validated and
    loaded in one pass.

    The workers map and validate batches of sources; as their N-Quads come in (a source with violations
    left out), one bulk load (no transaction per source) reads them as a stream while the workers go
    on. Loaded sources' N-Quads are dropped, where the
    stage-by-stage build held every source's until the load (gigabytes at 100,000 sources); the few
    stated by several sources are read back from the store to compare them. Each source's triples go
    into the default graph too (the merge: :mod:`kgbuild.merge`), less those its batch already gave.
    """
    if progress:
        progress("map, validate and load", len(parsed))
    reference = reference_nquads(statics[iris.reference_graph].quads)
    outcomes = runner.imap_batches(prepare_batch, parsed, (identity, iris.base, reference), count=len(parsed),
                                   limit=VALIDATION_BATCH)
    prepared: list[PreparedSource] = []
    findings: list[Finding] = []
    loaded: list[PreparedSource] = []
    personal_nquads: list[bytes] = []

    def accepted_nquads() -> Iterator[bytes]:
        for item, found in outcomes:
            found = found or []  # never None: the workers were given the reference data
            findings.extend(found)
            if refused(found):
                prepared.append(item)
                continue
            light = dataclasses.replace(item, nquads=b"", personal_nquads=b"", merged_nquads=b"")
            prepared.append(light)
            loaded.append(light)
            personal_nquads.append(item.personal_nquads)
            yield item.nquads
            yield item.merged_nquads
            # Its build record goes with it: one pass of the loader, none over Python objects at the end.
            record = list(build_records([light], iris, stamp))
            yield serialize(record + list(merged(record)), format=RdfFormat.N_QUADS) or b""

    def fill(store: Store, personal: Store) -> None:
        keeper = MergeKeeper(store)
        for graph, static in statics.items():
            _replace_graph(keeper, graph, static.quads, iris, static.digest, stamp, None)
        # One bulk load reading the sources' N-Quads as the workers deliver them. In pieces (one call
        # each), every call's files went into RocksDB's first level, and it spent about 55 s of CPU
        # merging them during a build at 100,000 sources; the bulk loader does none of that in one call.
        stream = _ChunkStream(accepted_nquads())
        try:
            store.bulk_load(input=cast("IO[bytes]", stream), format=RdfFormat.N_QUADS)
        except Exception:
            if stream.error is not None:  # the workers' own error, not the loader's bare I/O error
                raise stream.error from None
            raise
        if parsed and not loaded:
            raise _NothingLoaded  # every source has violations: no store of the ontology alone
        _settle_current(store, iris)
        report.warnings = source_warnings(prepared, lambda item: item.quads() if item.nquads else
                                          store.quads_for_pattern(None, None, None, NamedNode(item.graph)))
        report.replaced = [item.source.name for item in loaded]
        report.added = list(report.replaced)
        # Oxigraph releases the GIL: a thread loads the personal store (another database) while this one
        # counts the quads (a scan). The store compacts the generation after ``fill`` (see bulk_load).
        with ThreadPoolExecutor(max_workers=1) as side:
            personal_loaded = side.submit(personal.bulk_load, input=b"".join(personal_nquads),
                                          format=RdfFormat.N_QUADS)
            report.quads = len(store)
            personal_loaded.result()

    try:
        # A new log (or the first of a store built before logs were kept) records every project there is.
        store.bulk_load(fill, fresh=fresh, record=recorder(iris, set(), stamp))
    except _NothingLoaded:
        report.every_source_failed = True
    report.validation = ValidationReport.sorted(findings)
    report.failures += refusals_of(report.validation, {p.source.name: p.graph for p in prepared}, {})
    report.generation = store.generation()
    return report


class _ChunkStream(io.RawIOBase):
    """Chunks of bytes from an iterator as a stream that a reader pulls (and an error it met on the way).

    >>> stream = _ChunkStream(iter([b"a .\\n", b"", b"b .\\nc .\\n"]))
    >>> stream.read(3), stream.read()
    (b'a .', b'\\nb .\\nc .\\n')
    """

    def __init__(self, chunks: Iterator[bytes]) -> None:
        super().__init__()
        self._chunks = chunks
        self._chunk = memoryview(b"")
        self.error: BaseException | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._chunk:
            try:
                self._chunk = memoryview(next(self._chunks))
            except StopIteration:
                return 0
            except BaseException as exc:
                self.error = exc
                raise
        size = min(len(buffer), len(self._chunk))
        buffer[:size] = self._chunk[:size]
        self._chunk = self._chunk[size:]
        return size


def _settle_current(store: Store, iris: Iris) -> None:
    """The default graph holds the current value of what several sources state (:mod:`kgbuild.current`)."""
    prefix = iris.graph("source").value + "/"
    settle_current(store, iris.build_graph, prefix, lambda graph: iris.id("source", graph.removeprefix(prefix)).value)


class _NothingLoaded(Exception):
    """Raised in a new store's ``fill`` to leave it unwritten."""


def _forget(keeper: MergeKeeper, graph: NamedNode, iris: Iris) -> None:
    for quad in list(keeper.store.quads_for_pattern(graph, None, None, iris.build_graph)):
        keeper.remove(quad)


def _replace_graph(keeper: MergeKeeper, graph: NamedNode, quads: Sequence[Quad], iris: Iris, digest: str,
                   stamp: Literal, mapped: MappedSource | None) -> None:
    """Swap one named graph for new content and record what was loaded, when, from what."""
    keeper.remove_graph(graph)
    keeper.extend(quads)
    _forget(keeper, graph, iris)
    document = iris.id("source", iris.source_key(mapped.source)) if mapped is not None else None
    keeper.extend(build_record(graph, iris, digest, stamp, document))


def write_changes(store: GraphStore, iris: Iris, static_changes: dict[NamedNode, StaticGraph], to_remove: list[str],
                  to_write: list[PreparedSource], stamp: Literal, include_personal: bool, report: BuildReport,
                  earlier: list[str], statements: list[Quad | Triple], progress: Progress | None) -> None:
    """Replace exactly the graphs a build changes in the store's next generation (:class:`GraphChanges`), and
    say so in ``report`` (replaced, removed, quads)."""
    source_prefix = iris.graph("source").value + "/"
    # The projects this build may change, for the change log: those the graphs it replaces or removes
    # stated (read in ``fill`` before they go) and those the new versions state.
    touched = {subject for item in to_write for subject in item.subjects}

    def fill(store: Store, personal: Store) -> None:
        touched.update(stated_in(store, [*to_remove, *(item.graph for item in to_write)]))
        keeper = MergeKeeper(store)
        for graph, static in static_changes.items():
            _replace_graph(keeper, graph, static.quads, iris, static.digest, stamp, None)
        for graph_iri in to_remove:
            graph = NamedNode(graph_iri)
            keeper.remove_graph(graph)
            personal.remove_graph(NamedNode(graph_iri.replace("/graph/source/", "/graph/personal/", 1)))
            _forget(keeper, graph, iris)
            report.removed.append(graph_iri.removeprefix(source_prefix))
        for item in to_write:
            keeper.remove_graph(NamedNode(item.graph))
            personal.remove_graph(NamedNode(item.personal_graph))
            keeper.load(item.nquads, item.graph)
            if item.personal_nquads:
                personal.load(input=item.personal_nquads, format=RdfFormat.N_QUADS)
            _forget(keeper, NamedNode(item.graph), iris)
        keeper.extend(build_records(to_write, iris, stamp))
        keeper.settle()
        _settle_current(store, iris)
        report.replaced = [item.source.name for item in to_write]
        report.quads = len(store)

    store.replace_graphs(GraphChanges(iris, static_changes, to_remove, to_write, stamp, include_personal, report,
                                      earlier, statements, fill, recorder(iris, touched, stamp)), progress)
