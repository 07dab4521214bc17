"""Content negotiation: an Accept header (with q-values) or a ``format`` parameter → a pyoxigraph format.

Media types are looked up with pyoxigraph's own tables (``from_media_type``); this module only
orders the client's preferences and knows which formats each kind of answer may take.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyoxigraph import QueryResultsFormat, RdfFormat

__all__ = ["Choice", "TABLE_FORMATS", "GRAPH_FORMATS", "choose", "NotAcceptable", "FORMAT_NAMES"]

# What we offer, most preferred first (the first is the answer to */*).
TABLE_FORMATS = (QueryResultsFormat.JSON, QueryResultsFormat.XML, QueryResultsFormat.CSV, QueryResultsFormat.TSV)
GRAPH_FORMATS = (RdfFormat.TURTLE, RdfFormat.N_TRIPLES, RdfFormat.JSON_LD, RdfFormat.RDF_XML)
# For people without header control: ?format=csv
FORMAT_NAMES: dict[str, QueryResultsFormat | RdfFormat] = {
    "json": QueryResultsFormat.JSON, "xml": QueryResultsFormat.XML, "csv": QueryResultsFormat.CSV,
    "tsv": QueryResultsFormat.TSV, "turtle": RdfFormat.TURTLE, "ttl": RdfFormat.TURTLE,
    "ntriples": RdfFormat.N_TRIPLES, "nt": RdfFormat.N_TRIPLES, "jsonld": RdfFormat.JSON_LD,
    "rdfxml": RdfFormat.RDF_XML, "rdf": RdfFormat.RDF_XML,
}
# Clients such as SPARQLWrapper send format=xml / format=json whatever the query form: for a graph
# result those mean RDF/XML and JSON-LD.
_GRAPH_ALIASES: dict[str, QueryResultsFormat | RdfFormat] = {
    "xml": RdfFormat.RDF_XML, "rdf+xml": RdfFormat.RDF_XML, "json": RdfFormat.JSON_LD, "json-ld": RdfFormat.JSON_LD,
}


class NotAcceptable(Exception):
    def __init__(self, offered: tuple[QueryResultsFormat | RdfFormat, ...]) -> None:
        self.offered = offered
        super().__init__("none of the requested formats can be produced; this answer is available as "
                         + ", ".join(f.media_type for f in offered))


@dataclass(frozen=True)
class Choice:
    format: QueryResultsFormat | RdfFormat
    html: bool = False

    @property
    def media_type(self) -> str:
        return "text/html" if self.html else self.format.media_type


def _ranges(accept: str) -> list[tuple[str, float]]:
    out: list[tuple[str, float, int]] = []
    for position, part in enumerate(accept.split(",")):
        pieces = [p.strip() for p in part.split(";")]
        media = pieces[0].lower()
        if not media:
            continue
        quality = 1.0
        for parameter in pieces[1:]:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = max(0.0, min(1.0, float(value)))
                except ValueError:
                    quality = 0.0
        out.append((media, quality, position))
    # Higher q first; then the more specific range; then the client's order.
    out.sort(key=lambda r: (-r[1], r[0].count("*"), r[2]))
    return [(media, quality) for media, quality, _ in out]


def _lookup(media: str, offered: tuple[QueryResultsFormat | RdfFormat, ...]) -> QueryResultsFormat | RdfFormat | None:
    kind = type(offered[0])
    found = kind.from_media_type(media)
    return found if found in offered else None


def choose(accept: str | None, offered: tuple[QueryResultsFormat | RdfFormat, ...], format_param: str | None = None,
           html: bool = False) -> Choice:
    """The format to answer in. ``html`` offers an HTML page too (linked-data pages).

    :raises NotAcceptable: when nothing the client accepts is offered (HTTP 406).

    >>> choose("text/csv;q=0.5, application/sparql-results+xml", TABLE_FORMATS).format.name
    'SPARQL Results in XML'
    >>> choose("*/*", GRAPH_FORMATS).format.name
    'Turtle'
    """
    if format_param:
        name = format_param.strip().lower()
        for wanted in (FORMAT_NAMES.get(name), _GRAPH_ALIASES.get(name)):
            if wanted is not None and wanted in offered:
                return Choice(wanted)
        found = _lookup(format_param.strip(), offered)
        if found is not None:
            return Choice(found)
        raise NotAcceptable(offered)
    if not accept or not accept.strip():
        return Choice(offered[0])
    ranges = _ranges(accept)
    # q=0 means "not this one" (RFC 9110 §12.5.1): a wildcard must not pick a format refused that way.
    refused = {found for media, quality in ranges if quality <= 0 and (found := _lookup(media, offered)) is not None}
    for media, quality in ranges:
        if quality <= 0:
            continue
        if html and media in ("text/html", "application/xhtml+xml"):
            return Choice(offered[0], html=True)
        if media.endswith("/*"):
            family = "" if media == "*/*" else media[:-1]
            for candidate in offered:
                if candidate not in refused and candidate.media_type.startswith(family):
                    return Choice(candidate)
            continue
        found = _lookup(media, offered)
        if found is not None:
            return Choice(found)
    raise NotAcceptable(offered)
