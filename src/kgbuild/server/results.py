"""Writing SPARQL results as they are read, to a binary writer (see :class:`~kgbuild.server.answers.ChunkWriter`).

Runs in the thread that created the result (a pyoxigraph result must never cross threads). SELECT
tables in JSON and CSV, graph results and booleans are written by pyoxigraph (which stops at the
first failed write); XML and TSV tables are written here, row by row (pyoxigraph's differ in form:
no line break after the XML declaration, ``1`` for ``"1"^^xsd:integer`` in TSV). :func:`graph_body`
writes the small graphs the routes answer with (a page's, a description's, a feed page's) whole.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import IO, Protocol, cast
from xml.sax.saxutils import escape, quoteattr

from pyoxigraph import (
    BlankNode,
    Literal,
    NamedNode,
    QueryBoolean,
    QueryResultsFormat,
    QuerySolutions,
    QueryTriples,
    RdfFormat,
    Triple,
    serialize,
)

from kgbuild.jsonld import compact_document, context_url
from kgbuild.vocab import PREFIXES

__all__ = ["Output", "write_result", "graph_body"]

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
Term = NamedNode | BlankNode | Literal | Triple


class Output(Protocol):
    def write(self, data: bytes) -> int: ...


def write_result(result: QuerySolutions | QueryBoolean | QueryTriples | Iterable[Triple], format_name: str,
                 output: Output) -> None:
    """Write ``result`` in ``format_name`` to ``output``, as it is read.

    ``result`` is a pyoxigraph query result, or triples (a graph answer read from a remote store).
    ``format_name`` is a pyoxigraph format name: a :class:`QueryResultsFormat` name for tables and
    booleans, an :class:`RdfFormat` name for graphs. An error of ``output`` stops the writing.
    """
    if isinstance(result, QueryBoolean):
        output.write(result.serialize(format=_results_format(format_name)) or b"")
    elif isinstance(result, QuerySolutions) and format_name in _NATIVE_TABLE_FORMATS:
        # pyoxigraph writes these byte for byte as the writers below would, in 8 kB writes as it reads the
        # rows, without the GIL, and stops at the first error of ``output``: 2-3x less CPU for a lookup.
        result.serialize(cast("IO[bytes]", _Unflushed(output)), format=_results_format(format_name))
    elif isinstance(result, QuerySolutions):
        variables = [v.value for v in result.variables]
        rows = (tuple(solution[name] for name in variables) for solution in result)
        _write_text(_TABLE_WRITERS[_results_format(format_name).name](variables, rows), output)
    else:  # QueryTriples, or a remote store's graph answer
        _write_graph(result, format_name, output)


_NATIVE_TABLE_FORMATS = frozenset({QueryResultsFormat.JSON.name, QueryResultsFormat.CSV.name})


class _Unflushed:
    """``output`` for pyoxigraph's serialiser, which flushes at its end: the caller decides when bytes go."""

    def __init__(self, output: Output) -> None:
        self.write = output.write

    def flush(self) -> None:
        pass


def _write_text(pieces: Iterable[str], output: Output) -> None:
    """Encode and write ``pieces`` in batches: one write per piece would cost more than the piece."""
    batch: list[str] = []
    size = 0
    for piece in pieces:
        batch.append(piece)
        size += len(piece)
        if size >= _BATCH_CHARS:
            output.write("".join(batch).encode())
            batch, size = [], 0
    if batch:
        output.write("".join(batch).encode())


_BATCH_CHARS = 16 * 1024


def graph_body(triples: list[Triple], fmt: QueryResultsFormat | RdfFormat, base: str, first: str | None = None,
               prefixes: dict[str, str] | None = None) -> bytes:
    """A small graph written whole in the chosen format (a page's, a description's, a feed page's).

    JSON-LD is compact, naming the published context under ``base`` (``first``'s node first); Turtle
    uses ``prefixes`` (default: kgbuild's).
    """
    assert isinstance(fmt, RdfFormat), "a graph is written in an RDF format"
    if fmt == RdfFormat.JSON_LD:
        document = compact_document(triples, context_url(base), first)
        return json.dumps(document, indent=2, ensure_ascii=False).encode() + b"\n"
    return serialize(triples, format=fmt, prefixes=(prefixes or PREFIXES) if fmt == RdfFormat.TURTLE else None) or b""


def _results_format(name: str) -> QueryResultsFormat:
    for candidate in (QueryResultsFormat.JSON, QueryResultsFormat.XML, QueryResultsFormat.CSV, QueryResultsFormat.TSV):
        if candidate.name == name:
            return candidate
    raise ValueError(f"not a results format: {name}")


def _write_graph(triples: Iterable[Triple], format_name: str, output: Output) -> None:
    rdf_format = next(f for f in (RdfFormat.TURTLE, RdfFormat.N_TRIPLES, RdfFormat.JSON_LD, RdfFormat.RDF_XML,
                                  RdfFormat.N_QUADS, RdfFormat.TRIG) if f.name == format_name)
    prefixes = PREFIXES if rdf_format == RdfFormat.TURTLE else None
    serialize(triples, cast("IO[bytes]", output), rdf_format, prefixes=prefixes)  # it only calls write()


def _json_term(term: Term) -> dict[str, object]:
    if isinstance(term, NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, Literal):
        out: dict[str, object] = {"type": "literal", "value": term.value}
        if term.language:
            out["xml:lang"] = term.language
        elif term.datatype.value != XSD_STRING:
            out["datatype"] = term.datatype.value
        return out
    return {"type": "triple", "value": {"subject": _json_term(term.subject), "predicate": _json_term(term.predicate),
                                        "object": _json_term(term.object)}}


def _write_json(variables: Sequence[str], rows: Iterable[tuple[Term | None, ...]]) -> Iterator[str]:
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    yield '{"head":{"vars":' + encode(list(variables)) + '},"results":{"bindings":['
    separator = ""
    for row in rows:
        yield separator + encode({name: _json_term(term) for name, term in zip(variables, row, strict=True)
                                  if term is not None})
        separator = ","
    yield "]}}"


def _xml_term(term: Term) -> str:
    if isinstance(term, NamedNode):
        return f"<uri>{escape(term.value)}</uri>"
    if isinstance(term, BlankNode):
        return f"<bnode>{escape(term.value)}</bnode>"
    if isinstance(term, Literal):
        if term.language:
            return f"<literal xml:lang={quoteattr(term.language)}>{escape(term.value)}</literal>"
        if term.datatype.value != XSD_STRING:
            return f"<literal datatype={quoteattr(term.datatype.value)}>{escape(term.value)}</literal>"
        return f"<literal>{escape(term.value)}</literal>"
    return (f"<triple><subject>{_xml_term(term.subject)}</subject><predicate>{_xml_term(term.predicate)}"
            f"</predicate><object>{_xml_term(term.object)}</object></triple>")


def _write_xml(variables: Sequence[str], rows: Iterable[tuple[Term | None, ...]]) -> Iterator[str]:
    yield '<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#"><head>'
    yield "".join(f"<variable name={quoteattr(name)}/>" for name in variables)
    yield "</head><results>"
    for row in rows:
        yield "<result>" + "".join(f"<binding name={quoteattr(name)}>{_xml_term(term)}</binding>"
                                   for name, term in zip(variables, row, strict=True) if term is not None) + "</result>"
    yield "</results></sparql>\n"


def _csv_field(term: Term | None) -> str:
    if term is None:
        return ""
    text = term.value if isinstance(term, NamedNode | Literal) else (
        f"_:{term.value}" if isinstance(term, BlankNode) else str(term))
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _write_csv(variables: Sequence[str], rows: Iterable[tuple[Term | None, ...]]) -> Iterator[str]:
    yield ",".join(variables) + "\r\n"
    for row in rows:
        yield ",".join(_csv_field(term) for term in row) + "\r\n"


def _tsv_field(term: Term | None) -> str:
    # N-Triples syntax (pyoxigraph's str()), with the tab escaped: TSV cells may not hold one.
    return "" if term is None else str(term).replace("\t", "\\t")


def _write_tsv(variables: Sequence[str], rows: Iterable[tuple[Term | None, ...]]) -> Iterator[str]:
    yield "\t".join(f"?{name}" for name in variables) + "\n"
    for row in rows:
        yield "\t".join(_tsv_field(term) for term in row) + "\n"


_TABLE_WRITERS = {
    QueryResultsFormat.JSON.name: _write_json,
    QueryResultsFormat.XML.name: _write_xml,
    QueryResultsFormat.CSV.name: _write_csv,
    QueryResultsFormat.TSV.name: _write_tsv,
}
