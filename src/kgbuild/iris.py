"""The IRIs kgbuild mints, and the names of the graphs and sources they come from.

A module of its own so that whoever needs an IRI (the server, the stores, export) does not load the
mapping stage.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pyoxigraph import NamedNode

from kgbuild.records import pickled_by_fields
from kgbuild.vocab import KG

if TYPE_CHECKING:
    from kgbuild import reference as ref

__all__ = ["Iris", "SourceInfo", "RECORDED_BASES", "recorded_bases", "slug", "source_key"]


def slug(text: str) -> str:
    """A readable, deterministic IRI path segment: letters (any script) and digits joined by dashes.

    ``+`` is spelled out so that "ESF+" and "ESF" stay apart.

    >>> slug("ESF+"), slug("Skarpnäcks stadsdelsförvaltnin"), slug("2015/00123")
    ('esf-plus', 'skarpnäcks-stadsdelsförvaltnin', '2015-00123')
    """
    text = unicodedata.normalize("NFC", text).casefold().replace("+", " plus ")
    return _NON_WORD_RE.sub("-", text).strip("-") or "-"


_NON_WORD_RE = re.compile(r"[\W_]+")


def source_key(file_name: str) -> str:
    """The key a source file's graphs and IRIs are named by: its name without the extension, as a slug.

    Different file names can give one key; the pipeline refuses the second such file.

    >>> source_key("001_49fdefbf50581b3b.txt"), source_key("proj-a.txt") == source_key("Proj_A.txt")
    ('001-49fdefbf50581b3b', True)
    """
    return slug(file_name.rsplit(".", 1)[0]) if "." in file_name else slug(file_name)


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class SourceInfo:
    """The file a record came from, as recorded in provenance."""

    name: str  # file name, without directories
    sha256: str
    parser_version: str
    url: str | None = None  # where a fetched page came from (its record, :mod:`kgbuild.sidecar`)


@dataclass(frozen=True, slots=True)
class Iris:
    """Every IRI kgbuild mints, under one base (``http://127.0.0.1:8000/`` by default)."""

    base: str

    def __post_init__(self) -> None:
        if not re.match(r"^https?://[^\s<>\"{}|\\^`]+/$", self.base):
            raise ValueError(f"base IRI must be an http(s) IRI ending in '/': {self.base!r}")

    def id(self, *segments: str) -> NamedNode:
        return NamedNode(self.base + "id/" + "/".join(segments))

    def graph(self, *segments: str) -> NamedNode:
        return NamedNode(self.base + "graph/" + "/".join(segments))

    def source_key(self, source: SourceInfo) -> str:
        return source_key(source.name)

    def source_graph(self, source: SourceInfo) -> NamedNode:
        return self.graph("source", self.source_key(source))

    def personal_graph(self, source: SourceInfo) -> NamedNode:
        return self.graph("personal", self.source_key(source))

    @property
    def reference_graph(self) -> NamedNode:
        return self.graph("reference")

    @property
    def ontology_graph(self) -> NamedNode:
        return self.graph("ontology")

    @property
    def build_graph(self) -> NamedNode:
        return self.graph("build")

    def municipality(self, municipality: ref.Municipality) -> NamedNode:
        return self.id("municipality", municipality.code)

    def county(self, county: ref.County) -> NamedNode:
        return self.id("county", county.code)

    def esf_region(self, region: ref.EsfRegion) -> NamedNode:
        return self.id("esf-region", slug(region.name))


# The graphs whose statements record what a build loaded: each is a build graph, ``<base>graph/build``.
RECORDED_BASES = f"SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ ?graph <{KG}contentHash> ?hash }} }}"


def recorded_bases(build_graphs: Iterable[str]) -> list[str]:
    """The base IRIs a store was built with, from the build graphs :data:`RECORDED_BASES` finds.

    A store records its base in the name of its build graph (``<base>graph/build``): one base, unless
    builds with different ``--base-iri`` wrote into it before kgbuild checked.

    >>> recorded_bases(["http://x/graph/build", "http://y:8812/graph/build", "http://x/graph/other"])
    ['http://x/', 'http://y:8812/']
    """
    return sorted({iri.removesuffix("graph/build") for iri in build_graphs if iri.endswith("/graph/build")})
