"""The pipeline: the only module that composes the stages (read → map → validate → load).

``build`` reads every source (parsing is cheap), maps them with corpus-wide organisation identities,
and then does the expensive work only for sources whose graph changed since the store's current
generation: validate them (in parallel when there are many) and replace exactly their named graphs.
A source that fails to parse or has violations is named in the report and not published; if an
earlier build published it, that version stays. The new generation is switched in only when complete.

A build adds: the sources it is not given stay as they are. Only ``sync`` (the store then holds exactly
the given sources) and ``remove`` (the named sources) take sources out, and a build whose every given
source fails changes nothing at all.

The stages, in order, each in its module: :mod:`kgbuild.sources` (read and parse),
:mod:`kgbuild.prepare` (map), :mod:`kgbuild.validate_stage` (validate), :mod:`kgbuild.plan` (what
changes), :mod:`kgbuild.load` (write), with the hand-offs of :mod:`kgbuild.handoffs`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pyoxigraph import Literal

from kgbuild.duplicates import source_warnings
from kgbuild.errors import KgbuildError
from kgbuild.executors import LOCAL, Executor, open_executor
from kgbuild.handoffs import BuildReport, PreparedSource, Progress
from kgbuild.iris import Iris, source_key
from kgbuild.load import build_new_store, write_changes
from kgbuild.plan import (
    Asked,
    Published,
    earlier_bases,
    graphs_to_remove,
    mark_kept_previous,
    published_statements,
    relinking,
)
from kgbuild.prepare import map_parsed, organisation_identity, static_graphs
from kgbuild.provenance import literal_time
from kgbuild.sources import default_sources, parse_sources
from kgbuild.store import GraphStore
from kgbuild.stores import store_at
from kgbuild.validate_stage import refusals_of, validate_prepared

if TYPE_CHECKING:
    from kgbuild.remote import Remote

__all__ = ["build", "ensure_built"]


def build(paths: Sequence[Path], store_dir: Path | Remote | GraphStore, iris: Iris, progress: Progress | None = None,
          now: dt.datetime | None = None, workers: int | None = None, executor: str = LOCAL,
          include_personal: bool = False, sync: bool = False, remove: Sequence[str] = (),
          dry_run: bool = False) -> BuildReport:
    """Parse, map, validate and load ``paths`` into the store at ``store_dir`` (a directory, a remote store's
    client, or a :class:`~kgbuild.store.GraphStore`).

    A build adds: each given source replaces its earlier version (when it changed), and the sources the
    store holds that are not given stay as they are. A source is known by its file name, without the
    directory: its graph is named after it. A source that fails keeps its previously published version,
    if any; when sources are given and every one fails, nothing is written at all
    (``report.every_source_failed``), not even what ``sync`` or ``remove`` would take out.

    :param sync: the store afterwards holds exactly these sources: the others are removed.
    :param remove: sources to take out, each a path, a file name or a graph's name
        (``002-c5b1d8a317488e7e``); every one must be in the store.
    :param dry_run: write nothing; the report says what the build would load, leave and remove.
    :param workers: local processes for parsing and mapping (default: one per core; used when there
        are many sources).
    :param executor: where parsing, mapping and validation run: ``local`` (this machine) or
        ``dask://HOST:PORT`` (a Dask cluster; :mod:`kgbuild.executors`). The store is the same either way.
    :param include_personal: a remote store only: also send the personal-data graphs (the embedded store
        always keeps them, in its separate database). Off, personal graphs found on the remote are deleted.
    :raises KgbuildError: when the store cannot be written (another build holds it, disk full, the remote
        refused...), the executor cannot be used (a Dask scheduler that does not answer...), or ``remove``
        names a source the store does not hold (then nothing is written).
    """
    store = store_at(store_dir)
    report = BuildReport(store=store.location, sources=len(paths), dry_run=dry_run)
    stamp = literal_time(now or dt.datetime.now(dt.UTC), precise=store.precise_stamps)
    with open_executor(executor, workers) as runner:
        return _build(paths, store, iris, report, stamp, progress, runner, include_personal,
                      Asked(sync, tuple(remove), dry_run))


def _build(paths: Sequence[Path], store: GraphStore, iris: Iris, report: BuildReport, stamp: Literal,
           progress: Progress | None, runner: Executor, include_personal: bool, asked: Asked) -> BuildReport:
    if progress:
        progress("parse", len(paths))
    parsed, report.failures = parse_sources(paths, runner)
    statics = static_graphs(iris)
    report.generation = store.generation()
    earlier = earlier_bases(store.recorded_graphs(), iris, asked, report.store)
    statements = published_statements(store, iris) if not earlier else []
    published = Published.of(statements)
    held = {base: Published.of(published_statements(store, Iris(base))) for base in earlier}

    def digest(p: PreparedSource) -> str:
        return store.recorded_digest(p.digest, include_personal)

    report.earlier_bases = [base for base in earlier if base != iris.base]
    # Minted anew under this base, the store keeps none of its sources: those not given are removed.
    given_keys = {source_key(info.name) for info, _ in parsed}
    remint_removed = sorted({graph.removeprefix(Iris(base).graph("source").value + "/")
                             for base, old in held.items() for graph in old.sources(Iris(base))} - given_keys)
    to_remove = graphs_to_remove(paths, published, iris, asked.sync, asked.remove, report.store)
    mark_kept_previous(report.failures, published, iris)
    if paths and not parsed:
        report.every_source_failed = True
        return report
    given = {iris.source_graph(info).value for info, _ in parsed}
    removing = set(to_remove)
    kept = {graph for graph in published.sources(iris) if graph not in given and graph not in removing}
    identity = organisation_identity(parsed, *(owner for graph in kept for owner in published.owners.get(graph, [])))
    if store.loads_in_bulk(bool(earlier)) and not asked.dry_run:
        build_new_store(store, parsed, identity, statics, iris, report, stamp, progress, runner,
                       fresh=bool(earlier))
        if not report.every_source_failed:
            report.removed = remint_removed
        return report

    if progress:
        progress("map", len(parsed))
    prepared = map_parsed(parsed, identity, iris, runner)
    report.warnings = source_warnings(prepared) + relinking(published, kept, identity, iris, store.mentions)
    if not runner.remote:
        runner.close()  # a local pool's processes are done: free their memory before validating and loading
    changed = [p for p in prepared if published.digests.get(p.graph) != digest(p)]
    report.unchanged = [p.source.name for p in prepared if published.digests.get(p.graph) == digest(p)]
    if progress:
        progress("validate", len(changed))
    report.validation = validate_prepared(changed, statics[iris.reference_graph].quads, executor=runner)
    refusals = refusals_of(report.validation, {p.source.name: p.graph for p in changed}, published.digests)
    report.failures += refusals
    refused = {failure.source for failure in refusals}
    to_write = [p for p in changed if p.source.name not in refused]
    if paths and not (to_write or report.unchanged):
        report.every_source_failed = True
        return report
    report.added = [p.source.name for p in to_write if p.graph not in published.digests]
    source_prefix = iris.graph("source").value + "/"
    static_changes = {g: s for g, s in statics.items() if published.digests.get(g.value) != s.digest}
    if asked.dry_run:
        report.replaced = [p.source.name for p in to_write]
        report.removed = [graph.removeprefix(source_prefix) for graph in to_remove] + remint_removed
        return report

    write_changes(store, iris, static_changes, to_remove, to_write, stamp, include_personal, report, earlier,
                  statements, progress)
    report.removed += remint_removed
    return report


def ensure_built(store_dir: Path | GraphStore, iris: Iris) -> BuildReport | None:
    """Build the bundled corpus when the store takes it (it is empty: the README's one command); else do nothing.

    (A remote store never takes it: it is served empty until a build fills it.)
    """
    store = store_at(store_dir)
    if not store.takes_bundled_corpus():
        return None
    report = build(default_sources(), store, iris)
    if store.generation() is None:
        raise KgbuildError("the bundled corpus did not build: " + "; ".join(f.problem for f in report.failures))
    return report
