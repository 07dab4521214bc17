"""Writing SPARQL results with a row cap: what pyoxigraph cannot do (it serialises whole results).

Runs inside a query worker, in the thread that created the result (a pyoxigraph result must never
cross threads). SELECT tables are written here, to the W3C formats (JSON, XML, CSV, TSV); graph
results and booleans are written by pyoxigraph itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
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

__all__ = ["Written", "write_result"]

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
Term = NamedNode | BlankNode | Literal | Triple


@dataclass(frozen=True)
class Written:
    body: bytes
    rows: int
    truncated: bool


def write_result(result: QuerySolutions | QueryBoolean | QueryTriples | Iterable[Triple], format_name: str,
                 max_rows: int) -> Written:
    """Serialise at most ``max_rows`` rows (or triples) of ``result`` in ``format_name``.

    ``result`` is a pyoxigraph query result, or triples (a graph answer read from a remote store): either
    way it is read only up to the cap.

    ``format_name`` is a pyoxigraph format name: a :class:`QueryResultsFormat` name for tables and
    booleans, an :class:`RdfFormat` name for graphs. ``truncated`` says whether rows were left out.
    """
    if isinstance(result, QueryBoolean):
        return Written(result.serialize(format=_results_format(format_name)) or b"", 1, False)
    if not isinstance(result, QuerySolutions):  # QueryTriples, or a remote store's graph answer
        triples: list[Triple] = []
        for triple in result:
            if len(triples) == max_rows:
                return Written(_graph(triples, format_name), len(triples), True)
            triples.append(triple)
        return Written(_graph(triples, format_name), len(triples), False)
    variables = [v.value for v in result.variables]
    rows: list[tuple[Term | None, ...]] = []
    truncated = False
    for solution in result:
        if len(rows) == max_rows:
            truncated = True
            break
        rows.append(tuple(solution[name] for name in variables))
    writer = _TABLE_WRITERS[_results_format(format_name).name]
    return Written(writer(variables, rows), len(rows), truncated)


def _results_format(name: str) -> QueryResultsFormat:
    for candidate in (QueryResultsFormat.JSON, QueryResultsFormat.XML, QueryResultsFormat.CSV, QueryResultsFormat.TSV):
        if candidate.name == name:
            return candidate
    raise ValueError(f"not a results format: {name}")


def _graph(triples: Sequence[Triple], format_name: str) -> bytes:
    from kgbuild.vocab import PREFIXES

    rdf_format = next(f for f in (RdfFormat.TURTLE, RdfFormat.N_TRIPLES, RdfFormat.JSON_LD, RdfFormat.RDF_XML,
                                  RdfFormat.N_QUADS, RdfFormat.TRIG) if f.name == format_name)
    prefixes = PREFIXES if rdf_format == RdfFormat.TURTLE else None
    return serialize(triples, format=rdf_format, prefixes=prefixes) or b""


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


def _write_json(variables: Sequence[str], rows: Iterable[tuple[Term | None, ...]]) -> bytes:
    bindings = [{name: _json_term(term) for name, term in zip(variables, row, strict=True) if term is not None}
                for row in rows]
    return json.dumps({"head": {"vars": list(variables)}, "results": {"bindings": bindings}},
                      ensure_ascii=False, separators=(",", ":")).encode()


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


def _write_xml(variables: Sequence[str], rows: Iterable[tuple[Term | None, ...]]) -> bytes:
    parts = ['<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#"><head>']
    parts += [f"<variable name={quoteattr(name)}/>" for name in variables]
    parts.append("</head><results>")
    for row in rows:
        parts.append("<result>")
        parts += [f"<binding name={quoteattr(name)}>{_xml_term(term)}</binding>"
                  for name, term in zip(variables, row, strict=True) if term is not None]
        parts.append("</result>")
    parts.append("</results></sparql>\n")
    return "".join(parts).encode()


def _csv_field(term: Term | None) -> str:
    if term is None:
        return ""
    text = term.value if isinstance(term, NamedNode | Literal) else (
        f"_:{term.value}" if isinstance(term, BlankNode) else str(term))
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _write_csv(variables: Sequence[str], rows: Iterable[tuple[Term | None, ...]]) -> bytes:
    lines = [",".join(variables)]
    lines += [",".join(_csv_field(term) for term in row) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode()


def _tsv_field(term: Term | None) -> str:
    # N-Triples syntax (pyoxigraph's str()), with the tab escaped: TSV cells may not hold one.
    return "" if term is None else str(term).replace("\t", "\\t")


def _write_tsv(variables: Sequence[str], rows: Iterable[tuple[Term | None, ...]]) -> bytes:
    lines = ["\t".join(f"?{name}" for name in variables)]
    lines += ["\t".join(_tsv_field(term) for term in row) for row in rows]
    return ("\n".join(lines) + "\n").encode()


_TABLE_WRITERS = {
    QueryResultsFormat.JSON.name: _write_json,
    QueryResultsFormat.XML.name: _write_xml,
    QueryResultsFormat.CSV.name: _write_csv,
    QueryResultsFormat.TSV.name: _write_tsv,
}
