"""The change log: what each build created, updated and deleted, per source graph, per project, and for the
ontology and the shapes.

Input: the public store a build has just written, the projects it touched, and the log so far. Output:
version members appended to the log, a database of its own beside the generation
(:meth:`kgbuild.store.StoreDirectory.write_generation`), which :mod:`kgbuild.ldes` publishes as a Linked
Data Event Stream.

Each member is one version of one thing (:func:`member_iri` names it)::

    <https://…/id/project/22-010-S04#2026-12-07T19:55:01.123456Z>
        a as:Update ;                          # as:Create, as:Update or as:Delete (a tombstone)
        dct:isVersionOf <https://…/id/project/22-010-S04> ;
        dct:type kg:Project ;                  # what changed: kg:Project, kg:PartnerSearch, sd:NamedGraph, owl:Ontology
        prov:generatedAtTime "2026-12-07T19:55:01.123456Z"^^xsd:dateTime ;
        prov:wasGeneratedBy <https://…/ldes#build-20261207T195501123456Z> ;
        kg:contentHash "…" .                   # the version's hash (none on a deletion)

A thing's state is compared with the hash of its latest member: a source graph's hash is its recorded
content hash; a project's is the hash of its description in the default graph (its triples and those of
its own child nodes, ``<project>/…``, which the current-value rule has settled); the ontology's is the
hash of its files (with its ``owl:versionIRI``), the shapes' the hash of theirs. Every graph is compared on
every build (the build graph lists them with their hashes); projects only where the build loaded or
removed a source stating them, except on a log's first build, which records every project there is.
Members are never changed or removed: the log only grows. Positions (0, 1, 2, … in time order) are kept
in the log to page it; they are not published.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import Enum

from pyoxigraph import BlankNode, DefaultGraph, Literal, NamedNode, Quad, Store

from kgbuild.iris import Iris
from kgbuild.resources import ontology_path, shapes_path
from kgbuild.vocab import DCT, KG, OWL, PROV, RDF, SD, XSD

__all__ = ["AS", "Action", "Change", "POSITION", "PROJECT_KINDS", "SHAPES", "Version", "changes", "latest_versions",
           "member_iri", "project_digest", "recorder"]

AS = "https://www.w3.org/ns/activitystreams#"
POSITION = KG + "logPosition"  # a member's place in the log (0, 1, …): how pages are cut; not published
SHAPES = "https://w3id.org/kgbuild/shapes#"  # the shapes' own IRI (``kgsh:`` in shapes/kgbuild.ttl)
ONTOLOGY = "https://w3id.org/kgbuild/ontology"
PROJECT_KINDS = frozenset({KG + "Project", KG + "PartnerSearch"})
_GRAPH_KIND = SD + "NamedGraph"
_ONTOLOGY_KIND = OWL + "Ontology"


def _value(term: object) -> str:
    """An IRI's or a literal's text (the log holds no triple terms)."""
    assert isinstance(term, NamedNode | BlankNode | Literal), term
    return term.value


class Action(Enum):
    """What a member says happened to the thing it is a version of (its ActivityStreams type)."""

    CREATE = AS + "Create"
    UPDATE = AS + "Update"
    DELETE = AS + "Delete"


@dataclass(frozen=True, slots=True)
class Version:
    """The latest member of one thing in the log."""

    kind: str
    digest: str | None  # None: its latest member is a deletion
    position: int


@dataclass(frozen=True, slots=True)
class Change:
    """One thing's change in one build: a member to append."""

    entity: str
    kind: str  # kg:Project, kg:PartnerSearch, sd:NamedGraph or owl:Ontology
    action: Action
    digest: str | None  # the new version's hash; None for a deletion
    version_iri: str | None = None  # the ontology's owl:versionIRI


def member_iri(entity: str, moment: str, base: str) -> str:
    """The IRI of the version of ``entity`` recorded at ``moment``.

    A fragment of the thing's own IRI when it is minted under ``base``; the ontology and the shapes are
    named elsewhere (their IRIs are not ours to add fragments to, and the ontology's ``#`` names its terms),
    so their versions are named in the stream's document.

    >>> member_iri("https://ex.org/id/project/1", "2026-12-07T19:55:01.000001Z", "https://ex.org/")
    'https://ex.org/id/project/1#2026-12-07T19:55:01.000001Z'
    >>> member_iri("https://w3id.org/kgbuild/shapes#", "2026-12-07T19:55:01.000001Z", "https://ex.org/")
    'https://ex.org/ldes#shapes-2026-12-07T19:55:01.000001Z'
    """
    if entity.startswith(base) and "#" not in entity:
        return f"{entity}#{moment}"
    return f"{base}ldes#{entity.rstrip('#/').rsplit('/', 1)[-1]}-{moment}"


def latest_versions(log: Store) -> dict[str, Version]:
    """Each thing the log has a member of → its latest member (the one with the highest position)."""
    positions = {_value(q.subject): int(_value(q.object))
                 for q in log.quads_for_pattern(None, NamedNode(POSITION), None)}
    versions: dict[str, Version] = {}
    of = NamedNode(DCT + "isVersionOf")
    for quad in log.quads_for_pattern(None, of, None):
        member, entity, position = quad.subject, _value(quad.object), positions.get(_value(quad.subject), -1)
        known = versions.get(entity)
        if known is not None and known.position > position:
            continue
        assert isinstance(member, NamedNode)
        kind = next((_value(q.object) for q in log.quads_for_pattern(member, NamedNode(DCT + "type"), None)), "")
        deleted = any(True for _ in log.quads_for_pattern(member, NamedNode(RDF + "type"),
                                                          NamedNode(Action.DELETE.value)))
        digest = next((_value(q.object) for q in log.quads_for_pattern(member, NamedNode(KG + "contentHash"), None)),
                      None)
        versions[entity] = Version(kind, None if deleted else digest, position)
    return versions


def project_digest(store: Store, project: str) -> str | None:
    """The hash of a project's description in the default graph: its triples and those of its child nodes
    (IRIs under ``<project>/``), as sorted N-Triples lines; None when the default graph has none."""
    lines: list[str] = []
    seen = {project}
    pending = [project]
    while pending:
        subject = pending.pop()
        for quad in store.quads_for_pattern(NamedNode(subject), None, None, DefaultGraph()):
            lines.append(f"{quad.subject} {quad.predicate} {quad.object}")
            value = quad.object
            if isinstance(value, NamedNode) and value.value.startswith(project + "/") and value.value not in seen:
                seen.add(value.value)
                pending.append(value.value)
    if not lines:
        return None
    return hashlib.sha256("\n".join(sorted(lines)).encode()).hexdigest()


def _files_digest(paths: Iterable[str]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        with open(path, "rb") as handle:
            digest.update(path.rsplit("/", 1)[-1].encode() + b"\0" + handle.read() + b"\0")
    return digest.hexdigest()


def _projects_in(store: Store) -> set[str]:
    return {_value(q.subject) for kind in PROJECT_KINDS
            for q in store.quads_for_pattern(None, NamedNode(RDF + "type"), NamedNode(kind), DefaultGraph())}


def _project_kind(store: Store, project: str) -> str:
    for quad in store.quads_for_pattern(NamedNode(project), NamedNode(RDF + "type"), None, DefaultGraph()):
        if _value(quad.object) in PROJECT_KINDS:
            return _value(quad.object)
    return KG + "Project"


def _state_now(store: Store, iris: Iris, projects: Iterable[str]) -> dict[str, Change]:
    """The things a build may have changed, as they are now (a Create each; :func:`changes` sorts them out)."""
    now: dict[str, Change] = {}
    for quad in store.quads_for_pattern(None, NamedNode(KG + "contentHash"), None, iris.build_graph):
        graph = _value(quad.subject)
        if graph != iris.ontology_graph.value:  # the ontology is recorded as itself, with its version IRI
            now[graph] = Change(graph, _GRAPH_KIND, Action.CREATE, _value(quad.object))
    ontology_files = [str(p) for p in ontology_path().glob("*.ttl")]
    stated = store.quads_for_pattern(NamedNode(ONTOLOGY), NamedNode(OWL + "versionIRI"), None, iris.ontology_graph)
    version = next((_value(q.object) for q in stated), None)
    now[ONTOLOGY] = Change(ONTOLOGY, _ONTOLOGY_KIND, Action.CREATE, _files_digest(ontology_files), version)
    now[SHAPES] = Change(SHAPES, _ONTOLOGY_KIND, Action.CREATE,
                         _files_digest(str(p) for p in shapes_path().glob("*.ttl")))
    for project in projects:
        digest = project_digest(store, project)
        if digest is not None:
            now[project] = Change(project, _project_kind(store, project), Action.CREATE, digest)
    return now


def changes(store: Store, iris: Iris, log: Store, touched: Iterable[str]) -> list[Change]:
    """What changed since the log's latest members: every graph, the ontology, the shapes, and the
    ``touched`` projects (every project, when the log is empty). Sorted by kind, then IRI."""
    before = latest_versions(log)
    projects = _projects_in(store) if not before else set(touched)
    now = _state_now(store, iris, projects)
    # Things that may be gone: every graph the log knows, and the touched projects.
    candidates = set(now) | {e for e, v in before.items() if v.kind == _GRAPH_KIND} | (projects & set(before))
    out: list[Change] = []
    for entity in candidates:
        earlier, current = before.get(entity), now.get(entity)
        live = earlier is not None and earlier.digest is not None
        if current is None:
            if live:
                assert earlier is not None
                out.append(Change(entity, earlier.kind, Action.DELETE, None))
        elif not live:
            out.append(current)
        elif earlier is not None and earlier.digest != current.digest:
            out.append(Change(entity, current.kind, Action.UPDATE, current.digest, current.version_iri))
    return sorted(out, key=lambda c: (c.kind, c.entity))


def _moment(log: Store, now: dt.datetime) -> dt.datetime:
    """``now``, or just after the log's latest member: members' times never go backwards."""
    latest = max((dt.datetime.fromisoformat(_value(q.object))
                  for q in log.quads_for_pattern(None, NamedNode(PROV + "generatedAtTime"), None)), default=None)
    if latest is not None and latest >= now:
        return latest + dt.timedelta(microseconds=1)
    return now


def _stamp(moment: dt.datetime) -> str:
    """An ``xsd:dateTime`` in UTC to the microsecond, with ``Z``.

    >>> _stamp(dt.datetime(2026, 12, 7, 19, 55, 1, tzinfo=dt.UTC))
    '2026-12-07T19:55:01.000000Z'
    """
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def members(found: Iterable[Change], iris: Iris, moment: str, started: Literal, first_position: int) -> Iterator[Quad]:
    """The log's quads for one build's changes: a member each, and the build (a ``prov:Activity``)."""
    time = Literal(moment, datatype=NamedNode(XSD + "dateTime"))
    build = NamedNode(iris.base + "ldes#build-" + moment.replace("-", "").replace(":", "").replace(".", ""))
    node = NamedNode
    count = 0
    for count, change in enumerate(found, start=1):
        member = node(member_iri(change.entity, moment, iris.base))
        yield Quad(member, node(RDF + "type"), node(change.action.value))
        yield Quad(member, node(DCT + "isVersionOf"), node(change.entity))
        yield Quad(member, node(DCT + "type"), node(change.kind))
        yield Quad(member, node(PROV + "generatedAtTime"), time)
        yield Quad(member, node(PROV + "wasGeneratedBy"), build)
        yield Quad(member, node(POSITION), Literal(str(first_position + count - 1), datatype=node(XSD + "integer")))
        if change.digest is not None:
            yield Quad(member, node(KG + "contentHash"), Literal(change.digest))
        if change.version_iri is not None:
            yield Quad(member, node(OWL + "versionIRI"), node(change.version_iri))
    if count:
        yield Quad(build, node(RDF + "type"), node(PROV + "Activity"))
        yield Quad(build, node(PROV + "startedAtTime"), started)
        yield Quad(build, node(PROV + "endedAtTime"), time)


def recorder(iris: Iris, touched: set[str], started: Literal,
             clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)) -> Callable[[Store, Store], None]:
    """What :meth:`~kgbuild.store.StoreDirectory.write_generation` calls to log a build's changes.

    :param touched: the projects the build may have changed (stated by a source it loaded or removed);
        read when called, so the build's ``fill`` may add to it.
    :param started: the build's time stamp (its ``prov:generatedAtTime`` in the build graph).
    """
    def record(store: Store, log: Store) -> None:
        found = changes(store, iris, log, touched)
        if not found:
            return
        first = 1 + max((int(_value(q.object)) for q in log.quads_for_pattern(None, NamedNode(POSITION), None)),
                        default=-1)
        log.extend(list(members(found, iris, _stamp(_moment(log, clock())), started, first)))

    return record
