"""Projects stated by more than one source, and the warnings a build reports per source.

Input: mapped or prepared sources; output: warnings naming each project that several sources state,
with the properties they state differently (every version stays published, with its provenance).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from pyoxigraph import NamedNode, Quad, Store, Triple

from kgbuild.handoffs import PreparedSource
from kgbuild.mapping import MappedSource
from kgbuild.vocab import KG, OWL, PROV, RDF

__all__ = ["RDF_TYPE", "source_warnings", "stated_in", "stated_projects", "duplicate_projects"]


RDF_TYPE = RDF + "type"


def source_warnings(prepared: Sequence[PreparedSource],
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


def stated_in(store: Store, graphs: Iterable[str]) -> set[str]:
    """The IRIs of the projects and calls that these graphs of ``store`` type as such."""
    return {q.subject.value for graph in graphs for kind in _PROJECT_KINDS
            for q in store.quads_for_pattern(None, NamedNode(RDF_TYPE), NamedNode(kind), NamedNode(graph))
            if isinstance(q.subject, NamedNode)}


def stated_projects(quads: Iterable[Quad]) -> set[str]:
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
        for subject in stated_projects(item.quads):
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
