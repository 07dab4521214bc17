"""Validation compiled to SPARQL: the SHACL shapes → one SPARQL SELECT per constraint, run by Oxigraph.

Input: the shapes in ``shapes/*.ttl`` and a pyoxigraph store that holds each source's quads in a named
graph of its own and the reference data (municipalities, counties, NUTS) in another. Output: the same
:class:`~kgbuild.report.Finding` objects that pyshacl gives (:func:`kgbuild.validation.validate_quads`,
the test oracle), for every source at once, without rdflib: importing this package loads neither
rdflib nor pyshacl (``tests/test_shacl_sparql.py`` checks it). The validation stage
(:func:`kgbuild.validation.validate`) runs it for ``kgbuild build`` and ``kgbuild validate`` alike.

**What a constraint sees.** ``validate_quads`` validates a source graph together with the reference
triples reachable from its objects. Here every triple pattern reads ``GRAPH ?kg_g`` (the source) or
the reference graph, except that a target focus node is read from its source graph only. That is the
same data whenever no subject of a source graph is also a subject in the reference data and no source
states ``rdfs:subClassOf``: reference triples about nodes reached by following links from a focus node
are exactly the reachable ones. A source that breaks either condition is detected (two cheap queries)
and validated on its own, with its reachable reference triples copied next to it, as
``validate_quads`` does. Results are kept only for focus nodes that are IRI subjects of their source.

**Supported SHACL**: everything ``shapes/kgbuild.ttl`` uses, listed in :mod:`.compiler`; anything
else is a :class:`ShapesError` listing every unsupported use at compile time, never a skipped constraint.

**Same results as pyshacl, not only as SHACL.** pyshacl reads literals with rdflib, which parses and
re-writes lexical forms and orders literals its own way; where that changes a result this package does
the same, in Python, for the values the SPARQL cannot decide (custom functions, mostly off a fast
path): which literals ``sh:datatype`` accepts (rdflib's parsers; ``xsd:gYear`` is always accepted),
what ``sh:pattern`` is matched against, how ``sh:minInclusive`` & co. compare (pyshacl's
``compare_literal``: literals of different datatypes are ordered by datatype IRI), which literals are one
value node for ``sh:minCount``/``sh:maxCount``, and how a value is written in a finding. In SPARQL
constraints the comparisons, arithmetic, ``ABS``, ``STR`` and XSD casts are evaluated as rdflib's SPARQL
engine does (28-digit decimals, ``int(" 5 ")``...); the rest of the query by Oxigraph. Results of a
``sh:node`` constraint's nested shape are findings too (pyshacl reports them as ``sh:detail``).

**Known differences from pyshacl** (none occurs in data the mapping produces):

- Oxigraph stores literals of XSD types in canonical form: ``"1.40"^^xsd:decimal`` is reported as
  ``1.4`` (rdflib keeps ``1.40``), and two literals with one value (``1.4``, ``1.40``) are one value node.
- rdflib reads some ill-typed literals as a valid one (``"false2"^^xsd:boolean`` as ``false``); when
  both are values of one property it keeps whichever it parsed first, here both are value nodes.
- Other SPARQL operators and functions (``STRSTARTS``, ``SUBSTR``, ``IN``, date arithmetic...) follow
  SPARQL 1.1, where rdflib may deviate on ill-typed input; and where pyshacl raises an exception
  (arithmetic on some ill-typed numbers), the operation is an evaluation error here.
- Regular expressions: a value outside printable ASCII, or any value of a pattern Oxigraph cannot
  compile, is matched in Python (``re``, as pyshacl); the fast path uses Oxigraph's regex engine,
  which agrees with ``re`` on printable ASCII for the supported syntax.
- Literals of ``xsd:duration``, ``xsd:hexBinary``, ``xsd:base64Binary`` and ``rdf:XMLLiteral`` are
  taken as written (rdflib parses them); ``sh:datatype`` with one of them is a :class:`ShapesError`.
- A constraint without ``sh:message`` gets a message of our own (pyshacl writes a generated one).

**The modules**, each importing only those before it (no cycle; each lists its public names in
``__all__``, and none uses another's private name): :mod:`.pyshacl_compat` reproduces rdflib's reading,
ordering and writing of literals and its SPARQL operators; :mod:`.patterns` writes the triple patterns
a check reads the data with; :mod:`.sparql_constraints` rewrites ``sh:sparql`` constraints;
:mod:`.runner` defines a :class:`Check` and runs checks on a store (pyshacl's results of SPARQL
constraints included); :mod:`.compiler` turns shapes into checks. This package exports the entry points.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pyoxigraph import NamedNode, Quad

from kgbuild.errors import ShapesError
from kgbuild.report import Finding, ValidationReport, finding_order
from kgbuild.shacl_sparql.compiler import compile_shapes
from kgbuild.shacl_sparql.runner import (
    BATCH_SOURCES,
    EMPTY_GRAPH,
    REFERENCE_GRAPH,
    Check,
    CompiledShapes,
    ReferenceIndex,
)
from kgbuild.store import open_in_memory

if TYPE_CHECKING:
    from kgbuild.mapping import MappedSource

__all__ = ["ShapesError", "Check", "CompiledShapes", "ReferenceIndex", "compile_shapes", "finding_order",
           "validate_sources", "BATCH_SOURCES", "REFERENCE_GRAPH", "EMPTY_GRAPH"]


def validate_sources(mapped: Sequence[MappedSource], reference_quads: Sequence[Quad],
                     shapes: CompiledShapes | None = None, batch: int = BATCH_SOURCES) -> ValidationReport:
    """Validate mapped sources together, each with the reference data it links to, in in-memory stores.

    The same findings as :func:`kgbuild.validation.validate_quads` (pyshacl) on each source; at most
    ``batch`` sources share a store, to bound memory. In this process: the validation stage,
    :func:`kgbuild.validation.validate`, runs batches where an executor runs them.
    """
    compiled = shapes or compile_shapes()
    findings: list[Finding] = []
    reference = [Quad(q.subject, q.predicate, q.object, REFERENCE_GRAPH) for q in reference_quads]
    for start in range(0, len(mapped), batch):
        store = open_in_memory()
        store.extend(reference)
        names: dict[str, str] = {}
        for k, item in enumerate(mapped[start:start + batch]):
            graph = item.graph
            if graph.value in names or graph == REFERENCE_GRAPH or any(q.graph_name != graph for q in item.quads):
                graph = NamedNode(f"urn:x-kgbuild:validation:source:{start + k}")
                store.extend(Quad(q.subject, q.predicate, q.object, graph) for q in item.quads)
            else:
                store.extend(item.quads)
            names[graph.value] = item.source.name
        findings += compiled.validate(store, names, REFERENCE_GRAPH)
    return ValidationReport(tuple(sorted(findings, key=finding_order)))
