"""The map stage of a build: parsed sources → :class:`~kgbuild.handoffs.PreparedSource` (mapped with
corpus-wide organisation identities, as sorted N-Quads with a content hash), and the static graphs.

Input: parsed sources (:mod:`kgbuild.sources`); output: prepared sources, in batches where an executor
runs. A batch given the reference data is validated in the same task (:func:`prepare_batch`): a new
store maps, validates and loads in one pass.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path

from pyoxigraph import NamedNode, Quad, RdfFormat, parse, serialize

from kgbuild.duplicates import source_warnings, stated_projects
from kgbuild.executors import Executor, LocalExecutor
from kgbuild.handoffs import PreparedSource, SourceFailure, StaticGraph
from kgbuild.iris import Iris, SourceInfo
from kgbuild.mapping import MappedSource, OrganisationIdentity, map_source, reference_quads, stated_owners
from kgbuild.merge import merged_nquads
from kgbuild.provenance import owner_text
from kgbuild.records import ParseResult
from kgbuild.report import Finding, refused
from kgbuild.resources import data_path, ontology_path
from kgbuild.sources import parse_sources
from kgbuild.store import open_in_memory
from kgbuild.validation import validate_graphs

__all__ = ["map_sources", "static_graphs", "content_hash", "prepare_batch", "organisation_identity", "map_parsed",
           "prepare_sources"]


def map_sources(parsed: Sequence[tuple[SourceInfo, ParseResult]], iris: Iris) -> list[MappedSource]:
    identity = OrganisationIdentity.from_records(r for _, result in parsed for r in result.records)
    return [map_source(result, info, identity, iris) for info, result in parsed]


def static_graphs(iris: Iris) -> dict[NamedNode, StaticGraph]:
    """The ontology and the reference data (NUTS, municipalities, counties, ESF regions)."""
    ontology_files = sorted(ontology_path().glob("*.ttl"))
    ontology = [q for path in ontology_files for q in _turtle_in_graph(path, iris.ontology_graph)]
    reference = _turtle_in_graph(data_path("reference", "nuts.ttl"), iris.reference_graph)
    reference += reference_quads(iris)
    return {
        iris.ontology_graph: StaticGraph(ontology, _files_hash(ontology_files)),
        iris.reference_graph: StaticGraph(reference, content_hash(reference)),
    }


def _files_hash(paths: Sequence[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _turtle_in_graph(path: Path, graph: NamedNode) -> list[Quad]:
    return [Quad(q.subject, q.predicate, q.object, graph) for q in parse(path=path, format=RdfFormat.TURTLE)]


def content_hash(quads: Iterable[Quad]) -> str:
    """A hash of a set of quads, independent of their order (of their sorted N-Quads lines)."""
    return _nquads_digest(_sorted_nquads(quads))


def _sorted_nquads(quads: Iterable[Quad]) -> bytes:
    data = serialize(quads, format=RdfFormat.N_QUADS) or b""
    return b"".join(sorted(data.splitlines(keepends=True)))


def _nquads_digest(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part)
        digest.update(b"\0")
    return digest.hexdigest()


def _prepared(result: ParseResult, mapped: MappedSource) -> PreparedSource:
    public, personal = _sorted_nquads(mapped.quads), _sorted_nquads(mapped.personal_quads)
    owners = tuple(sorted(stated_owners(result.records)))
    # The owners count in the hash because they are recorded with it; and so a store built before they
    # were recorded gets them for each source the next build is given.
    digest = _nquads_digest(public, personal, *(owner_text(owner).encode() for owner in owners))
    return PreparedSource(mapped.source, mapped.graph.value, mapped.personal_graph.value, public, personal,
                          digest, tuple(result.warnings + mapped.warnings),
                          tuple(sorted(stated_projects(mapped.quads))), owners=owners)


def prepare_batch(batch: list[tuple[SourceInfo, ParseResult]],
                  shared: tuple[OrganisationIdentity, str, bytes | None]
                  ) -> list[tuple[PreparedSource, list[Finding] | None]]:
    """Map a batch of parsed sources; with the reference data's N-Quads, also validate them (else None)."""
    identity, base, reference_nquads = shared
    iris = Iris(base)
    mapped = [map_source(result, info, identity, iris) for info, result in batch]
    prepared = [_prepared(result, m) for (_, result), m in zip(batch, mapped, strict=True)]
    if reference_nquads is None:
        return [(item, None) for item in prepared]
    # The mapped quads go into the validation store as they are: half the cost of parsing their N-Quads.
    store = open_in_memory()
    store.extend(q for m in mapped for q in m.quads)
    found: dict[str, list[Finding]] = {item.source.name: [] for item in prepared}
    for finding in validate_graphs(store, {m.graph.value: m.source.name for m in mapped}, reference_nquads):
        found[finding.source].append(finding)
    outcomes: list[tuple[PreparedSource, list[Finding] | None]] = []
    stated: set[bytes] = set()
    for item in prepared:
        if not refused(found[item.source.name]):
            fresh = [line for line in merged_nquads(item.nquads, item.graph).splitlines(keepends=True)
                     if line not in stated]
            stated.update(fresh)
            item = dataclasses.replace(item, merged_nquads=b"".join(fresh))
        outcomes.append((item, found[item.source.name]))
    return outcomes


def organisation_identity(parsed: Sequence[tuple[SourceInfo, ParseResult]], *others: tuple[str, str]
                          ) -> OrganisationIdentity:
    """The organisation identities of the parsed sources' records and of ``others`` (sources kept as they are)."""
    return OrganisationIdentity.from_owners(stated_owners(r for _, result in parsed for r in result.records)
                                            | set(others))


def map_parsed(parsed: Sequence[tuple[SourceInfo, ParseResult]], identity: OrganisationIdentity, iris: Iris,
               runner: Executor) -> list[PreparedSource]:
    """Map parsed sources where ``runner`` runs (validation is left to the caller)."""
    return [item for item, _ in runner.map_batches(prepare_batch, parsed, (identity, iris.base, None),
                                                   count=len(parsed))]


def prepare_sources(paths: Sequence[Path], iris: Iris, workers: int | None = None, executor: Executor | None = None
                    ) -> tuple[list[PreparedSource], list[SourceFailure], list[str]]:
    """Parse and map every source, in parallel when there are many; identities come from all records.

    :param workers: local processes, when no ``executor`` is given (default: one per core).
    :param executor: where parsing and mapping run (:mod:`kgbuild.executors`); the result is the same.
    """
    runner = executor or LocalExecutor(workers)
    try:
        parsed, failures = parse_sources(paths, runner)
        prepared = map_parsed(parsed, organisation_identity(parsed), iris, runner)
    finally:
        if executor is None:
            runner.close()
    return prepared, failures, source_warnings(prepared)
