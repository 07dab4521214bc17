"""Export: the store → dumps in Turtle, N-Triples, N-Quads, TriG or JSON-LD, and the VoID/DCAT description.

Input: an opened store and the IRI scheme. Output: streamed serialisations (gzip when the file name
ends in ``.gz``) written to a temporary file and renamed into place, so a dump is never seen
half-written. Personal data (the ``graph/personal/`` graphs) is left out unless asked for.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import fcntl
import gzip
import hashlib
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO

from pyoxigraph import (
    BlankNode,
    DefaultGraph,
    Literal,
    NamedNode,
    Quad,
    QuerySolutions,
    QueryTriples,
    RdfFormat,
    Store,
    Triple,
    serialize,
)

from kgbuild.errors import KgbuildError
from kgbuild.iris import Iris
from kgbuild.jsonld import context_url, write_compact_dataset
from kgbuild.merge import DISTINCT_TRIPLES, has_merge
from kgbuild.vocab import DCAT, DCT, FOAF, PREFIXES, RDF, RDFS, VOID, XSD

__all__ = ["EXPORT_FORMATS", "ExportFormat", "public_graphs", "export_quads", "write_export",
           "dataset_description", "write_dumps"]


@dataclass(frozen=True)
class ExportFormat:
    name: str
    rdf_format: RdfFormat
    extension: str
    file_type: str  # its code in the EU file-type authority table (what DCAT-AP asks ``dct:format`` to be)

    @property
    def keeps_graphs(self) -> bool:
        return self.rdf_format.supports_datasets


EXPORT_FORMATS = {
    "turtle": ExportFormat("turtle", RdfFormat.TURTLE, "ttl", "RDF_TURTLE"),
    "ntriples": ExportFormat("ntriples", RdfFormat.N_TRIPLES, "nt", "RDF_N_TRIPLES"),
    "nquads": ExportFormat("nquads", RdfFormat.N_QUADS, "nq", "RDF_N_QUADS"),
    "trig": ExportFormat("trig", RdfFormat.TRIG, "trig", "RDF_TRIG"),
    "jsonld": ExportFormat("jsonld", RdfFormat.JSON_LD, "jsonld", "JSON_LD"),
}

# The EU Publications Office's authority tables and IANA's media types: the IRIs DCAT-AP asks for.
AUTHORITY = "http://publications.europa.eu/resource/authority/"
MEDIA_TYPES = "https://www.iana.org/assignments/media-types/"
SPDX = "http://spdx.org/rdf/terms#"
SPARQL_PROTOCOL = "https://www.w3.org/TR/sparql11-protocol/"
LDES_SPECIFICATION = "https://w3id.org/ldes/specification"


def public_graphs(store: Store, iris: Iris, include_personal: bool = False) -> list[NamedNode]:
    """The named graphs a client may see: all but the personal-data graphs, unless opted in."""
    personal = iris.graph("personal").value + "/"
    return sorted((g for g in store.named_graphs() if isinstance(g, NamedNode)
                   and (include_personal or not g.value.startswith(personal))), key=lambda g: g.value)


def export_quads(store: Store, iris: Iris, include_personal: bool = False) -> Iterator[Quad]:
    for graph in public_graphs(store, iris, include_personal):
        yield from store.quads_for_pattern(None, None, None, graph)


def _only_public(store: Store, graphs: list[NamedNode]) -> bool:
    """Whether the store's named graphs are just ``graphs`` (the usual case: personal data lives elsewhere);
    its default graph then is their merge (:mod:`kgbuild.merge`), or empty in a store built before."""
    return len(graphs) == sum(1 for _ in store.named_graphs())


def _merge_of(store: Store, graphs: list[NamedNode]) -> list[NamedNode | BlankNode | DefaultGraph] | None:
    """The default graph of a query over the merge of ``graphs``: ``None`` when the store keeps it."""
    return None if _only_public(store, graphs) and has_merge(store) else list(graphs)


def _serialise(store: Store, iris: Iris, fmt: ExportFormat, output: IO[bytes], include_personal: bool) -> None:
    """Oxigraph writes the dump itself where it can: no Python object per quad.

    JSON-LD is compact (:mod:`kgbuild.jsonld`). Graph formats get the dataset as it is served: the public
    graphs, and the default graph that is their merge (so a quad store loading the dump needs no
    union-default-graph setting). Triple formats get the merge: a triple stated by several sources written once.
    """
    prefixes = PREFIXES | {"id": iris.base + "id/"} if fmt.rdf_format in (RdfFormat.TURTLE, RdfFormat.TRIG) else None
    graphs = public_graphs(store, iris, include_personal)
    only_public = _only_public(store, graphs)
    if fmt.rdf_format == RdfFormat.JSON_LD:  # compact, with the published context: written a subject at a time
        names: list[NamedNode | DefaultGraph] = [DefaultGraph()] if only_public else []
        parts = [(name, store.quads_for_pattern(None, None, None, name)) for name in [*names, *graphs]]
        write_compact_dataset(parts, context_url(iris.base), output)
        return
    if fmt.keeps_graphs:
        if only_public:
            store.dump(output, format=fmt.rdf_format, prefixes=prefixes)
        else:
            serialize(export_quads(store, iris, include_personal), output, format=fmt.rdf_format, prefixes=prefixes)
        return
    if only_public and has_merge(store):
        store.dump(output, format=fmt.rdf_format, from_graph=DefaultGraph(), prefixes=prefixes)
        return
    if only_public:
        triples = store.query(DISTINCT_TRIPLES, use_default_graph_as_union=True)
    else:
        triples = store.query(DISTINCT_TRIPLES, default_graph=list(graphs))
    assert isinstance(triples, QueryTriples), "a CONSTRUCT query answers triples"
    serialize(triples, output, format=fmt.rdf_format, prefixes=prefixes)


@contextlib.contextmanager
def _atomic_output(path: Path) -> Iterator[BinaryIO]:
    """A file written beside ``path`` and renamed over it only when complete."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as raw:
            if path.suffix == ".gz":
                with gzip.GzipFile(filename=path.stem, mode="wb", fileobj=raw, mtime=0) as zipped:
                    yield zipped  # type: ignore[misc]
            else:
                yield raw
            raw.flush()
            os.fsync(raw.fileno())
        os.chmod(temporary, 0o644)  # mkstemp makes it private; a dump is for everyone
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def write_export(store: Store, iris: Iris, format_name: str, out: Path | None,
                 include_personal: bool = False) -> None:
    """Write one dump to ``out`` (gzip if it ends in ``.gz``), or to stdout when ``out`` is ``None``."""
    fmt = EXPORT_FORMATS.get(format_name)
    if fmt is None:
        raise KgbuildError(f"unknown export format {format_name!r}; choose one of {', '.join(EXPORT_FORMATS)}")
    try:
        if out is None:
            _serialise(store, iris, fmt, sys.stdout.buffer, include_personal)
            sys.stdout.buffer.flush()
            return
        with _atomic_output(out) as output:
            _serialise(store, iris, fmt, output, include_personal)
    except OSError as exc:
        raise KgbuildError(f"cannot write {out or 'stdout'}: {exc.strerror or exc}") from None


def _count(store: Store, query: str, over: list[NamedNode | BlankNode | DefaultGraph] | None) -> int:
    result = store.query(query, default_graph=over) if over is not None else store.query(query)
    assert isinstance(result, QuerySolutions)
    for row in result:
        value = row[0]
        return int(value.value) if value is not None else 0
    return 0


def dataset_description(store: Store, iris: Iris, title: str, publisher: str, license_iri: str,
                        distributions: dict[str, tuple[Path, str]] | None = None,
                        include_personal: bool = False, change_feed: bool = True) -> list[Triple]:
    """A VoID + DCAT-AP 3 description of the published dataset: what portals harvest.

    A ``dcat:Catalog`` lists the ``dcat:Dataset`` and the SPARQL endpoint as a ``dcat:DataService``;
    each dump is a ``dcat:Distribution`` with its IANA media type, its EU file type, its size and its
    SHA-256 as an ``spdx:Checksum``. Languages, file types and the frequency are IRIs of the EU
    authority tables. DCAT-AP's shapes check the class of every such value (``sh:class``, no
    inference), so each is typed here: the licence a ``dct:LicenseDocument``, a media type a
    ``dct:MediaType`` and so on. The result conforms to the DCAT-AP 3.0.1 SHACL shapes.

    :param distributions: format name → (dump file, SHA-256), each described as a ``dcat:Distribution``.
    :param change_feed: also list the change feed (``/ldes``, :mod:`kgbuild.ldes`) as a ``dcat:DataService``
        of the catalogue (a store that keeps a change log: the embedded one).
    """
    graphs = public_graphs(store, iris, include_personal)
    over = _merge_of(store, graphs)  # once: each check walks the store's named graphs
    dataset = NamedNode(iris.base + "dataset")
    catalogue = NamedNode(iris.base + "catalogue")
    service = NamedNode(iris.base + "sparql#service")
    endpoint = NamedNode(iris.base + "sparql")
    agent = NamedNode(iris.base + "dataset/publisher")
    home = NamedNode(iris.base)
    licence = NamedNode(license_iri)
    node = NamedNode

    def lit(value: object, datatype: str | None = None) -> Literal:
        return Literal(str(value), datatype=node(datatype)) if datatype else Literal(str(value))

    def a(subject: NamedNode, cls: str) -> Triple:
        return Triple(subject, node(RDF + "type"), node(cls))

    def en(text: str) -> Literal:
        return Literal(text, language="en")

    languages = [node(AUTHORITY + "language/" + code) for code in ("ENG", "SWE")]
    modified = lit(dt.date.today().isoformat(), XSD + "date")
    triples = [
        a(catalogue, DCAT + "Catalog"),
        Triple(catalogue, node(DCT + "title"), en(title)),
        Triple(catalogue, node(DCT + "description"), en(
            "The catalogue of this server: one dataset, its dumps and its SPARQL endpoint.")),
        Triple(catalogue, node(DCT + "publisher"), agent),
        Triple(catalogue, node(DCT + "modified"), modified),
        Triple(catalogue, node(DCT + "license"), licence),
        Triple(catalogue, node(FOAF + "homepage"), home),
        Triple(catalogue, node(DCAT + "dataset"), dataset),
        Triple(catalogue, node(DCAT + "service"), service),
        *(Triple(catalogue, node(DCT + "language"), language) for language in languages),
        a(agent, FOAF + "Agent"),
        Triple(agent, node(FOAF + "name"), Literal(publisher)),
        a(service, DCAT + "DataService"),
        Triple(service, node(DCT + "title"), en(f"{title}: SPARQL endpoint")),
        Triple(service, node(DCT + "description"), en("A read-only SPARQL 1.1 Protocol endpoint over the dataset.")),
        Triple(service, node(DCT + "publisher"), agent),
        Triple(service, node(DCT + "license"), licence),
        Triple(service, node(DCAT + "endpointURL"), endpoint),
        Triple(service, node(DCAT + "endpointDescription"), endpoint),  # GET without a query: the description
        a(endpoint, RDFS + "Resource"),  # DCAT-AP's range shapes check even this class
        Triple(service, node(DCAT + "servesDataset"), dataset),
        Triple(service, node(DCT + "conformsTo"), node(SPARQL_PROTOCOL)),
        a(node(SPARQL_PROTOCOL), DCT + "Standard"),
        *(_change_feed(iris, title, agent, licence, dataset, catalogue) if change_feed else []),
        a(dataset, VOID + "Dataset"),
        a(dataset, DCAT + "Dataset"),
        Triple(dataset, node(DCT + "title"), en(title)),
        Triple(dataset, node(DCT + "description"), en(
            "EU-funded projects (Swedish ESF and ESF+ projects, EU partner-search calls) as linked open data: "
            "projects, funds, programmes, NUTS regions, municipalities, organisations and their roles, amounts "
            "and dates, each fact traceable to its source text.")),
        Triple(dataset, node(DCT + "license"), licence),
        a(licence, DCT + "LicenseDocument"),
        Triple(dataset, node(DCT + "publisher"), agent),
        Triple(dataset, node(DCT + "modified"), modified),
        *(Triple(dataset, node(DCT + "language"), language) for language in languages),
        *(a(language, DCT + "LinguisticSystem") for language in languages),
        Triple(dataset, node(DCT + "accrualPeriodicity"), node(AUTHORITY + "frequency/IRREG")),  # on each rebuild
        a(node(AUTHORITY + "frequency/IRREG"), DCT + "Frequency"),
        Triple(dataset, node(VOID + "sparqlEndpoint"), endpoint),
        Triple(dataset, node(VOID + "uriSpace"), lit(iris.base + "id/")),
        Triple(dataset, node(VOID + "exampleResource"), node(iris.base + "id/project/22-010-S04")),
        Triple(dataset, node(VOID + "vocabulary"), node("https://w3id.org/kgbuild/ontology#")),
        Triple(dataset, node(DCAT + "landingPage"), home),
        Triple(dataset, node(FOAF + "homepage"), home),
        a(home, FOAF + "Document"),
        Triple(dataset, node(VOID + "triples"), lit(_count(store, "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }", over),
                                                    XSD + "integer")),
        Triple(dataset, node(VOID + "distinctSubjects"), lit(
            _count(store, "SELECT (COUNT(DISTINCT ?s) AS ?n) { ?s ?p ?o }", over), XSD + "integer")),
        Triple(dataset, node(VOID + "classes"), lit(
            _count(store, "SELECT (COUNT(DISTINCT ?c) AS ?n) { ?s a ?c }", over), XSD + "integer")),
    ]
    classes = "SELECT ?c (COUNT(?s) AS ?n) { ?s a ?c } GROUP BY ?c ORDER BY ?c"
    result = store.query(classes, default_graph=over) if over is not None else store.query(classes)
    assert isinstance(result, QuerySolutions)
    for index, row in enumerate(result):
        partition = node(f"{iris.base}dataset/class/{index}")
        triples += [
            Triple(dataset, node(VOID + "classPartition"), partition),
            Triple(partition, node(VOID + "class"), row[0]),
            Triple(partition, node(VOID + "entities"), lit(row[1].value, XSD + "integer")),
        ]
    gzip_type = node(MEDIA_TYPES + "application/gzip")
    if distributions:
        triples += [a(gzip_type, DCT + "MediaType"), a(node(SPDX + "checksumAlgorithm_sha256"),
                                                       SPDX + "ChecksumAlgorithm")]
    for name, (path, digest) in sorted((distributions or {}).items()):
        fmt = EXPORT_FORMATS[name]
        distribution = node(f"{iris.base}dumps/{path.name}")
        checksum = node(f"{distribution.value}#sha256")
        media_type = node(MEDIA_TYPES + fmt.rdf_format.media_type)
        file_type = node(AUTHORITY + "file-type/" + fmt.file_type)
        triples += [
            Triple(dataset, node(DCAT + "distribution"), distribution),
            Triple(dataset, node(VOID + "dataDump"), distribution),
            a(distribution, DCAT + "Distribution"),
            Triple(distribution, node(DCT + "title"), en(f"{title}: {fmt.rdf_format.name} dump, gzipped")),
            Triple(distribution, node(DCAT + "accessURL"), node(iris.base + "dumps/")),
            Triple(distribution, node(DCAT + "downloadURL"), distribution),
            Triple(distribution, node(DCAT + "mediaType"), media_type),  # of the data: the file is gzipped
            a(media_type, DCT + "MediaType"),
            Triple(distribution, node(DCT + "format"), file_type),
            a(file_type, DCT + "MediaTypeOrExtent"),
            Triple(distribution, node(DCAT + "compressFormat"), gzip_type),
            Triple(distribution, node(DCAT + "byteSize"), lit(path.stat().st_size, XSD + "nonNegativeInteger")),
            Triple(distribution, node(SPDX + "checksum"), checksum),
            a(checksum, SPDX + "Checksum"),
            Triple(checksum, node(SPDX + "algorithm"), node(SPDX + "checksumAlgorithm_sha256")),
            Triple(checksum, node(SPDX + "checksumValue"), lit(digest, XSD + "hexBinary")),
            Triple(distribution, node(DCT + "license"), licence),
        ]
    return triples


def _change_feed(iris: Iris, title: str, agent: NamedNode, licence: NamedNode, dataset: NamedNode,
                 catalogue: NamedNode) -> list[Triple]:
    """The change feed as a data service: a Linked Data Event Stream serving the dataset's changes.

    A data service, not a distribution: DCAT-AP's distributions are the dataset itself (and the harvesting
    test counts the dumps as its distributions); the feed is an API through which to follow it.
    """
    node = NamedNode
    service, stream = node(iris.base + "ldes#service"), node(iris.base + "ldes")
    specification = node(LDES_SPECIFICATION)
    return [
        Triple(catalogue, node(DCAT + "service"), service),
        Triple(service, node(RDF + "type"), node(DCAT + "DataService")),
        Triple(service, node(DCT + "title"), Literal(f"{title}: change feed", language="en")),
        Triple(service, node(DCT + "description"), Literal(
            "Every version of every project and source graph, and of the ontology and the shapes, as a Linked Data "
            "Event Stream paged by time: a harvester reads it once, then only the pages after the last it read.",
            language="en")),
        Triple(service, node(DCT + "publisher"), agent),
        Triple(service, node(DCT + "license"), licence),
        Triple(service, node(DCAT + "endpointURL"), stream),
        Triple(stream, node(RDF + "type"), node(RDFS + "Resource")),
        Triple(service, node(DCAT + "servesDataset"), dataset),
        Triple(service, node(DCT + "conformsTo"), specification),
        Triple(specification, node(RDF + "type"), node(DCT + "Standard")),
    ]


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _exchange(first: Path, second: Path) -> bool:
    """Swap two directories in one atomic step (Linux ``renameat2``); False where the system cannot."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):  # not Linux, or a C library without it
        return False
    done: int = renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE)
    return done == 0


def _swap_in(staging: Path, directory: Path, keep_previous: bool = False) -> None:
    """Put the complete ``staging`` directory where ``directory`` is.

    Two renames (the old one away, the new one in) leave a moment with no directory at all, and a
    request for a dump in that moment would be told there is no such dump. So the two are exchanged in
    one step where the system can. A server lists the directory to answer a request: a listing begun
    just before the exchange reads the old directory, so with ``keep_previous`` the old dumps are kept
    (hidden, beside it) until the next swap instead of being removed under that listing. A download
    under way keeps its open file either way.
    """
    # Two servers of one store each make its dumps: one swap at a time, or each removes what the other
    # is moving. The lock is the parent directory's (flock: a killed writer holds nothing; no lock file).
    lock = os.open(directory.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        previous = directory.with_name(f".{directory.name}.previous")
        shutil.rmtree(previous, ignore_errors=True)  # the set before last: no listing of it is still running
        if directory.is_dir() and _exchange(staging, directory):
            if keep_previous:
                os.replace(staging, previous)
            else:
                shutil.rmtree(staging, ignore_errors=True)
            return
        old = directory.with_name(directory.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if directory.exists():
            os.replace(directory, old)
        os.replace(staging, directory)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        os.close(lock)  # the lock goes with it


def write_dumps(store: Store, iris: Iris, directory: Path, title: str, publisher: str, license_iri: str,
                include_personal: bool = False, generation: str | None = None,
                keep_previous: bool = False, change_feed: bool = True) -> dict[str, tuple[Path, str]]:
    """Every dump format, gzipped, plus ``SHA256SUMS`` and ``void.ttl``, swapped into ``directory`` whole.

    ``generation`` (the store generation dumped) is recorded in a ``GENERATION`` file inside. With
    ``keep_previous`` (a server serving the directory) the previous dumps stay, hidden, until the next
    swap, so that a request listing the directory at the moment of the swap sees every file.
    """
    try:
        # Staged beside ``directory`` (never in /tmp, which may be another file system): the swap is a rename.
        directory.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".dumps-", dir=directory.parent))
    except OSError as exc:
        raise KgbuildError(f"cannot write {directory}: {exc.strerror or exc}") from None
    try:
        written: dict[str, tuple[Path, str]] = {}
        for name, fmt in EXPORT_FORMATS.items():
            path = staging / f"kgbuild.{fmt.extension}.gz"
            with _atomic_output(path) as output:
                _serialise(store, iris, fmt, output, include_personal)
            written[name] = (path, hashlib.sha256(path.read_bytes()).hexdigest())
        sums = "".join(f"{digest}  {path.name}\n" for path, digest in written.values())
        (staging / "SHA256SUMS").write_text(sums, encoding="utf-8")
        description = dataset_description(store, iris, title, publisher, license_iri, written, include_personal,
                                          change_feed)
        (staging / "void.ttl").write_bytes(serialize(description, format=RdfFormat.TURTLE, prefixes=PREFIXES) or b"")
        if generation:
            (staging / "GENERATION").write_text(generation + "\n", encoding="utf-8")
        os.chmod(staging, 0o755)
        _swap_in(staging, directory, keep_previous)
        return {name: (directory / path.name, digest) for name, (path, digest) in written.items()}
    except OSError as exc:  # disk full, no permission ...: a message, not a traceback
        shutil.rmtree(staging, ignore_errors=True)
        raise KgbuildError(f"cannot write {directory}: {exc.strerror or exc}") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
