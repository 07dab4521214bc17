"""The pipeline: the only module that composes the stages (parse → map → validate → load).

``build`` reads every source (parsing is cheap), maps them with corpus-wide organisation identities,
and then does the expensive work only for sources whose graph changed since the store's current
generation: validate them (in parallel when there are many) and replace exactly their named graphs.
A source that fails to parse or has violations is named in the report and not published; if an
earlier build published it, that version stays. The new generation is switched in only when complete.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from pyoxigraph import Literal, NamedNode, Quad, RdfFormat, Store, parse, serialize

from kgbuild.errors import KgbuildError, SourceError
from kgbuild.mapping import (
    Iris,
    MappedSource,
    OrganisationIdentity,
    SourceInfo,
    map_source,
    reference_quads,
    source_key,
)
from kgbuild.parsers import PARSER_VERSION, parse_bytes
from kgbuild.records import ParseResult
from kgbuild.resources import data_path, ontology_path
from kgbuild.store import StoreDirectory
from kgbuild.validation import Finding, ReferenceIndex, Severity, ValidationReport, validate_quads
from kgbuild.vocab import KG, PROV, RDF, XSD

RDF_TYPE = RDF + "type"

__all__ = ["BuildReport", "SourceFailure", "build", "read_sources", "map_sources", "validate_mapped",
           "default_sources", "static_graphs", "duplicate_projects", "validate_store", "ensure_built"]

# Below this many changed sources, a process pool costs more than it saves.
PARALLEL_THRESHOLD = 64

Progress = Callable[[str, int], None]  # (stage, total) → called once per stage; see cli for the bar


@dataclass(frozen=True, slots=True)
class SourceFailure:
    source: str
    problem: str
    kept_previous: bool = False


@dataclass
class BuildReport:
    """What a build did: which sources changed, which failed, and the validation findings."""

    store: Path
    sources: int = 0
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failures: list[SourceFailure] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    validation: ValidationReport = field(default_factory=lambda: ValidationReport(()))
    generation: str | None = None
    quads: int = 0

    @property
    def ok(self) -> bool:
        return not self.failures


def default_sources() -> list[Path]:
    """The bundled sample corpus, ``data/sources/*.txt``."""
    return sorted(data_path("sources").glob("*.txt"))


def read_sources(paths: Sequence[Path]) -> tuple[list[tuple[SourceInfo, ParseResult]], list[SourceFailure]]:
    """Read and parse each file; a file that fails is a :class:`SourceFailure`, the others go on."""
    parsed: list[tuple[SourceInfo, ParseResult]] = []
    failures: list[SourceFailure] = []
    # Keyed by the graph name a file gets, not the file name: "a-b.txt" and "a_b.txt" would share a graph.
    names: dict[str, Path] = {}
    for path in paths:
        key = source_key(path.name)
        if key in names:
            same = "same file name" if names[key].name == path.name else f"same graph name ({key})"
            failures.append(SourceFailure(str(path), f"{same} as {names[key]}: "
                                                     "source names must be unique (they name the graphs)"))
            continue
        names[key] = path
        try:
            data = path.read_bytes()
            result = parse_bytes(data, str(path))
        except OSError as exc:
            failures.append(SourceFailure(str(path), exc.strerror or str(exc)))
            continue
        except SourceError as exc:
            failures.append(SourceFailure(str(path), exc.problem))
            continue
        parsed.append((SourceInfo(path.name, hashlib.sha256(data).hexdigest(), PARSER_VERSION), result))
    return parsed, failures


def map_sources(parsed: Sequence[tuple[SourceInfo, ParseResult]], iris: Iris) -> list[MappedSource]:
    identity = OrganisationIdentity.from_records(r for _, result in parsed for r in result.records)
    return [map_source(result, info, identity, iris) for info, result in parsed]


@dataclass(frozen=True)
class StaticGraph:
    """A graph every store holds besides the sources (the ontology, the reference data)."""

    quads: list[Quad]
    digest: str  # from the files it comes from: the ontology has blank nodes, so no stable quad hash


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
    """A hash of a set of quads, independent of their order."""
    lines = sorted(str(q) for q in quads)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def duplicate_projects(mapped: Sequence[MappedSource]) -> list[str]:
    """Projects (same IRI, i.e. same project number) stated by more than one source.

    Identical statements are harmless; conflicting ones are named with the properties that differ.
    Both sources stay published: the graph keeps what each source says, with its provenance.
    """
    stated: dict[str, dict[str, set[tuple[str, str]]]] = {}
    kinds = {KG + "Project", KG + "PartnerSearch"}
    for item in mapped:
        subjects = {q.subject.value for q in item.quads if q.predicate.value == RDF_TYPE and q.object.value in kinds}
        for subject in subjects:
            facts = {(q.predicate.value, str(q.object)) for q in item.quads
                     if q.subject.value == subject and q.predicate.value != PROV + "wasDerivedFrom"}
            stated.setdefault(subject, {})[item.source.name] = facts
    out = []
    for subject, by_source in sorted(stated.items()):
        if len(by_source) < 2:
            continue
        names = sorted(by_source)
        first = by_source[names[0]]
        differing = sorted({p for name in names[1:] for p, _ in first ^ by_source[name]})
        if differing:
            out.append(f"{subject} is stated differently by {', '.join(names)}: "
                       f"{', '.join(differing)} differ; every version is kept with its provenance")
        else:
            out.append(f"{subject} is stated identically by {', '.join(names)}")
    return out


def _validate_one(job: tuple[str, bytes, bytes]) -> list[Finding]:
    source, source_nquads, reference_nquads = job
    reference = _worker_reference(reference_nquads)
    return validate_quads(list(parse(source_nquads, format=RdfFormat.N_QUADS)), source, reference)


_REFERENCE_CACHE: dict[int, ReferenceIndex] = {}


def _worker_reference(reference_nquads: bytes) -> ReferenceIndex:
    key = hash(reference_nquads)
    if key not in _REFERENCE_CACHE:
        _REFERENCE_CACHE.clear()
        _REFERENCE_CACHE[key] = ReferenceIndex(parse(reference_nquads, format=RdfFormat.N_QUADS))
    return _REFERENCE_CACHE[key]


def validate_mapped(mapped: Sequence[MappedSource], reference: Sequence[Quad], workers: int | None = None
                    ) -> ValidationReport:
    """Validate each source on its own (with the reference facts it links to); in parallel when many."""
    if len(mapped) < PARALLEL_THRESHOLD or workers == 1:
        index = ReferenceIndex(reference)
        findings = [f for m in mapped for f in validate_quads(m.quads, m.source.name, index)]
        return ValidationReport(tuple(findings))
    reference_nquads = serialize(reference, format=RdfFormat.N_QUADS) or b""
    jobs = [(m.source.name, serialize(m.quads, format=RdfFormat.N_QUADS) or b"", reference_nquads) for m in mapped]
    with ProcessPoolExecutor(max_workers=workers or os.cpu_count()) as pool:
        results = list(pool.map(_validate_one, jobs, chunksize=max(1, len(jobs) // (4 * (os.cpu_count() or 1)))))
    return ValidationReport(tuple(f for found in results for f in found))


def _published_hashes(store: Store, iris: Iris) -> dict[str, str]:
    """Content hash of every graph the store holds, as recorded in its build graph."""
    hashes: dict[str, str] = {}
    for quad in store.quads_for_pattern(None, NamedNode(KG + "contentHash"), None, iris.build_graph):
        hashes[quad.subject.value] = quad.object.value
    return hashes


def build(paths: Sequence[Path], store_dir: Path, iris: Iris, progress: Progress | None = None,
          now: dt.datetime | None = None) -> BuildReport:
    """Parse, map, validate and load ``paths`` into the store at ``store_dir``.

    The store afterwards holds exactly these sources (a source no longer given is removed), except
    that a source which fails keeps its previously published version, if any.

    :raises KgbuildError: when the store cannot be written (another build holds it, disk full...).
    """
    report = BuildReport(store=store_dir, sources=len(paths))
    stamp = _literal_time(now or dt.datetime.now(dt.UTC))
    if progress:
        progress("parse", len(paths))
    parsed, report.failures = read_sources(paths)
    if progress:
        progress("map", len(parsed))
    mapped = map_sources(parsed, iris)
    for item in mapped:
        report.warnings += [f"{item.source.name}: {w}" for w in item.warnings]
    report.warnings += duplicate_projects(mapped)
    for info, result in parsed:
        report.warnings += [f"{info.name}: {w}" for w in result.warnings]

    statics = static_graphs(iris)
    directory = StoreDirectory(store_dir)
    current = directory.current()
    published = _published_hashes(Store.read_only(str(current)), iris) if current else {}

    wanted_hashes = {m.graph.value: content_hash(m.quads + m.personal_quads) for m in mapped}
    changed = [m for m in mapped if published.get(m.graph.value) != wanted_hashes[m.graph.value]]
    report.unchanged = [m.source.name for m in mapped if m not in changed]
    if progress:
        progress("validate", len(changed))
    report.validation = validate_mapped(changed, statics[iris.reference_graph].quads)
    refused = {f.source for f in report.validation.findings if f.severity is Severity.VIOLATION}
    for name in sorted(refused):
        count = sum(1 for f in report.validation.violations if f.source == name)
        graph = next(m.graph.value for m in changed if m.source.name == name)
        report.failures.append(SourceFailure(name, f"{count} SHACL violation(s): not published",
                                             kept_previous=graph in published))
    failed_graphs = {iris.source_graph(SourceInfo(Path(f.source).name, "", "")).value for f in report.failures}
    for failure in report.failures:
        if failure.source not in refused:
            graph = iris.source_graph(SourceInfo(Path(failure.source).name, "", "")).value
            report.failures[report.failures.index(failure)] = SourceFailure(
                failure.source, failure.problem, kept_previous=graph in published)
    to_write = [m for m in changed if m.source.name not in refused]
    source_prefix = iris.graph("source").value + "/"
    to_remove = [g for g in published if g.startswith(source_prefix)
                 and g not in wanted_hashes and g not in failed_graphs]
    static_changes = {g: s for g, s in statics.items() if published.get(g.value) != s.digest}

    if not (to_write or to_remove or static_changes):
        report.generation = current.name if current else None
        return report
    if progress:
        progress("load", len(to_write))

    def fill(store: Store) -> None:
        for graph, static in static_changes.items():
            _replace_graph(store, graph, static.quads, iris, static.digest, stamp, None)
        for graph_iri in to_remove:
            graph = NamedNode(graph_iri)
            store.remove_graph(graph)
            store.remove_graph(NamedNode(graph_iri.replace("/graph/source/", "/graph/personal/", 1)))
            _forget(store, graph, iris)
            report.removed.append(graph_iri.removeprefix(source_prefix))
        for item in to_write:
            _replace_graph(store, item.graph, item.quads, iris, wanted_hashes[item.graph.value], stamp, item)
            store.remove_graph(item.personal_graph)
            if item.personal_quads:
                store.extend(item.personal_quads)
            report.replaced.append(item.source.name)
        report.quads = len(store)

    directory.write_generation(fill)
    report.generation = directory.current().name if directory.current() else None  # type: ignore[union-attr]
    return report


def _literal_time(moment: dt.datetime) -> Literal:
    return Literal(moment.replace(microsecond=0).isoformat(), datatype=NamedNode(XSD + "dateTime"))


def _forget(store: Store, graph: NamedNode, iris: Iris) -> None:
    for quad in list(store.quads_for_pattern(graph, None, None, iris.build_graph)):
        store.remove(quad)


def _replace_graph(store: Store, graph: NamedNode, quads: Sequence[Quad], iris: Iris, digest: str,
                   stamp: Literal, mapped: MappedSource | None) -> None:
    """Swap one named graph for new content and record what was loaded, when, from what."""
    store.remove_graph(graph)
    store.extend(quads)
    _forget(store, graph, iris)
    build = iris.build_graph
    meta = [
        Quad(graph, NamedNode(KG + "contentHash"), Literal(digest), build),
        Quad(graph, NamedNode(PROV + "generatedAtTime"), stamp, build),
    ]
    if mapped is not None:
        meta.append(Quad(graph, NamedNode(PROV + "wasDerivedFrom"),
                         iris.id("source", iris.source_key(mapped.source)), build))
    store.extend(meta)


def ensure_built(store_dir: Path, iris: Iris) -> BuildReport | None:
    """Build the bundled corpus when the store is empty (the README's one command); else do nothing."""
    if StoreDirectory(store_dir).exists():
        return None
    report = build(default_sources(), store_dir, iris)
    if StoreDirectory(store_dir).current() is None:
        raise KgbuildError("the bundled corpus did not build: " + "; ".join(f.problem for f in report.failures))
    return report


def validate_store(store_dir: Path, iris: Iris) -> ValidationReport:
    """Validate every source graph of the store's current generation (each with its reference facts)."""
    from kgbuild.store import open_read_only

    store = open_read_only(store_dir)
    reference = list(store.quads_for_pattern(None, None, None, iris.reference_graph))
    index = ReferenceIndex(reference)
    names = {q.subject.value: q.object.value
             for q in store.quads_for_pattern(None, NamedNode(KG + "fileName"), None, None)}
    findings: list[Finding] = []
    prefix = iris.graph("source").value + "/"
    for graph in sorted(g.value for g in store.named_graphs() if g.value.startswith(prefix)):
        quads = list(store.quads_for_pattern(None, None, None, NamedNode(graph)))
        document = iris.id("source", graph.removeprefix(prefix)).value
        findings += validate_quads(quads, names.get(document, graph), index)
    return ValidationReport(tuple(findings))
