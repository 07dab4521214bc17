"""The pipeline: the only module that composes the stages (parse → map → validate → load).

``build`` reads every source (parsing is cheap), maps them with corpus-wide organisation identities,
and then does the expensive work only for sources whose graph changed since the store's current
generation: validate them (in parallel when there are many) and replace exactly their named graphs.
A source that fails to parse or has violations is named in the report and not published; if an
earlier build published it, that version stays. The new generation is switched in only when complete.

A build adds: the sources it is not given stay as they are. Only ``sync`` (the store then holds exactly
the given sources) and ``remove`` (the named sources) take sources out, and a build whose every given
source fails changes nothing at all.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, cast

from pyoxigraph import Literal, NamedNode, Quad, RdfFormat, Store, Triple, parse, serialize

from kgbuild.changes import recorder
from kgbuild.current import conflicts, settle_current
from kgbuild.errors import KgbuildError, SourceError
from kgbuild.executors import LOCAL, Executor, LocalExecutor, open_executor
from kgbuild.inputs import SOURCE_SUFFIXES
from kgbuild.mapping import (
    Iris,
    MappedSource,
    OrganisationIdentity,
    SourceInfo,
    map_source,
    recorded_bases,
    reference_quads,
    source_key,
    stated_owners,
)
from kgbuild.merge import MergeKeeper, merged, merged_nquads
from kgbuild.parsers import PARSER_VERSION, parse_bytes
from kgbuild.records import ParseResult, pickled_by_fields
from kgbuild.resources import data_path, ontology_path
from kgbuild.sidecar import fetched_url
from kgbuild.store import GraphChanges, GraphStore, open_in_memory, store_at
from kgbuild.validation import BATCH as VALIDATION_BATCH
from kgbuild.validation import (
    Finding,
    Severity,
    SourceGraph,
    ValidationReport,
    reference_nquads,
    validate,
    validate_graphs,
)
from kgbuild.vocab import KG, OWL, PROV, RDF, XSD

if TYPE_CHECKING:
    from kgbuild.remote import Remote

RDF_TYPE = RDF + "type"

__all__ = ["BuildReport", "SourceFailure", "build", "read_sources", "map_sources", "validate_mapped", "validate_given",
           "default_sources", "source_files", "static_graphs", "duplicate_projects", "validate_store",
           "ensure_built", "store_bases"]

# Sources parsed by one task at most. A pool's last tasks keep one core busy while the other waits:
# at 100,000 sources the pool's own split (6,250 a task) took 44 s to parse, tasks of 1,000 took 37 s.
PARSE_BATCH = 1_000

Progress = Callable[[str, int], None]  # (stage, total) → called once per stage; see cli for the bar
# In the build graph, on a source's graph: an owner the source states with its organisationsnummer, as
# "NUMBER NAME". A later build that is not given this source takes its organisation identities from here.
STATED_OWNER = KG + "statedOwner"


@dataclass(frozen=True, slots=True)
class SourceFailure:
    source: str
    problem: str
    kept_previous: bool = False


@dataclass
class BuildReport:
    """What a build did: which sources changed, which failed, and the validation findings."""

    store: Path | str  # the store directory, or the remote store's name
    sources: int = 0
    replaced: list[str] = field(default_factory=list)  # loaded: new, or in place of an earlier version
    added: list[str] = field(default_factory=list)  # those of ``replaced`` the store did not hold
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failures: list[SourceFailure] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    validation: ValidationReport = field(default_factory=lambda: ValidationReport(()))
    generation: str | None = None  # the generation served afterwards (the one before, when nothing changed)
    quads: int = 0
    dry_run: bool = False  # nothing was written: the lists say what the build would have done
    every_source_failed: bool = False  # sources were given and none could be loaded: nothing was written
    earlier_bases: list[str] = field(default_factory=list)  # the store's IRIs were minted under these: minted anew

    @property
    def ok(self) -> bool:
        return not self.failures


def default_sources() -> list[Path]:
    """The bundled sample corpus, ``data/sources/*.txt``."""
    return sorted(data_path("sources").glob("*.txt"))


def source_files(paths: Sequence[Path]) -> list[Path]:
    """Files as given; a directory stands for the sources in it: its ``*.txt``, ``*.html``, ``*.htm``,
    ``*.pdf`` and ``*.docx`` files.

    A path that is not there, or a directory without texts, is most likely a typo: building from what
    is left (or syncing the store to it) would not be what was meant.

    :raises KgbuildError: naming the first such path.
    """
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            texts = sorted(p for p in path.iterdir() if p.suffix.lower() in SOURCE_SUFFIXES and p.is_file())
            if not texts:
                raise KgbuildError(f"{path}: no source files in this directory (*.txt, *.html, *.htm, *.pdf, "
                                   "*.docx)")
            out.extend(texts)
        elif path.exists():
            out.append(path)
        else:
            raise KgbuildError(f"{path}: no such file or directory")
    return out


def _unique_sources(paths: Sequence[Path]) -> tuple[list[Path], list[SourceFailure]]:
    """The paths whose graph names are unique; a later path with a taken name is a failure.

    Keyed by the graph name a file gets, not the file name: "a-b.txt" and "a_b.txt" would share a graph.
    """
    unique: list[Path] = []
    failures: list[SourceFailure] = []
    names: dict[str, Path] = {}
    for path in paths:
        key = source_key(path.name)
        if key in names:
            same = "same file name" if names[key].name == path.name else f"same graph name ({key})"
            failures.append(SourceFailure(str(path), f"{same} as {names[key]}: "
                                                     "source names must be unique (they name the graphs)"))
            continue
        names[key] = path
        unique.append(path)
    return unique, failures


def read_sources(paths: Sequence[Path]) -> tuple[list[tuple[SourceInfo, ParseResult]], list[SourceFailure]]:
    """Read and parse each file; a file that fails is a :class:`SourceFailure`, the others go on."""
    parsed: list[tuple[SourceInfo, ParseResult]] = []
    unique, failures = _unique_sources(paths)
    for path in unique:
        try:
            data = path.read_bytes()
            parsed.append(_source_info(path.name, data, parse_bytes(data, str(path)), fetched_url(path)))
        except OSError as exc:
            failures.append(SourceFailure(str(path), exc.strerror or str(exc)))
        except SourceError as exc:
            failures.append(SourceFailure(str(path), exc.problem))
    return parsed, failures


def _source_info(name: str, data: bytes, result: ParseResult, url: str | None
                 ) -> tuple[SourceInfo, ParseResult]:
    """A parsed source's provenance; for a fetched page, with the URL its record names (:mod:`kgbuild.sidecar`).

    That URL becomes the source document's ``prov:wasDerivedFrom`` and every record's ``source_url``,
    in place of any the text states: the record says where these bytes were actually fetched from.
    """
    if url is None:
        return SourceInfo(name, hashlib.sha256(data).hexdigest(), PARSER_VERSION), result
    try:
        NamedNode(url)
    except ValueError as exc:
        raise SourceError(name, f"its fetch record's URL is not an IRI: {exc}") from None
    records = tuple(dataclasses.replace(record, source_url=url) for record in result.records)
    return (SourceInfo(name, hashlib.sha256(data).hexdigest(), PARSER_VERSION, url),
            dataclasses.replace(result, records=records))


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


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class PreparedSource:
    """One source parsed and mapped, its quads as sorted N-Quads: cheap to pass between processes and to
    load into Oxigraph (which reads N-Quads in Rust), where pyoxigraph objects are slow to pickle."""

    source: SourceInfo
    graph: str
    personal_graph: str
    nquads: bytes
    personal_nquads: bytes
    digest: str
    warnings: tuple[str, ...]
    # The IRI of every project and call the source states: a project stated by several sources shows here.
    subjects: tuple[str, ...]
    # Once validated and accepted: its triples for the default graph (the merge, :mod:`kgbuild.merge`),
    # less those a source before it in its batch stated (a fund's scheme once, not 256 times).
    merged_nquads: bytes = b""
    owners: tuple[tuple[str, str], ...] = ()  # :func:`~kgbuild.mapping.stated_owners`, recorded with the graph

    def quads(self) -> list[Quad]:
        return list(parse(self.nquads, format=RdfFormat.N_QUADS))


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class _SourceText:
    """One source on its way to a parser: the path as given, its file name, and its bytes if read here.

    A local worker reads the file itself (``data`` is None); a cluster's workers may not see this
    machine's files, so for them it is read here and the bytes travel. Either way the parser gets the
    same bytes and the same names, so the result is the same.
    """

    source: str  # str(path): how a failure names the source
    name: str  # path.name: what names its graphs and its provenance
    location: str  # the absolute path: a pool's processes need not share this process's working directory
    data: bytes | None = None
    problem: str | None = None  # reading it here failed
    url: str | None = None  # read here with ``data``: the URL a fetched page's record names


def _source_text(path: Path, read: bool) -> _SourceText:
    text = _SourceText(str(path), path.name, os.path.abspath(path))
    if not read:
        return text
    try:
        return dataclasses.replace(text, data=path.read_bytes(), url=fetched_url(path))
    except OSError as exc:
        return dataclasses.replace(text, problem=exc.strerror or str(exc))
    except SourceError as exc:
        return dataclasses.replace(text, problem=exc.problem)


def _parse_source(job: _SourceText, _: None) -> tuple[SourceInfo, ParseResult] | SourceFailure:
    if job.problem is not None:
        return SourceFailure(job.source, job.problem)
    try:
        if job.data is not None:
            data, url = job.data, job.url
        else:
            data, url = Path(job.location).read_bytes(), fetched_url(Path(job.location))
        return _source_info(job.name, data, parse_bytes(data, job.source), url)
    except OSError as exc:
        return SourceFailure(job.source, exc.strerror or str(exc))
    except SourceError as exc:
        return SourceFailure(job.source, exc.problem)


def _prepared(result: ParseResult, mapped: MappedSource) -> PreparedSource:
    public, personal = _sorted_nquads(mapped.quads), _sorted_nquads(mapped.personal_quads)
    owners = tuple(sorted(stated_owners(result.records)))
    # The owners count in the hash because they are recorded with it; and so a store built before they
    # were recorded gets them for each source the next build is given.
    digest = _nquads_digest(public, personal, *(_owner_text(owner).encode() for owner in owners))
    return PreparedSource(mapped.source, mapped.graph.value, mapped.personal_graph.value, public, personal,
                          digest, tuple(result.warnings + mapped.warnings),
                          tuple(sorted(_stated_projects(mapped.quads))), owners=owners)


def _owner_text(owner: tuple[str, str]) -> str:
    """An owner as the build graph records it (an organisationsnummer is ten digits: no space).

    >>> _owner_text(("2120001850", "Karlstads kommun")), _owner_of("2120001850 Karlstads kommun")
    ('2120001850 Karlstads kommun', ('2120001850', 'Karlstads kommun'))
    """
    return f"{owner[0]} {owner[1]}"


def _owner_of(text: str) -> tuple[str, str]:
    number, _, name = text.partition(" ")
    return number, name


def _prepare_batch(batch: list[tuple[SourceInfo, ParseResult]],
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
        if not _refused(found[item.source.name]):
            fresh = [line for line in merged_nquads(item.nquads, item.graph).splitlines(keepends=True)
                     if line not in stated]
            stated.update(fresh)
            item = dataclasses.replace(item, merged_nquads=b"".join(fresh))
        outcomes.append((item, found[item.source.name]))
    return outcomes


def _refused(findings: Iterable[Finding]) -> bool:
    """Whether a source with these findings stays out of the store (any violation)."""
    return any(f.severity is Severity.VIOLATION for f in findings)


def _parse_sources(paths: Sequence[Path], runner: Executor
                   ) -> tuple[list[tuple[SourceInfo, ParseResult]], list[SourceFailure]]:
    """Parse every source where ``runner`` runs."""
    unique, failures = _unique_sources(paths)
    texts = (_source_text(p, read=runner.remote) for p in unique)
    outcomes = runner.map(_parse_source, texts, None, count=len(unique), limit=PARSE_BATCH)
    parsed = [o for o in outcomes if not isinstance(o, SourceFailure)]
    failures += [o for o in outcomes if isinstance(o, SourceFailure)]
    return parsed, failures


def _identity(parsed: Sequence[tuple[SourceInfo, ParseResult]], *others: tuple[str, str]) -> OrganisationIdentity:
    """The organisation identities of the parsed sources' records and of ``others`` (sources kept as they are)."""
    return OrganisationIdentity.from_owners(stated_owners(r for _, result in parsed for r in result.records)
                                            | set(others))


def _map_parsed(parsed: Sequence[tuple[SourceInfo, ParseResult]], identity: OrganisationIdentity, iris: Iris,
                runner: Executor) -> list[PreparedSource]:
    """Map parsed sources where ``runner`` runs (validation is left to the caller)."""
    return [item for item, _ in runner.map_batches(_prepare_batch, parsed, (identity, iris.base, None),
                                                   count=len(parsed))]


def prepare_sources(paths: Sequence[Path], iris: Iris, workers: int | None = None, executor: Executor | None = None
                    ) -> tuple[list[PreparedSource], list[SourceFailure], list[str]]:
    """Parse and map every source, in parallel when there are many; identities come from all records.

    :param workers: local processes, when no ``executor`` is given (default: one per core).
    :param executor: where parsing and mapping run (:mod:`kgbuild.executors`); the result is the same.
    """
    runner = executor or LocalExecutor(workers)
    try:
        parsed, failures = _parse_sources(paths, runner)
        prepared = _map_parsed(parsed, _identity(parsed), iris, runner)
    finally:
        if executor is None:
            runner.close()
    return prepared, failures, _source_warnings(prepared)


def _source_warnings(prepared: Sequence[PreparedSource],
                     quads_of: Callable[[PreparedSource], Iterable[Quad]] = PreparedSource.quads) -> list[str]:
    """What the parsers and the mapping noted per source, then the projects stated by several sources."""
    warnings = [f"{p.source.name}: {w}" for p in prepared for w in p.warnings]
    return warnings + _duplicates(prepared, quads_of)


def _duplicates(prepared: Sequence[PreparedSource], quads_of: Callable[[PreparedSource], Iterable[Quad]]
                ) -> list[str]:
    """:func:`duplicate_projects` for prepared sources: re-reads only the sources of a project stated twice."""
    seen: dict[str, list[PreparedSource]] = {}
    for item in prepared:
        for subject in item.subjects:
            seen.setdefault(subject, []).append(item)
    involved = {id(item): item for items in seen.values() if len(items) > 1 for item in items}
    if not involved:
        return []
    mapped = [MappedSource(item.source, NamedNode(item.graph), NamedNode(item.personal_graph), tuple(quads_of(item)),
                           ()) for item in involved.values()]
    return duplicate_projects(mapped)


_PROJECT_KINDS = frozenset({KG + "Project", KG + "PartnerSearch"})


def _stated_in(store: Store, graphs: Iterable[str]) -> set[str]:
    """The IRIs of the projects and calls that these graphs of ``store`` type as such."""
    return {q.subject.value for graph in graphs for kind in _PROJECT_KINDS
            for q in store.quads_for_pattern(None, NamedNode(RDF_TYPE), NamedNode(kind), NamedNode(graph))
            if isinstance(q.subject, NamedNode)}


def _stated_projects(quads: Iterable[Quad]) -> set[str]:
    """The IRIs of the projects and partner-search calls that ``quads`` type as such."""
    return {q.subject.value for q in quads if q.predicate.value == RDF_TYPE and not isinstance(q.subject, Triple)
            and isinstance(q.object, NamedNode) and q.object.value in _PROJECT_KINDS}


# What a source says of its own file, not of the project: where it came from, its file-named earlier IRI.
_NOT_COMPARED = frozenset({PROV + "wasDerivedFrom", OWL + "sameAs"})


def duplicate_projects(mapped: Sequence[MappedSource]) -> list[str]:
    """Projects (same IRI: same project number, or same title, owner and start date) stated by more than one source.

    Identical statements are harmless; conflicting ones are named with the properties that differ.
    Both sources stay published: the graph keeps what each source says, with its provenance.
    """
    stated: dict[str, dict[str, set[tuple[str, str]]]] = {}
    for item in mapped:
        for subject in _stated_projects(item.quads):
            facts = {(q.predicate.value, str(q.object)) for q in item.quads
                     if not isinstance(q.subject, Triple) and q.subject.value == subject
                     and q.predicate.value not in _NOT_COMPARED}
            stated.setdefault(subject, {})[item.source.name] = facts
    out = []
    for subject, by_source in sorted(stated.items()):
        if len(by_source) < 2:
            continue
        names = sorted(by_source)
        first = by_source[names[0]]
        differing = sorted({p for name in names[1:] for p, _ in first ^ by_source[name]})
        if differing:
            values = "; ".join(f"{p}: " + ", ".join(
                f"{' '.join(sorted(o for q, o in by_source[name] if q == p)) or 'none'} ({name})" for name in names)
                for p in differing)
            out.append(f"{subject} is stated differently by {', '.join(names)}: {', '.join(differing)} differ "
                       f"({values}); every version is kept with its provenance, and queries read the current "
                       "one: the most recently loaded source's")
        else:
            out.append(f"{subject} is stated identically by {', '.join(names)}")
    return out


def validate_mapped(mapped: Sequence[MappedSource], reference: Sequence[Quad], workers: int | None = None
                    ) -> ValidationReport:
    """Validate each source on its own (with the reference facts it links to): :func:`kgbuild.validation.validate`
    on this machine's processes (``workers``; in this process when there are few sources)."""
    return validate([_source_graph(m.graph.value, m.source.name, m.quads) for m in mapped], reference,
                    workers=workers)


def _source_graph(graph: str, name: str, quads: Iterable[Quad]) -> SourceGraph:
    """A source to validate, its quads moved into ``graph`` where they are elsewhere (an edited mapping)."""
    named = NamedNode(graph)
    return SourceGraph(graph, name, serialize((q if q.graph_name == named else
                                               Quad(q.subject, q.predicate, q.object, named) for q in quads),
                                              format=RdfFormat.N_QUADS) or b"")


def validate_given(mapped: Sequence[MappedSource], reference: Sequence[Quad], iris: Iris) -> ValidationReport:
    """:func:`validate_mapped`, and the disagreements of sources that state one project, as
    :func:`validate_store` reports them (given together, the current source is the name that sorts last)."""
    report = validate_mapped(mapped, reference)
    store = open_in_memory()
    store.extend(q for m in mapped for q in m.quads)
    names = {iris.id("source", iris.source_key(m.source)).value: m.source.name for m in mapped}
    return ValidationReport.sorted(report.findings + tuple(_conflict_findings(store, iris, names)))


@dataclass(frozen=True)
class _Published:
    """What a store holds, as its build graph records it."""

    digests: dict[str, str]  # graph IRI → content hash: every graph (the sources, the ontology, the reference data)
    owners: dict[str, list[tuple[str, str]]]  # source graph IRI → the owners its source states

    @classmethod
    def of(cls, statements: Iterable[Quad | Triple]) -> _Published:
        published = cls({}, {})
        for statement in statements:
            subject, value = statement.subject, statement.object
            if not isinstance(subject, NamedNode) or not isinstance(value, Literal):
                continue
            if statement.predicate.value == KG + "contentHash":
                published.digests[subject.value] = value.value
            elif statement.predicate.value == STATED_OWNER:
                published.owners.setdefault(subject.value, []).append(_owner_of(value.value))
        return published

    def sources(self, iris: Iris) -> list[str]:
        prefix = iris.graph("source").value + "/"
        return [graph for graph in self.digests if graph.startswith(prefix)]


def _published(store: GraphStore, iris: Iris) -> list[Quad | Triple]:
    """The build graph's statements a build reads: content hashes of every graph, owners of the sources."""
    return store.build_statements(iris, (KG + "contentHash", STATED_OWNER))


def store_bases(store: Path | Remote | GraphStore) -> list[str]:
    """The base IRIs a store was built with: none for a store never built, one otherwise (two or more only
    in a store built under several before kgbuild checked; see :func:`~kgbuild.mapping.recorded_bases`)."""
    return recorded_bases(store_at(store).recorded_graphs())


def _earlier_bases(graphs: Iterable[str], iris: Iris, asked: _Asked, store: Path | str) -> list[str]:
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


def _to_remove(paths: Sequence[Path], published: _Published, iris: Iris, sync: bool, names: Sequence[str],
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


def _kept_previous(failures: list[SourceFailure], published: _Published, iris: Iris) -> None:
    """Mark each failure whose source has a published version (which stays)."""
    for index, failure in enumerate(failures):
        graph = iris.source_graph(SourceInfo(Path(failure.source).name, "", "")).value
        failures[index] = dataclasses.replace(failure, kept_previous=graph in published.digests)


# Organisation IRIs → the graphs that type each as an organisation (in the store a build writes to).
Mentions = Callable[[Sequence[str]], dict[str, set[str]]]


def _relinking(published: _Published, kept: set[str], identity: OrganisationIdentity, iris: Iris,
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
    stamp = _literal_time(now or dt.datetime.now(dt.UTC), precise=store.precise_stamps)
    with open_executor(executor, workers) as runner:
        return _build(paths, store, iris, report, stamp, progress, runner, include_personal,
                      _Asked(sync, tuple(remove), dry_run))


@dataclass(frozen=True)
class _Asked:
    """What a build is asked besides loading its sources."""

    sync: bool
    remove: tuple[str, ...]
    dry_run: bool


def _build(paths: Sequence[Path], store: GraphStore, iris: Iris, report: BuildReport, stamp: Literal,
           progress: Progress | None, runner: Executor, include_personal: bool, asked: _Asked) -> BuildReport:
    if progress:
        progress("parse", len(paths))
    parsed, report.failures = _parse_sources(paths, runner)
    statics = static_graphs(iris)
    report.generation = store.generation()
    earlier = _earlier_bases(store.recorded_graphs(), iris, asked, report.store)
    statements = _published(store, iris) if not earlier else []
    published = _Published.of(statements)
    held = {base: _Published.of(_published(store, Iris(base))) for base in earlier}

    def digest(p: PreparedSource) -> str:
        return store.recorded_digest(p.digest, include_personal)

    report.earlier_bases = [base for base in earlier if base != iris.base]
    # Minted anew under this base, the store keeps none of its sources: those not given are removed.
    given_keys = {source_key(info.name) for info, _ in parsed}
    remint_removed = sorted({graph.removeprefix(Iris(base).graph("source").value + "/")
                             for base, old in held.items() for graph in old.sources(Iris(base))} - given_keys)
    to_remove = _to_remove(paths, published, iris, asked.sync, asked.remove, report.store)
    _kept_previous(report.failures, published, iris)
    if paths and not parsed:
        report.every_source_failed = True
        return report
    given = {iris.source_graph(info).value for info, _ in parsed}
    removing = set(to_remove)
    kept = {graph for graph in published.sources(iris) if graph not in given and graph not in removing}
    identity = _identity(parsed, *(owner for graph in kept for owner in published.owners.get(graph, [])))
    if store.loads_in_bulk(bool(earlier)) and not asked.dry_run:
        _build_new_store(store, parsed, identity, statics, iris, report, stamp, progress, runner,
                         fresh=bool(earlier))
        if not report.every_source_failed:
            report.removed = remint_removed
        return report

    if progress:
        progress("map", len(parsed))
    prepared = _map_parsed(parsed, identity, iris, runner)
    report.warnings = _source_warnings(prepared) + _relinking(published, kept, identity, iris, store.mentions)
    if not runner.remote:
        runner.close()  # a local pool's processes are done: free their memory before validating and loading
    changed = [p for p in prepared if published.digests.get(p.graph) != digest(p)]
    report.unchanged = [p.source.name for p in prepared if published.digests.get(p.graph) == digest(p)]
    if progress:
        progress("validate", len(changed))
    report.validation = validate_prepared(changed, statics[iris.reference_graph].quads, executor=runner)
    refusals = _refusals(report.validation, {p.source.name: p.graph for p in changed}, published.digests)
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

    # The projects this build may change, for the change log: those the graphs it replaces or removes
    # stated (read in ``fill`` before they go) and those the new versions state.
    touched = {subject for item in to_write for subject in item.subjects}

    def fill(store: Store, personal: Store) -> None:
        touched.update(_stated_in(store, [*to_remove, *(item.graph for item in to_write)]))
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
        keeper.extend(_build_records(to_write, iris, stamp))
        keeper.settle()
        _settle_current(store, iris)
        report.replaced = [item.source.name for item in to_write]
        report.quads = len(store)

    store.replace_graphs(GraphChanges(iris, static_changes, to_remove, to_write, stamp, include_personal, report,
                                      earlier, statements, fill, recorder(iris, touched, stamp)), progress)
    report.removed += remint_removed
    return report


def _build_new_store(store: GraphStore, parsed: Sequence[tuple[SourceInfo, ParseResult]],
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
    outcomes = runner.imap_batches(_prepare_batch, parsed, (identity, iris.base, reference), count=len(parsed),
                                   limit=VALIDATION_BATCH)
    prepared: list[PreparedSource] = []
    findings: list[Finding] = []
    loaded: list[PreparedSource] = []
    personal_nquads: list[bytes] = []

    def accepted_nquads() -> Iterator[bytes]:
        for item, found in outcomes:
            found = found or []  # never None: the workers were given the reference data
            findings.extend(found)
            if _refused(found):
                prepared.append(item)
                continue
            light = dataclasses.replace(item, nquads=b"", personal_nquads=b"", merged_nquads=b"")
            prepared.append(light)
            loaded.append(light)
            personal_nquads.append(item.personal_nquads)
            yield item.nquads
            yield item.merged_nquads
            # Its build record goes with it: one pass of the loader, none over Python objects at the end.
            record = list(_build_records([light], iris, stamp))
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
        report.warnings = _source_warnings(prepared, lambda item: item.quads() if item.nquads else
                                           store.quads_for_pattern(None, None, None, NamedNode(item.graph)))
        report.replaced = [item.source.name for item in loaded]
        report.added = list(report.replaced)
        # The compaction takes one core for about 20 s at 100,000 sources, and Oxigraph releases the GIL:
        # meanwhile a thread loads the personal store (another database) and counts the quads (a scan).
        with ThreadPoolExecutor(max_workers=1) as side:
            personal_loaded = side.submit(personal.bulk_load, input=b"".join(personal_nquads),
                                          format=RdfFormat.N_QUADS)
            counted = side.submit(len, store)
            # The loader leaves many overlapping files; compacted, the generation (read-only from now on)
            # answers an aggregate over 10,000 sources 1.6x faster, for about a tenth more build time.
            store.optimize()
            personal_loaded.result()
            report.quads = counted.result()

    try:
        # A new log (or the first of a store built before logs were kept) records every project there is.
        store.bulk_load(fill, fresh=fresh, record=recorder(iris, set(), stamp))
    except _NothingLoaded:
        report.every_source_failed = True
    report.validation = ValidationReport.sorted(findings)
    report.failures += _refusals(report.validation, {p.source.name: p.graph for p in prepared}, {})
    report.generation = store.generation()
    return report


def _settle_current(store: Store, iris: Iris) -> None:
    """The default graph holds the current value of what several sources state (:mod:`kgbuild.current`)."""
    prefix = iris.graph("source").value + "/"
    settle_current(store, iris.build_graph, prefix, lambda graph: iris.id("source", graph.removeprefix(prefix)).value)


class _NothingLoaded(Exception):
    """Raised in a new store's ``fill`` to leave it unwritten."""


def _refusals(validation: ValidationReport, graphs: dict[str, str], published: dict[str, str]) -> list[SourceFailure]:
    """A failure for each source with violations (``graphs``: source name → its graph IRI)."""
    counts: dict[str, int] = {}
    for finding in validation.violations:
        counts[finding.source] = counts.get(finding.source, 0) + 1
    return [SourceFailure(name, f"{count} SHACL violation(s): not published", kept_previous=graphs[name] in published)
            for name, count in sorted(counts.items())]


def _build_records(items: Iterable[PreparedSource], iris: Iris, stamp: Literal) -> Iterator[Quad]:
    for item in items:
        yield from _build_record(NamedNode(item.graph), iris, item.digest, stamp,
                                 iris.id("source", iris.source_key(item.source)), item.owners)


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


def validate_prepared(prepared: Sequence[PreparedSource], reference: Sequence[Quad], workers: int | None = None,
                      executor: Executor | None = None) -> ValidationReport:
    """Validate prepared sources, each with the reference facts it links to: :func:`kgbuild.validation.validate`
    where the ``executor`` runs (a cluster's workers, this machine's processes; by default ``workers``
    local processes, one per core).

    :return: the findings sorted by source, focus node, path, message, value.
    """
    return validate([SourceGraph(p.graph, p.source.name, p.nquads) for p in prepared], reference, executor=executor,
                    workers=workers)


def _literal_time(moment: dt.datetime, precise: bool = False) -> Literal:
    moment = moment if precise else moment.replace(microsecond=0)
    return Literal(moment.isoformat(), datatype=NamedNode(XSD + "dateTime"))


def _forget(keeper: MergeKeeper, graph: NamedNode, iris: Iris) -> None:
    for quad in list(keeper.store.quads_for_pattern(graph, None, None, iris.build_graph)):
        keeper.remove(quad)


def _build_record(graph: NamedNode, iris: Iris, digest: str, stamp: Literal, document: NamedNode | None,
                  owners: Sequence[tuple[str, str]] = ()) -> list[Quad]:
    """What the build graph says of one loaded graph: its content hash, when, from which source, and the
    owners that source states (:data:`STATED_OWNER`)."""
    build = iris.build_graph
    meta = [
        Quad(graph, NamedNode(KG + "contentHash"), Literal(digest), build),
        Quad(graph, NamedNode(PROV + "generatedAtTime"), stamp, build),
    ]
    if document is not None:
        meta.append(Quad(graph, NamedNode(PROV + "wasDerivedFrom"), document, build))
    meta += [Quad(graph, NamedNode(STATED_OWNER), Literal(_owner_text(owner)), build) for owner in owners]
    return meta


def _replace_graph(keeper: MergeKeeper, graph: NamedNode, quads: Sequence[Quad], iris: Iris, digest: str,
                   stamp: Literal, mapped: MappedSource | None) -> None:
    """Swap one named graph for new content and record what was loaded, when, from what."""
    keeper.remove_graph(graph)
    keeper.extend(quads)
    _forget(keeper, graph, iris)
    document = iris.id("source", iris.source_key(mapped.source)) if mapped is not None else None
    keeper.extend(_build_record(graph, iris, digest, stamp, document))


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


def validate_store(store_dir: Path, iris: Iris) -> ValidationReport:
    """Validate every source graph of the store's current generation (each with its reference facts), as
    a build validates them (:func:`kgbuild.validation.validate`), and report the properties that two
    sources of one thing state differently."""
    from kgbuild.store import open_read_only

    store = open_read_only(store_dir)
    reference = list(store.quads_for_pattern(None, None, None, iris.reference_graph))
    names = {q.subject.value: q.object.value
             for q in store.quads_for_pattern(None, NamedNode(KG + "fileName"), None, None)
             if isinstance(q.subject, NamedNode) and isinstance(q.object, Literal)}
    prefix = iris.graph("source").value + "/"
    sources = []
    for graph in sorted(g.value for g in store.named_graphs() if g.value.startswith(prefix)):
        document = iris.id("source", graph.removeprefix(prefix)).value
        quads = list(store.quads_for_pattern(None, None, None, NamedNode(graph)))  # read to the end here
        sources.append(SourceGraph(graph, names.get(document, graph), serialize(quads, format=RdfFormat.N_QUADS)
                                   or b""))
    report = validate(sources, reference)
    return ValidationReport.sorted(report.findings + tuple(_conflict_findings(store, iris, names)))


def _conflict_findings(store: Store, iris: Iris, names: dict[str, str]) -> list[Finding]:
    """A warning for each property that two sources of one thing state differently, naming both sources,
    their values and the current one (:mod:`kgbuild.current`)."""
    prefix = iris.graph("source").value + "/"

    def name(graph: str) -> str:
        return names.get(iris.id("source", graph.removeprefix(prefix)).value, graph)

    findings = []
    for conflict in conflicts(store, iris.build_graph, prefix):
        stated = ", ".join(f"{name(graph)} states {' '.join(sorted(values)) or 'nothing'}"
                           for graph, values in sorted(conflict.values.items(), key=lambda item: name(item[0])))
        findings.append(Finding(name(conflict.current), Severity.WARNING, conflict.subject, conflict.predicate,
                                f"sources disagree: {stated}; the current value is {name(conflict.current)}'s "
                                "(the source loaded last)", " ".join(sorted(conflict.values[conflict.current]))))
    return findings
