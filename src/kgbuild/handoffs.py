"""The typed hand-offs between the build's stages, and what a build reports.

:class:`SourceFailure` (a source that could not be read, parsed or accepted), :class:`PreparedSource`
(one source parsed, mapped and hashed: what validation and the load take), :class:`StaticGraph` (the
ontology, the reference data) and :class:`BuildReport`. A module of their own, below every stage: the
stores (:mod:`kgbuild.store`, :mod:`kgbuild.remote_build`) take them too, and import no stage for them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pyoxigraph import Quad, RdfFormat, parse

from kgbuild.iris import SourceInfo
from kgbuild.records import pickled_by_fields
from kgbuild.report import ValidationReport

__all__ = ["Progress", "SourceFailure", "StaticGraph", "PreparedSource", "BuildReport"]


Progress = Callable[[str, int], None]  # (stage, total) → called once per stage; see cli for the bar


@dataclass(frozen=True, slots=True)
class SourceFailure:
    source: str
    problem: str
    kept_previous: bool = False


@dataclass(frozen=True)
class StaticGraph:
    """A graph every store holds besides the sources (the ontology, the reference data)."""

    quads: list[Quad]
    digest: str  # from the files it comes from: the ontology has blank nodes, so no stable quad hash


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
