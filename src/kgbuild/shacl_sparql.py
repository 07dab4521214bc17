"""Validation compiled to SPARQL: the SHACL shapes → one SPARQL SELECT per constraint, run by Oxigraph.

Input: the shapes in ``shapes/*.ttl`` and a pyoxigraph store that holds each source's quads in a named
graph of its own and the reference data (municipalities, counties, NUTS) in another. Output: the same
:class:`~kgbuild.validation.Finding` objects that :func:`kgbuild.validation.validate_quads` gives, for
every source at once, without rdflib (this module is meant for the pipeline; only ``validation``
imports rdflib and pyshacl).

**What a constraint sees.** ``validate_quads`` validates a source graph together with the reference
triples reachable from its objects. Here every triple pattern reads ``GRAPH ?kg_g`` (the source) or
the reference graph, except that a target focus node is read from its source graph only. That is the
same data whenever no subject of a source graph is also a subject in the reference data and no source
states ``rdfs:subClassOf``: reference triples about nodes reached by following links from a focus node
are exactly the reachable ones. A source that breaks either condition is detected (two cheap queries)
and validated on its own, with its reachable reference triples copied next to it, as
``validate_quads`` does. Results are kept only for focus nodes that are IRI subjects of their source.

**Supported SHACL** (everything ``shapes/kgbuild.ttl`` uses; anything else is a :class:`ShapesError`
listing every unsupported use at compile time, never a skipped constraint): targets ``sh:targetClass``;
``sh:property`` with IRI ``sh:path``; ``sh:minCount``, ``sh:maxCount``, ``sh:datatype``, ``sh:class``,
``sh:nodeKind``, ``sh:pattern`` (+ ``sh:flags``), ``sh:in``, ``sh:hasValue``, ``sh:minInclusive``,
``sh:maxInclusive``, ``sh:minExclusive``, ``sh:maxExclusive``, ``sh:node``, ``sh:or``, ``sh:and``,
``sh:not``; ``sh:sparql`` SELECT constraints on node shapes (``$this``, ``sh:prefixes``/``sh:declare``,
``{?var}``/``{$var}`` in ``sh:message``); ``sh:severity``, ``sh:message``, ``sh:deactivated``.

**Same results as pyshacl, not only as SHACL.** pyshacl reads literals with rdflib, which parses and
re-writes lexical forms and orders literals its own way; where that changes a result this module does
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
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Context, Decimal, localcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyoxigraph import BlankNode, Literal, NamedNode, Quad, QuerySolutions, RdfFormat, Store, parse

from kgbuild.errors import KgbuildError
from kgbuild.resources import shapes_path
from kgbuild.store import open_in_memory
from kgbuild.validation import Finding, ReferenceIndex, Severity, ValidationReport
from kgbuild.vocab import OWL, RDF, RDFS, SH, XSD

if TYPE_CHECKING:
    from kgbuild.mapping import MappedSource

__all__ = ["ShapesError", "Check", "CompiledShapes", "compile_shapes", "finding_order", "validate_sources"]

Term = NamedNode | BlankNode | Literal
RDF_TYPE = RDF + "type"
XSD_STRING = XSD + "string"
LANG_STRING = RDF + "langString"
# Private graph names for validate_sources; never a source's own graph name.
REFERENCE_GRAPH = NamedNode("urn:x-kgbuild:validation:reference")
EMPTY_GRAPH = NamedNode("urn:x-kgbuild:validation:nothing")
BATCH_SOURCES = 20_000
_FN = "urn:x-kgbuild:fn:"
_FOCUS, _ANY = "focus", "any"  # how triples about a node are read: its source graph / source + reference


class ShapesError(KgbuildError):
    """The shapes use SHACL this compiler does not support; the message lists every such use."""


@dataclass(frozen=True, slots=True)
class Check:
    """One compiled constraint: a SPARQL SELECT whose solutions are its validation results.

    ``query`` is a template (the reference graph and the class hierarchy are filled in per run).
    ``via`` is the chain of ``sh:node`` paths from a target to the result's focus node: empty for a
    target's own constraints, ``(regorg:registration,)`` for a nested shape's results (sh:detail).
    """

    shape: str
    component: str
    parameters: tuple[Any, ...]
    path: str
    severity: Severity
    message: str
    targets: tuple[str, ...]
    via: tuple[str, ...]
    query: str
    sparql: _SparqlRows | None = field(default=None, compare=False, repr=False)


# ------------------------------------------------------------------------------------------------
# Reading the shapes graph (pyoxigraph only)
# ------------------------------------------------------------------------------------------------

_CONSTRAINTS = ("class", "datatype", "nodeKind", "minCount", "maxCount", "minInclusive", "maxInclusive",
                "minExclusive", "maxExclusive", "pattern", "in", "hasValue", "node", "or", "and", "not")
_STRUCTURE = {"property", "sparql", "flags", "path", "targetClass", "severity", "message", "deactivated",
              "name", "description", "order", "group", "defaultValue"}
_SEVERITIES = {SH + "Violation": Severity.VIOLATION, SH + "Warning": Severity.WARNING, SH + "Info": Severity.INFO}


class _Graph:
    def __init__(self, triples: Iterable[Any]) -> None:
        self.out: dict[Term, dict[str, list[Term]]] = {}
        for t in triples:
            self.out.setdefault(t.subject, {}).setdefault(t.predicate.value, []).append(t.object)

    def objects(self, subject: Term, predicate: str) -> list[Term]:
        return self.out.get(subject, {}).get(predicate, [])

    def subjects(self, predicate: str, obj: Term | None = None) -> list[Term]:
        return [s for s, preds in self.out.items() if predicate in preds and (obj is None or obj in preds[predicate])]

    def items(self, head: Term) -> list[Term]:
        out = []
        while head != NamedNode(RDF + "nil"):
            first, rest = self.objects(head, RDF + "first"), self.objects(head, RDF + "rest")
            if len(first) != 1 or len(rest) != 1:
                raise ShapesError(f"{head} is not a well-formed RDF list")
            out.append(first[0])
            head = rest[0]
        return out


@dataclass
class _Shape:
    node: Term
    name: str
    path: str | None
    severity: Severity
    message: str | None
    deactivated: bool
    targets: tuple[str, ...]
    constraints: list[tuple[str, Term]]
    properties: list[Term]
    sparql: list[Term]
    flags: str


class _Shapes:
    """The shapes graph: shapes by node, each read once; problems collected, not raised one by one."""

    def __init__(self, graph: _Graph) -> None:
        self.graph = graph
        self.problems: list[str] = []
        self._read: dict[tuple[Term, str], _Shape] = {}

    def problem(self, text: str) -> None:
        if text not in self.problems:
            self.problems.append(text)

    def targeted(self) -> list[_Shape]:
        g = self.graph
        for kind in ("targetNode", "targetSubjectsOf", "targetObjectsOf", "target"):
            for node in g.subjects(SH + kind):
                self.problem(f"{_name(node)}: sh:{kind} is not supported (only sh:targetClass)")
        for cls in (RDFS + "Class", OWL + "Class"):
            for node in g.subjects(RDF_TYPE, NamedNode(cls)):
                if NamedNode(SH + "NodeShape") in g.objects(node, RDF_TYPE):
                    self.problem(f"{_name(node)}: implicit class targets are not supported")
        nodes = sorted(set(g.subjects(SH + "targetClass")), key=str)
        return [self.shape(node, "") for node in nodes]

    def shape(self, node: Term, parent: str) -> _Shape:
        key = (node, parent if isinstance(node, BlankNode) else "")
        if key not in self._read:
            self._read[key] = self._shape(node, parent)
        return self._read[key]

    def _shape(self, node: Term, parent: str) -> _Shape:
        g = self.graph
        preds = g.out.get(node, {})
        paths = preds.get(SH + "path", [])
        path = None
        if paths:
            if len(paths) > 1 or not isinstance(paths[0], NamedNode):
                self.problem(f"{_name(node)}: only an IRI sh:path is supported")
            path = paths[0].value
        name = _name(node) if not isinstance(node, BlankNode) else f"{parent} / {path or '[]'}"
        constraints: list[tuple[str, Term]] = []
        for predicate, values in preds.items():
            if not predicate.startswith(SH):
                continue
            local = predicate.removeprefix(SH)
            if local in _CONSTRAINTS:
                constraints += [(local, v) for v in values]
            elif local not in _STRUCTURE:
                self.problem(f"{name}: sh:{local} is not supported")
        constraints.sort(key=lambda c: (_CONSTRAINTS.index(c[0]), str(c[1])))
        messages = [m for m in preds.get(SH + "message", []) if isinstance(m, Literal)]
        if len(messages) > 1:
            self.problem(f"{name}: several sh:message values (pyshacl would report one of them at random)")
        severities = preds.get(SH + "severity", [])
        deactivated = any(isinstance(d, Literal) and d.value == "true" for d in preds.get(SH + "deactivated", []))
        flags = [f for f in preds.get(SH + "flags", []) if isinstance(f, Literal)]
        shape = _Shape(
            node=node, name=name, path=path,
            severity=_SEVERITIES.get(severities[0].value, Severity.VIOLATION) if severities else Severity.VIOLATION,
            message=messages[0].value if messages else None, deactivated=deactivated,
            targets=tuple(sorted(t.value for t in preds.get(SH + "targetClass", []) if isinstance(t, NamedNode))),
            constraints=constraints, properties=list(preds.get(SH + "property", [])),
            sparql=list(preds.get(SH + "sparql", [])), flags=flags[0].value if flags else "")
        if path is None and any(c in ("minCount", "maxCount") for c, _ in constraints):
            self.problem(f"{name}: sh:minCount / sh:maxCount on a node shape are not supported")
        if path is not None and shape.properties:
            self.problem(f"{name}: sh:property on a property shape is not supported")
        if path is not None and shape.sparql:
            self.problem(f"{name}: sh:sparql on a property shape is not supported")
        return shape

    def prefixes(self, constraint: Term) -> dict[str, str]:
        g = self.graph
        ontologies = g.subjects(RDF_TYPE, NamedNode(OWL + "Ontology"))
        declares: list[Term] = []
        for holder in g.objects(constraint, SH + "prefixes"):
            own = g.objects(holder, SH + "declare")
            declares += own if own and holder in ontologies else \
                [d for o in ontologies for d in g.objects(o, SH + "declare")] + own
        prefixes = {}
        for declare in declares:
            prefix, namespace = g.objects(declare, SH + "prefix"), g.objects(declare, SH + "namespace")
            if len(prefix) != 1 or len(namespace) != 1:
                raise ShapesError(f"{_name(declare)}: sh:declare needs one sh:prefix and one sh:namespace")
            prefixes[prefix[0].value] = namespace[0].value
        return prefixes


def _select(store: Store, query: str, functions: Mapping[NamedNode, Callable[..., Any]] | None = None
            ) -> QuerySolutions:
    solutions = store.query(query, custom_functions=dict(functions or {}))
    assert isinstance(solutions, QuerySolutions)
    return solutions


def _name(node: Term) -> str:
    return node.value if isinstance(node, NamedNode) else str(node)


# ------------------------------------------------------------------------------------------------
# Compiling shapes to SPARQL
# ------------------------------------------------------------------------------------------------

def _access(s: str, p: str, o: str, scope: str) -> str:
    """One triple pattern, as ``validate_quads`` sees it: the source graph, or also the reference data."""
    if scope == _FOCUS:
        return f"GRAPH ?kg_g {{ {s} {p} {o} }}"
    return (f"{{ {{ GRAPH ?kg_g {{ {s} {p} {o} }} }} UNION "
            f"{{ GRAPH %%REF%% {{ {s} {p} {o} }} FILTER(!isBlank({s})) }} }}")


def _own_subject(var: str) -> str:
    return f"FILTER(isIRI({var})) FILTER EXISTS {{ GRAPH ?kg_g {{ {var} ?kg_op ?kg_oo }} }}"


@dataclass(frozen=True)
class _Ctx:
    prefix: str  # the patterns that bind ?kg_g and the focus variable
    focus: str
    scope: str
    targets: tuple[str, ...]
    via: tuple[str, ...]
    chain: tuple[Term, ...]  # sh:node shapes entered, against recursion


class _Compiler:
    def __init__(self, shapes: _Shapes) -> None:
        self.shapes = shapes
        self.checks: list[Check] = []
        self.functions: dict[NamedNode, Callable[..., Any]] = {}
        self._n = 0
        self._nesting: list[Term] = []  # shapes being inlined by sh:node / sh:or..., against recursion

    def var(self) -> str:
        self._n += 1
        return f"?kg_{self._n}"

    def function(self, kind: str, fn: Callable[..., Any], shared: bool = False, boolean: bool = True) -> str:
        """A custom SPARQL function calling ``fn`` (a ``shared`` one is registered once per kind).

        ``fn`` returns a bool (or a term, unless ``boolean``); None is an evaluation error.
        """
        iri = NamedNode(f"{_FN}{kind}" if shared else f"{_FN}{kind}/{len(self.functions)}")
        if boolean:
            self.functions[iri] = lambda *terms: None if (result := fn(*terms)) is None else Literal(bool(result))
        else:
            self.functions[iri] = fn
        return f"<{iri.value}>"

    def compile(self) -> list[Check]:
        for shape in self.shapes.targeted():
            if shape.deactivated:
                continue
            focus = "%%FOCUS " + " ".join(f"<{c}>" for c in shape.targets) + "%%"
            self.shape_checks(shape, _Ctx(focus, "?this", _FOCUS, shape.targets, (), (shape.node,)))
        return self.checks

    def shape_checks(self, shape: _Shape, ctx: _Ctx) -> None:
        """Checks for a shape's constraints on ``ctx.focus``, its property shapes', and sh:node details."""
        if shape.deactivated:
            return
        for component, parameter in shape.constraints:
            result = self.result(shape, component, parameter, ctx.focus, ctx.scope)
            if result is None:
                continue
            pattern, value = result
            self.add(shape, component, self.parameters(shape, component, parameter), ctx, pattern, value)
            if component == "node":
                self.details(shape, parameter, ctx)
        for node in shape.properties:
            self.shape_checks(self.shapes.shape(node, shape.name), ctx)
        for node in shape.sparql:
            if ctx.via:
                self.shapes.problem(f"{shape.name}: sh:sparql in a shape used through sh:node is not supported")
            else:
                self.sparql(shape, node, ctx)

    def parameters(self, shape: _Shape, component: str, parameter: Term) -> tuple[Any, ...]:
        """The constraint's value as a test wants it: list members, member paths, a nested shape's name."""
        if component == "in":
            return tuple(self.shapes.graph.items(parameter))
        if component in ("or", "and"):
            members = [self.shapes.shape(m, shape.name) for m in self.shapes.graph.items(parameter)]
            return tuple(m.path or m.name for m in members)
        if component in ("node", "not"):
            return (self.shapes.shape(parameter, shape.name).name,)
        return (parameter,)

    def add(self, shape: _Shape, component: str, parameters: tuple[Any, ...], ctx: _Ctx, pattern: str,
            value: str | None) -> None:
        select = f"SELECT ?kg_g ({ctx.focus} AS ?kg_focus) " + (f"({value} AS ?kg_value)" if value else "?kg_value")
        message = shape.message if shape.message is not None else _default_message(component, shape.path)
        self.checks.append(Check(
            shape=shape.name, component=f"{component[0].upper()}{component[1:]}ConstraintComponent",
            parameters=parameters, path=shape.path or "", severity=shape.severity, message=message,
            targets=ctx.targets, via=ctx.via, query=f"{select} WHERE {{ {ctx.prefix} {pattern} }}"))

    def details(self, shape: _Shape, nested: Term, ctx: _Ctx) -> None:
        """pyshacl reports the results of a sh:node shape on each failing value node (sh:detail)."""
        if nested in ctx.chain:
            self.shapes.problem(f"{shape.name}: recursive sh:node shapes are not supported")
            return
        inner = self.shapes.shape(nested, shape.name)
        if shape.path is None:
            self.shape_checks(inner, _Ctx(ctx.prefix, ctx.focus, ctx.scope, ctx.targets, ctx.via,
                                          ctx.chain + (nested,)))
            return
        value = self.var()
        prefix = f"{ctx.prefix} {_access(ctx.focus, f'<{shape.path}>', value, ctx.scope)} {_own_subject(value)}"
        self.shape_checks(inner, _Ctx(prefix, value, _ANY, ctx.targets, ctx.via + (shape.path,),
                                      ctx.chain + (nested,)))

    # --- one constraint ---------------------------------------------------------------------------

    def result(self, shape: _Shape, component: str, parameter: Term, focus: str, scope: str
               ) -> tuple[str, str | None] | None:
        """A pattern with one solution per validation result of the constraint on ``focus``."""
        g = self.shapes.graph
        path = f"<{shape.path}>" if shape.path else None
        if component in ("minCount", "maxCount"):
            n = _integer(parameter)
            if n is None or n < 0:
                self.shapes.problem(f"{shape.name}: sh:{component} must be a non-negative integer")
                return None
            if component == "minCount":
                return (f"FILTER NOT EXISTS {{ {self.distinct_values(focus, path or '', n, scope)} }}", None) \
                    if n > 0 else None
            return f"FILTER EXISTS {{ {self.distinct_values(focus, path or '', n + 1, scope)} }}", None
        if component == "hasValue":
            if not _comparable_as_term(parameter):
                self.shapes.problem(f"{shape.name}: sh:hasValue supports IRIs and plain strings only")
                return None
            term = _sparql_term(parameter)
            if path is None:
                return f"FILTER(!sameTerm({focus}, {term}))", None
            return f"FILTER NOT EXISTS {{ {_access(focus, path, term, scope)} }}", None
        value, values = focus, ""
        if path is not None:
            value = self.var()
            values = _access(focus, path, value, scope)
        inner_scope = _ANY if path is not None else scope
        test = self.value_test(shape, component, parameter, value, inner_scope, g)
        return (f"{values} FILTER({test})", value) if test is not None else None

    def value_test(self, shape: _Shape, component: str, parameter: Term, v: str, scope: str, g: _Graph
                   ) -> str | None:
        """A SPARQL expression, true when value node ``v`` violates the constraint."""
        if component == "class":
            if not isinstance(parameter, NamedNode):
                self.shapes.problem(f"{shape.name}: sh:class must be an IRI")
                return None
            return f"isLiteral({v}) || !{self.instance(v, parameter.value)}"
        if component == "datatype":
            return self.datatype_test(shape, parameter, v)
        if component == "nodeKind":
            kinds = {"IRI": f"isIRI({v})", "Literal": f"isLiteral({v})", "BlankNode": f"isBlank({v})",
                     "BlankNodeOrIRI": f"!isLiteral({v})", "BlankNodeOrLiteral": f"!isIRI({v})",
                     "IRIOrLiteral": f"!isBlank({v})"}
            kind = kinds.get(parameter.value.removeprefix(SH)) if isinstance(parameter, NamedNode) else None
            if kind is None:
                self.shapes.problem(f"{shape.name}: unknown sh:nodeKind {parameter}")
                return None
            return f"!({kind})"
        if component == "pattern":
            return self.pattern_test(shape, parameter, v)
        if component == "in":
            members = g.items(parameter)
            if not all(_comparable_as_term(m) for m in members):
                self.shapes.problem(f"{shape.name}: sh:in supports IRIs and plain strings only")
                return None
            return "!(" + (" || ".join(f"sameTerm({v}, {_sparql_term(m)})" for m in members) or "false") + ")"
        if component in ("minInclusive", "maxInclusive", "minExclusive", "maxExclusive"):
            return self.range_test(shape, component, parameter, v)
        if component == "node":
            nested = self.shapes.shape(parameter, shape.name)
            if nested.path is not None:
                self.shapes.problem(f"{shape.name}: sh:node must point to a node shape")
                return None
            return self.has_results(nested, v, scope)
        if component in ("or", "and"):
            shapes = [self.shapes.shape(m, shape.name) for m in g.items(parameter)]
            fails = [self.fails(m, v, scope) for m in shapes]
            return (" && " if component == "or" else " || ").join(fails) or "false"
        if component == "not":
            return f"!{self.fails(self.shapes.shape(parameter, shape.name), v, scope)}"
        raise AssertionError(component)

    def distinct_values(self, focus: str, path: str, n: int, scope: str) -> str:
        """n values that rdflib holds for n different terms (it merges "05"/"5"^^xsd:integer, say)."""
        names = [self.var() for _ in range(n)]
        patterns = " ".join(_access(focus, path, name, scope) for name in names)
        same = self.function("same", _same_in_rdflib, shared=True)
        tests = [f"!sameTerm({a}, {b}) && !(isLiteral({a}) && isLiteral({b}) && DATATYPE({a}) = DATATYPE({b}) "
                 f"&& DATATYPE({a}) != <{XSD_STRING}> && DATATYPE({a}) != <{LANG_STRING}> && {same}({a}, {b}))"
                 for i, a in enumerate(names) for b in names[i + 1:]]
        return patterns + "".join(f" FILTER({t})" for t in tests)

    def instance(self, v: str, cls: str) -> str:
        """True when ``v`` is a SHACL instance of ``cls``: typed so in its source or the reference data."""
        t, u = self.var(), self.var()
        return (f"(EXISTS {{ VALUES {t} {{ %%CLASSES <{cls}>%% }} GRAPH ?kg_g {{ {v} <{RDF_TYPE}> {t} }} }} || "
                f"EXISTS {{ VALUES {u} {{ %%CLASSES <{cls}>%% }} GRAPH %%REF%% {{ {v} <{RDF_TYPE}> {u} }} "
                f"FILTER(!isBlank({v})) }})")

    def has_results(self, shape: _Shape, v: str, scope: str) -> str:
        """True when the shape has any result on ``v`` (what sh:node fails on, whatever the severity)."""
        if shape.deactivated or not self.enter(shape):
            return "false"
        parts = []
        for component, parameter in shape.constraints:
            result = self.result(shape, component, parameter, v, scope)
            if result is not None:
                parts.append(f"EXISTS {{ {result[0]} }}")
        parts += [self.has_results(self.shapes.shape(p, shape.name), v, scope) for p in shape.properties]
        if shape.sparql:
            self.shapes.problem(f"{shape.name}: sh:sparql in a shape used through sh:node/sh:or is not supported")
        self._nesting.pop()
        return "(" + " || ".join(parts) + ")" if parts else "false"

    def fails(self, shape: _Shape, v: str, scope: str) -> str:
        """True when ``v`` does not conform, as pyshacl decides it for sh:or / sh:and / sh:not members.

        pyshacl runs with allow_warnings: a shape of severity Warning or Info always conforms.
        """
        if shape.deactivated or shape.severity in (Severity.WARNING, Severity.INFO) or not self.enter(shape):
            return "false"
        parts = []
        for component, parameter in shape.constraints:
            result = self.result(shape, component, parameter, v, scope)
            if result is not None:
                parts.append(f"EXISTS {{ {result[0]} }}")
        parts += [self.fails(self.shapes.shape(p, shape.name), v, scope) for p in shape.properties]
        if shape.sparql:
            self.shapes.problem(f"{shape.name}: sh:sparql in a shape used through sh:node/sh:or is not supported")
        self._nesting.pop()
        return "(" + " || ".join(parts) + ")" if parts else "false"

    def enter(self, shape: _Shape) -> bool:
        if shape.node in self._nesting:
            self.shapes.problem(f"{shape.name}: recursive shapes are not supported")
            return False
        self._nesting.append(shape.node)
        return True

    def datatype_test(self, shape: _Shape, parameter: Term, v: str) -> str | None:
        if not isinstance(parameter, NamedNode):
            self.shapes.problem(f"{shape.name}: sh:datatype must be an IRI")
            return None
        dt = parameter.value
        if dt in _UNMODELLED:
            self.shapes.problem(f"{shape.name}: sh:datatype {dt} is not supported (rdflib's parser not reproduced)")
            return None
        literal = f"!isLiteral({v})"
        if dt == XSD_STRING:
            return f"{literal} || DATATYPE({v}) != <{XSD_STRING}>"
        if dt == LANG_STRING:
            return f'{literal} || LANG({v}) = ""'
        if dt == RDFS + "Literal":
            return literal
        if dt == RDFS + "Datatype":
            return f"{literal} || DATATYPE({v}) = <{XSD_STRING}> || DATATYPE({v}) = <{LANG_STRING}>"
        if dt not in _PARSED or dt in _STRINGLIKE:
            return f"{literal} || DATATYPE({v}) != <{dt}>"  # rdflib accepts any lexical form of these
        if dt == XSD + "boolean":
            return f'{literal} || DATATYPE({v}) != <{dt}> || !(STR({v}) IN ("true", "false", "1", "0"))'
        fast = {XSD + "integer": f'REGEX(STR({v}), "^-?[0-9]{{1,18}}$")',
                XSD + "decimal": f'REGEX(STR({v}), "^-?[0-9]{{1,18}}(\\\\.[0-9]{{1,18}})?$")',
                XSD + "date": f'REGEX(STR({v}), "^[1-9][0-9]{{3}}-[0-9]{{2}}-[0-9]{{2}}$") '
                              f"&& COALESCE(DAY({v}) > 0, false)"}.get(dt, "false")
        ok = self.function("datatype", lambda term: isinstance(term, Literal) and _datatype_ok(term, dt))
        return f"{literal} || DATATYPE({v}) != <{dt}> || (!({fast}) && !{ok}({v}))"

    def pattern_test(self, shape: _Shape, parameter: Term, v: str) -> str | None:
        if not isinstance(parameter, Literal):
            self.shapes.problem(f"{shape.name}: sh:pattern must be a literal")
            return None
        flags = (re.I if "i" in shape.flags.lower() else 0) | (re.M if "m" in shape.flags.lower() else 0)
        try:
            regex = re.compile(parameter.value, flags)
        except re.error as exc:
            self.shapes.problem(f"{shape.name}: sh:pattern {parameter.value!r} is not a valid regex: {exc}")
            return None
        ok = self.function("pattern", lambda term: bool(regex.search(_pattern_input(term))))
        sparql_flags = "".join(f for f in "im" if f in shape.flags.lower())
        suspect = (f"(isLiteral({v}) && DATATYPE({v}) != <{XSD_STRING}> && DATATYPE({v}) != <{LANG_STRING}>) "
                   f'|| REGEX(STR({v}), "[^ -~]")')
        if not _fast_regex_ok(parameter.value, sparql_flags):
            suspect = "true"
        return (f"isBlank({v}) || (({suspect}) && !{ok}({v})) || "
                f"(!({suspect}) && !REGEX(STR({v}), {_sparql_string(parameter.value)}, \"{sparql_flags}\"))")

    def range_test(self, shape: _Shape, component: str, parameter: Term, v: str) -> str | None:
        if not isinstance(parameter, Literal):
            self.shapes.problem(f"{shape.name}: sh:{component} must be a literal")
            return None
        bound = _rdflib_literal(parameter)
        accept = {"minInclusive": lambda c: c >= 0, "minExclusive": lambda c: c > 0,
                  "maxInclusive": lambda c: c <= 0, "maxExclusive": lambda c: c < 0}[component]
        ok = self.function("range", lambda term: isinstance(term, Literal) and _range_ok(term, bound, accept))
        op = {"minInclusive": ">=", "minExclusive": ">", "maxInclusive": "<=", "maxExclusive": "<"}[component]
        fast = "false"
        if parameter.datatype.value in (XSD + "integer", XSD + "decimal") and bound.value is not None \
                and re.fullmatch(r"-?[0-9]{1,18}(\.[0-9]{1,18})?", parameter.value):
            fast = (f'(DATATYPE({v}) = <{XSD}integer> && REGEX(STR({v}), "^-?[0-9]{{1,18}}$")) || '
                    f'(DATATYPE({v}) = <{XSD}decimal> && REGEX(STR({v}), "^-?[0-9]{{1,18}}(\\\\.[0-9]{{1,18}})?$"))')
        return (f"!isLiteral({v}) || (({fast}) && !({v} {op} {_sparql_term(parameter)})) || "
                f"(!({fast}) && !{ok}({v}))")

    # --- SHACL-SPARQL ------------------------------------------------------------------------------

    def sparql(self, shape: _Shape, node: Term, ctx: _Ctx) -> None:
        g = self.shapes.graph
        if any(isinstance(d, Literal) and d.value == "true" for d in g.objects(node, SH + "deactivated")):
            return
        selects = g.objects(node, SH + "select")
        if len(selects) != 1 or not isinstance(selects[0], Literal):
            self.shapes.problem(f"{shape.name}: a SPARQL constraint needs exactly one sh:select")
            return
        unknown = {p for p in g.out.get(node, {}) if p.startswith(SH)} - {
            SH + p for p in ("select", "message", "prefixes", "deactivated")}
        for predicate in sorted(unknown):
            self.shapes.problem(f"{shape.name}: sh:{predicate.removeprefix(SH)} on a SPARQL constraint "
                                "is not supported")
        messages = [m for m in g.objects(node, SH + "message") if isinstance(m, Literal)]
        if len(messages) > 1 or (messages and shape.message is not None):
            self.shapes.problem(f"{shape.name}: a SPARQL constraint result would get several messages")
        message = messages[0].value if messages else shape.message
        try:
            parsed = _SparqlConstraint(selects[0].value, self.shapes.prefixes(node), self)
        except ShapesError as exc:
            self.shapes.problem(f"{shape.name}: {exc}")
            return
        query = f"SELECT ?kg_g ?this {parsed.projection} WHERE {{ {ctx.prefix} {parsed.body} }}"
        self.checks.append(Check(
            shape=shape.name, component="SPARQLConstraintComponent", parameters=(selects[0].value,),
            path="", severity=shape.severity,
            message=message if message is not None else _default_message("sparql", None),
            targets=ctx.targets, via=ctx.via, query=query, sparql=parsed.rows))


def _default_message(component: str, path: str | None) -> str:
    return f"does not conform to sh:{component}" + (f" on {path}" if path else "")


def _integer(term: Term) -> int | None:
    try:
        return int(term.value) if isinstance(term, Literal) else None
    except ValueError:
        return None


def _comparable_as_term(term: Term) -> bool:
    """rdflib's term equality is sameTerm for IRIs and plain strings (it normalises typed literals)."""
    return isinstance(term, NamedNode) or (isinstance(term, Literal) and term.datatype.value == XSD_STRING)


def _sparql_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


def _sparql_term(term: Term) -> str:
    if isinstance(term, NamedNode):
        return f"<{term.value}>"
    if isinstance(term, Literal):
        if term.language:
            return f"{_sparql_string(term.value)}@{term.language}"
        return f"{_sparql_string(term.value)}^^<{term.datatype.value}>"
    raise ShapesError(f"a blank node cannot be a constraint parameter: {term}")


_UNSAFE_REGEX = re.compile(r"\(\?|\\[bBAZzpPkg1-9]|\[\[|-\[|\{,")


@functools.cache
def _fast_regex_ok(pattern: str, flags: str) -> bool:
    """Whether Oxigraph's regex engine may decide matches for printable-ASCII values.

    Only plain syntax (classes, quantifiers, groups, anchors, escapes) qualifies: no lookaround,
    back-references, Unicode properties or class subtraction; and Oxigraph must compile it.
    """
    if _UNSAFE_REGEX.search(pattern):
        return False
    store = open_in_memory()
    rows = list(_select(store, f'SELECT (REGEX("", {_sparql_string(pattern)}, "{flags}") AS ?ok) {{}}'))
    return rows[0]["ok"] is not None


# ------------------------------------------------------------------------------------------------
# SHACL-SPARQL constraints: the SELECT rewritten to read a source graph plus the reference data
# ------------------------------------------------------------------------------------------------

_TOKEN = re.compile("|".join((
    r"(?P<ws>\s+|#[^\n]*)",
    r"(?P<iri><[^<>\"{}|^`\\\x00-\x20]*>)",
    r'(?P<str>"""(?:[^"\\]|\\.|"(?!""))*"""|' r"'''(?:[^'\\]|\\.|'(?!''))*'''|"
    r'"(?:[^"\\\n\r]|\\.)*"|' r"'(?:[^'\\\n\r]|\\.)*')",
    r"(?P<var>[?$][A-Za-z0-9_\u00b7\u00c0-\ufffd]+)",
    r"(?P<lang>@[A-Za-z]+(?:-[A-Za-z0-9]+)*)",
    r"(?P<num>(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)(?:[eE][+-]?[0-9]+)?)",
    r"(?P<pname>(?:[A-Za-z][\w.-]*)?:(?:[\w:-]|%[0-9A-Fa-f]{2}|\\.)*(?:\.+(?:[\w:-]|%[0-9A-Fa-f]{2}|\\.)+)*)",
    r"(?P<bnode>_:[\w.-]+)",
    r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)",
    r"(?P<punct>\^\^|&&|\|\||!=|<=|>=|[{}()\[\].;,/|^*+?!=<>-])",
)))
_GROUP_KEYWORDS = {"FILTER", "OPTIONAL", "MINUS", "BIND", "VALUES", "GRAPH", "SERVICE", "UNION", "SELECT"}


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str

    @property
    def upper(self) -> str:
        return self.text.upper() if self.kind == "name" else ""


def _tokens(text: str) -> list[_Tok]:
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ShapesError(f"cannot read the SPARQL at {text[pos:pos + 30]!r}")
        pos = m.end()
        if m.lastgroup != "ws":
            out.append(_Tok(m.lastgroup or "", m.group()))
    return out


@dataclass(frozen=True)
class _Triple:
    s: str
    p: str
    o: str


@dataclass
class _Group:
    items: list[str | _Triple | _Group] = field(default_factory=list)


@dataclass(frozen=True)
class _SparqlRows:
    """How a SPARQL constraint's solutions become results, the way pyshacl does it."""

    projected: tuple[str, ...]  # the SELECT's variables, in order


class _SparqlConstraint:
    """Parse a SHACL-SPARQL SELECT; rewrite its triple patterns to read ``GRAPH ?kg_g`` + the reference."""

    def __init__(self, text: str, prefixes: Mapping[str, str], compiler: _Compiler) -> None:
        self.toks = _tokens(text)
        self.i = 0
        self.prefixes = dict(prefixes)
        self.compiler = compiler
        while self.peek().upper in ("PREFIX", "BASE"):
            if self.next().upper == "BASE":
                raise ShapesError("BASE in a SPARQL constraint is not supported")
            declared, iri = self.next(), self.next()
            self.prefixes[declared.text.rstrip(":")] = iri.text[1:-1]
        if self.next().upper != "SELECT":
            raise ShapesError("a SPARQL constraint must be a SELECT query")
        if self.peek().upper in ("DISTINCT", "REDUCED"):
            self.next()  # pyshacl drops duplicate results anyway
        projected: list[str] = []
        projection: list[str] = []
        while self.peek().text != "{" and self.peek().upper != "WHERE":
            tok = self.next()
            if tok.kind == "var":
                name = tok.text[1:]
                projected.append(name)
                if name != "this":
                    projection.append(f"?{name}")
            elif tok.text == "(":
                expr = self.expression(")", stop_at_as=True)
                if self.next().upper != "AS":
                    raise ShapesError("expected AS in the SELECT clause")
                var = self.next()
                self.expect(")")
                projected.append(var.text[1:])
                projection.append(f"({self.emit(self.rewrite(expr))} AS ?{var.text[1:]})")
            else:
                raise ShapesError(f"unsupported SELECT clause item {tok.text!r}")
        if self.peek().upper == "WHERE":
            self.next()
        self.expect("{")
        group = self.group()
        if self.i != len(self.toks):
            raise ShapesError(f"solution modifiers are not supported ({self.toks[self.i].text} ...)")
        used = {t.text[1:] for t in self.toks if t.kind == "var"}
        if reserved := sorted(v for v in used if v.startswith("kg_")):
            raise ShapesError(f"variable names starting with kg_ are reserved: {', '.join(reserved)}")
        for special in ("currentShape", "shapesGraph", "PATH"):
            if f"${special}" in {t.text for t in self.toks}:
                raise ShapesError(f"${special} is not supported")
        if "failure" in projected:
            raise ShapesError("?failure is not supported")
        self.check_reach(group, {"?this"})
        self.projection = " ".join(projection)
        self.body = self.emit(group.items)
        self.rows = _SparqlRows(tuple(projected))

    def peek(self) -> _Tok:
        return self.toks[self.i] if self.i < len(self.toks) else _Tok("end", "")

    def next(self) -> _Tok:
        tok = self.peek()
        if tok.kind == "end":
            raise ShapesError("the SPARQL ends too early")
        self.i += 1
        return tok

    def expect(self, text: str) -> None:
        if self.next().text != text:
            raise ShapesError(f"expected {text!r} in the SPARQL near token {self.i}")

    def group(self) -> _Group:
        """The group after its '{', up to and including its '}'."""
        group = _Group()
        while self.peek().text != "}":
            tok = self.peek()
            keyword = tok.upper
            if tok.text == "{":
                self.next()
                group.items.append(self.group())
            elif keyword == "UNION":
                group.items.append(self.next().text)
            elif keyword in ("OPTIONAL", "MINUS"):
                self.next()
                self.expect("{")
                group.items += [keyword, self.group()]
            elif keyword == "FILTER":
                self.next()
                group.items += ["FILTER", *self.rewrite(self.constraint())]
            elif keyword == "BIND":
                self.next()
                self.expect("(")
                expr = self.expression(")", stop_at_as=True)
                if self.next().upper != "AS":
                    raise ShapesError("expected AS in BIND")
                var = self.next()
                self.expect(")")
                group.items += ["BIND", "(", *self.rewrite(expr), "AS", f"?{var.text[1:]}", ")"]
            elif keyword == "VALUES":
                group.items += self.values()
            elif keyword in ("GRAPH", "SERVICE", "SELECT"):
                raise ShapesError(f"{keyword} in a SPARQL constraint is not supported")
            elif tok.kind == "end":
                raise ShapesError("unbalanced braces in the SPARQL")
            else:
                group.items += self.triples()
        self.next()
        return group

    def values(self) -> list[str | _Triple | _Group]:
        out: list[str | _Triple | _Group] = [self.next().text]
        depth = 0
        while True:
            tok = self.peek()
            if tok.text in "{}()" or tok.kind == "var" or tok.upper == "UNDEF":
                out.append(self.term_text(self.next()))
                depth += {"{": 1, "}": -1}.get(tok.text, 0)
                if tok.text == "}" and depth == 0:
                    return out
            else:
                out.append(self.term())

    def constraint(self) -> list[Any]:
        tok = self.peek()
        if tok.upper in ("EXISTS", "NOT"):
            return self.expression(None, single=True)
        head = [] if tok.text == "(" else [self.next()]  # (expr), or a function call
        self.expect("(")
        inner = self.expression(")")
        self.expect(")")
        return [*head, _Tok("punct", "("), *inner, _Tok("punct", ")")]

    def expression(self, close: str | None, stop_at_as: bool = False, single: bool = False) -> list[Any]:
        """Tokens up to the unmatched ``close`` (not consumed); EXISTS groups parsed and rewritten."""
        out: list[Any] = []
        depth = 0
        while True:
            tok = self.peek()
            if tok.kind == "end":
                raise ShapesError("unbalanced parentheses in the SPARQL")
            if depth == 0 and (tok.text == close or (stop_at_as and tok.upper == "AS")):
                return out
            if tok.kind == "str":
                out.append(_Tok("str", self.term()))  # with its language tag or datatype
                continue
            self.next()
            if tok.upper == "EXISTS":
                self.expect("{")
                out += [tok, self.group()]
                if single and depth == 0:
                    return out
                continue
            depth += {"(": 1, ")": -1}.get(tok.text, 0)
            out.append(_Tok(tok.kind, self.term_text(tok)))

    def triples(self) -> list[str | _Triple | _Group]:
        """One subject with its predicate-object list, expanded to simple triples."""
        out: list[str | _Triple | _Group] = []
        subject = self.term()
        while True:
            path = self.path()
            while True:
                obj = self.term()
                out += self.expand(subject, path, obj)
                if self.peek().text != ",":
                    break
                self.next()
            if self.peek().text != ";":
                break
            while self.peek().text == ";":
                self.next()
            if self.peek().text in (".", "}") or self.peek().upper in _GROUP_KEYWORDS:
                break
        if self.peek().text == ".":
            self.next()
        return out

    def path(self) -> list[tuple[bool, str]]:
        steps = []
        while True:
            inverse = self.peek().text == "^"
            if inverse:
                self.next()
            tok = self.next()
            if tok.kind not in ("iri", "pname") and tok.text != "a":
                raise ShapesError(f"unsupported predicate or property path {tok.text!r}")
            steps.append((inverse, f"<{RDF_TYPE}>" if tok.text == "a" else self.term_text(tok)))
            if self.peek().text in ("|", "*", "+", "?", "!", "("):
                raise ShapesError(f"property path operator {self.peek().text!r} is not supported")
            if self.peek().text != "/":
                return steps
            self.next()

    def expand(self, subject: str, path: list[tuple[bool, str]], obj: str) -> list[str | _Triple | _Group]:
        nodes = [subject] + [self.compiler.var() for _ in path[1:]] + [obj]
        return [_Triple(nodes[k + 1], p, nodes[k]) if inverse else _Triple(nodes[k], p, nodes[k + 1])
                for k, (inverse, p) in enumerate(path)]

    def term(self) -> str:
        tok = self.next()
        if tok.text in ("-", "+") and self.peek().kind == "num":
            return tok.text + self.next().text
        if tok.kind == "str":
            if self.peek().kind == "lang":
                return tok.text + self.next().text
            if self.peek().text == "^^":
                self.next()
                return f"{tok.text}^^{self.term_text(self.next())}"
            return tok.text
        if tok.kind in ("var", "iri", "pname", "num") or tok.upper in ("TRUE", "FALSE"):
            return self.term_text(tok)
        raise ShapesError(f"unsupported term {tok.text!r} in a triple pattern (blank nodes, lists ...)")

    def term_text(self, tok: _Tok) -> str:
        if tok.kind == "var":
            return "?" + tok.text[1:]
        if tok.kind == "pname":
            prefix, local = tok.text.split(":", 1)
            if prefix not in self.prefixes:
                raise ShapesError(f"prefix {prefix}: is not declared (sh:prefixes)")
            return "<" + self.prefixes[prefix] + re.sub(r"\\(.)", r"\1", local) + ">"
        return tok.text

    def rewrite(self, items: list[Any]) -> list[Any]:
        """The expression with the operators and functions whose rdflib semantics differ from SPARQL 1.1
        (comparisons, arithmetic, ABS, STR, XSD casts) as calls of Python functions that reproduce them.

        rdflib orders literals of different datatypes by datatype IRI where SPARQL raises a type error,
        reads ill-typed literals through Python's parsers (``int(" 5 ")``), and computes decimals to 28
        digits: pyshacl's SPARQL constraints see all that, so these do too.
        """
        pos = 0

        def peek() -> str:
            item = items[pos] if pos < len(items) else None
            return item.text.upper() if isinstance(item, _Tok) and item.kind in ("punct", "name") else ""

        def take() -> Any:
            nonlocal pos
            pos += 1
            return items[pos - 1]

        def call(kind: str, fn: Callable[..., Term | None], operands: list[list[Any]]) -> list[Any]:
            out: list[Any] = [self.compiler.function(kind, fn, shared=True, boolean=False), "("]
            for k, operand in enumerate(operands):
                out += ([","] if k else []) + operand
            return out + [")"]

        def chain(ops: tuple[str, ...], operand: Callable[[], list[Any]], kind: str) -> list[Any]:
            operands, signs = [operand()], ""
            while peek() in ops:
                signs += take().text
                operands.append(operand())
            if not signs:
                return operands[0]
            if kind == "":
                return [part for k, o in enumerate(operands) for part in ([signs[k - 1]] if k else []) + o]
            return call(f"{kind}{_sign_name(signs)}", _rdflib_arithmetic(kind, signs), operands)

        def disjunction() -> list[Any]:
            return chain(("||",), conjunction, "")

        def conjunction() -> list[Any]:
            return chain(("&&",), relation, "")

        def relation() -> list[Any]:
            left = additive()
            if peek() in _RELATIONS:
                op = take().text
                return call(f"compare-{_RELATIONS[op]}", _rdflib_relation(op), [left, additive()])
            if peek() in ("IN", "NOT"):
                left += [take()] + ([take()] if peek() == "IN" else [])
                left += arguments()
            return left

        def additive() -> list[Any]:
            return chain(("+", "-"), multiplicative, "add")

        def multiplicative() -> list[Any]:
            return chain(("*", "/"), unary, "mul")

        def unary() -> list[Any]:
            if peek() in ("-", "+"):
                sign = take().text
                return call("negate" if sign == "-" else "plus", _rdflib_unary(sign), [unary()])
            if peek() == "!":
                return [take(), *unary()]
            return primary()

        def arguments() -> list[Any]:
            out = [take()]  # (
            if out[0].text != "(":
                raise ShapesError("expected '(' in an expression")
            while peek() != ")":
                if peek() in ("DISTINCT", "*", ",", ";", "SEPARATOR", "="):
                    out.append(take())
                    continue
                out += disjunction()
            return out + [take()]

        def primary() -> list[Any]:
            if pos >= len(items):
                raise ShapesError("an expression ends too early")
            item = take()
            if isinstance(item, _Group):
                return [item]
            if item.text == "(":
                inner = disjunction()
                if take().text != ")":
                    raise ShapesError("unbalanced parentheses in an expression")
                return [item, *inner, _Tok("punct", ")")]
            if item.upper == "NOT" and peek() == "EXISTS":
                return [item, take(), take()]
            if item.upper == "EXISTS":
                return [item, take()]
            if item.kind in ("name", "iri", "pname") and peek() == "(":
                args = arguments()
                name = item.upper if item.kind == "name" else item.text[1:-1]
                if name in ("ABS", "STR") or name.startswith(XSD):
                    kind = name.lower() if name in ("ABS", "STR") else "cast-" + name.removeprefix(XSD)
                    inner = args[1:-1]
                    if _top_level_commas(inner):
                        raise ShapesError(f"{name} takes one argument")
                    result = call(kind, _RDFLIB_FUNCTIONS.get(kind) or _rdflib_cast(name), [inner])
                    if kind == "str" and len(inner) == 1 and isinstance(inner[0], _Tok):  # fast path: IRIs, strings
                        x = inner[0].text
                        return [f"IF(isIRI({x}) || (isLiteral({x}) && (DATATYPE({x}) = <{XSD_STRING}> || "
                                f"DATATYPE({x}) = <{LANG_STRING}>)), STR({x}), ", *result, ")"]
                    return result
                return [item, *args]
            return [item]

        out = disjunction()
        if pos != len(items):
            raise ShapesError(f"cannot read the expression near {items[pos]}")
        return out

    def check_reach(self, group: _Group, reach: set[str]) -> None:
        """Every triple pattern must start at $this or at a node reached from it by earlier patterns.

        That is what makes reading the whole reference graph the same as reading the reference triples
        ``validate_quads`` copies next to a source (those reachable from the source's objects).
        """
        triples = [t for t in group.items if isinstance(t, _Triple)]
        reached = set(reach)
        grown = True
        while grown:
            grown = False
            for t in triples:
                if t.s in reached and t.o.startswith("?") and t.o not in reached:
                    reached.add(t.o)
                    grown = True
        for t in triples:
            if t.s not in reached:
                raise ShapesError(f"triple pattern {t.s} {t.p} {t.o} does not start from $this or a node "
                                  "reached from it")
        for item in group.items:
            if isinstance(item, _Group):
                self.check_reach(item, reached)

    def emit(self, items: Sequence[Any]) -> str:
        out = []
        for item in items:
            if isinstance(item, _Triple):
                out.append(_access(item.s, item.p, item.o, _FOCUS if item.s == "?this" else _ANY))
            elif isinstance(item, _Group):
                out.append("{ " + self.emit(item.items) + " }")
            elif isinstance(item, _Tok):
                out.append(item.text)
            else:
                out.append(item)
        return " ".join(out)


# ------------------------------------------------------------------------------------------------
# Running the checks
# ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CompiledShapes:
    """The shapes as SPARQL checks, ready to run on any store (see :func:`compile_shapes`)."""

    checks: tuple[Check, ...]
    functions: Mapping[NamedNode, Callable[..., Any]] = field(repr=False)
    # Oxigraph releases the GIL while it evaluates: checks run in threads, one per core.
    workers: int = field(default_factory=lambda: min(8, os.cpu_count() or 1))

    def validate(self, store: Store, source_names: Mapping[str, str], reference_graph: str | NamedNode
                 ) -> list[Finding]:
        """Validate the source graphs of ``store``; every source in one run.

        :param store: the quads: each source's in its own named graph, the reference data in another.
        :param source_names: source graph IRI → the source file name recorded in findings; other named
            graphs (ontology, personal data...) are not validated.
        :param reference_graph: the graph of the reference data the sources link to.
        :return: the findings about IRI subjects of the source graphs, sorted by source, focus node,
            path, message, value.

        >>> from pyoxigraph import Literal, NamedNode, Quad
        >>> from kgbuild.store import open_in_memory
        >>> store, g = open_in_memory(), NamedNode("http://example.org/graph/a")
        >>> kg = "https://w3id.org/kgbuild/ontology#"
        >>> store.add(Quad(NamedNode("http://example.org/p"), NamedNode(RDF_TYPE), NamedNode(kg + "Project"), g))
        >>> findings = compile_shapes().validate(store, {g.value: "a.txt"}, "http://example.org/graph/reference")
        >>> sorted(f.message.split(": ", 1)[1] for f in findings)
        ['at least one prov:wasDerivedFrom, a kg:SourceDocument', 'exactly one dct:title, a language-tagged string']
        """
        reference = NamedNode(reference_graph) if isinstance(reference_graph, str) else reference_graph
        names = {g: n for g, n in source_names.items() if g != reference.value}
        exact = self._needs_exact(store, reference, names)
        findings = self._run(store, names.keys() - exact, names, reference, reference)
        if exact:
            index = ReferenceIndex(store.quads_for_pattern(None, None, None, reference))
            for graph in sorted(exact):
                findings += self._run_exactly(store, NamedNode(graph), names[graph], index)
        return sorted(findings, key=finding_order)

    def findings_by_check(self, store: Store, source_names: Mapping[str, str], reference_graph: str | NamedNode
                          ) -> dict[Check, list[Finding]]:
        """Like :meth:`validate`, with each check's findings apart (for tests and diagnostics)."""
        reference = NamedNode(reference_graph) if isinstance(reference_graph, str) else reference_graph
        names = {g: n for g, n in source_names.items() if g != reference.value}
        if self._needs_exact(store, reference, names):
            raise ValueError("findings_by_check needs sources that do not restate reference subjects")
        return self._run_checks(store, names.keys(), names, reference, reference)

    def _needs_exact(self, store: Store, reference: NamedNode, names: Mapping[str, str]) -> set[str]:
        """Source graphs that restate a reference subject or say rdfs:subClassOf: validated on their own."""
        ref = f"<{reference.value}>"
        restating = (f"SELECT DISTINCT ?g WHERE {{ {{ SELECT DISTINCT ?s WHERE {{ GRAPH {ref} {{ ?s ?p ?o }} "
                     f"FILTER(isIRI(?s)) }} }} GRAPH ?g {{ ?s ?p2 ?o2 }} FILTER(?g != {ref}) }}")
        subclassing = f"SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ ?s <{RDFS}subClassOf> ?o }} FILTER(?g != {ref}) }}"
        found = {row["g"].value for q in (restating, subclassing) for row in _select(store, q)}
        return found & set(names)

    def _run(self, store: Store, graphs: Iterable[str], names: Mapping[str, str], reference: NamedNode,
             hierarchy: NamedNode) -> list[Finding]:
        by_check = self._run_checks(store, graphs, names, reference, hierarchy)
        return [f for found in by_check.values() for f in found]

    def _run_checks(self, store: Store, graphs: Iterable[str], names: Mapping[str, str], reference: NamedNode,
                    hierarchy: NamedNode) -> dict[Check, list[Finding]]:
        wanted = set(graphs)
        if not wanted:
            return {check: [] for check in self.checks}
        subclasses = _subclasses(store, hierarchy)
        queries = [_materialise(c.query, reference, subclasses) for c in self.checks]

        def run(item: tuple[Check, str]) -> list[Finding]:
            check, query = item
            solutions = _select(store, query, self.functions)
            if check.sparql is not None:
                return _sparql_findings(check, solutions, wanted, names)
            return [Finding(source=names[row["kg_g"].value], severity=check.severity,
                            focus_node=row["kg_focus"].value, path=check.path, message=check.message,
                            value=_render(row["kg_value"]) if row["kg_value"] is not None else "")
                    for row in solutions if row["kg_g"].value in wanted]

        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            results = list(pool.map(run, zip(self.checks, queries, strict=True)))
        return dict(zip(self.checks, results, strict=True))

    def _run_exactly(self, store: Store, graph: NamedNode, name: str, index: ReferenceIndex) -> list[Finding]:
        """One source with its reachable reference triples in one graph: validate_quads' data exactly."""
        triples = [q.triple for q in store.quads_for_pattern(None, None, None, graph)]
        own = {t.subject.value for t in triples if isinstance(t.subject, NamedNode)}
        alone = open_in_memory()
        alone.extend(Quad(t.subject, t.predicate, t.object, graph) for t in triples + index.closure(triples))
        findings = self._run(alone, [graph.value], {graph.value: name}, EMPTY_GRAPH, graph)
        return [f for f in findings if f.focus_node in own]


def finding_order(f: Finding) -> tuple[str, ...]:
    """The order of findings in a report: by source, focus node, path, message, value, severity."""
    return f.source, f.focus_node, f.path, f.message, f.value, f.severity.value


def _subclasses(store: Store, graph: NamedNode) -> dict[str, set[str]]:
    """Class → its subclasses (transitively), from the rdfs:subClassOf triples of ``graph``."""
    direct: dict[str, set[str]] = {}
    query = f"SELECT ?s ?o WHERE {{ GRAPH <{graph.value}> {{ ?s <{RDFS}subClassOf> ?o }} FILTER(isIRI(?s)) }}"
    for row in _select(store, query):
        direct.setdefault(row["o"].value, set()).add(row["s"].value)
    closed: dict[str, set[str]] = {}
    for cls in direct:
        seen, todo = set(), [cls]
        while todo:
            for sub in direct.get(todo.pop(), ()):
                if sub not in seen:
                    seen.add(sub)
                    todo.append(sub)
        closed[cls] = seen
    return closed


_PLACEHOLDER = re.compile(r"%%(REF|CLASSES|FOCUS)([^%]*)%%")


def _materialise(template: str, reference: NamedNode, subclasses: Mapping[str, set[str]]) -> str:
    def classes(text: str) -> list[str]:
        named = re.findall(r"<([^>]*)>", text)
        return sorted({c for cls in named for c in (cls, *subclasses.get(cls, ()))})

    def fill(m: re.Match[str]) -> str:
        if m[1] == "REF":
            return f"<{reference.value}>"
        if m[1] == "CLASSES":
            return " ".join(f"<{c}>" for c in classes(m[2]))
        kinds = classes(m[2])
        guard = f"FILTER(isIRI(?this) && ?kg_g != <{reference.value}>)"
        if len(kinds) == 1:
            return f"GRAPH ?kg_g {{ ?this <{RDF_TYPE}> <{kinds[0]}> }} {guard}"
        values = " ".join(f"<{c}>" for c in kinds)
        return (f"{{ SELECT DISTINCT ?kg_g ?this WHERE {{ VALUES ?kg_class {{ {values} }} "
                f"GRAPH ?kg_g {{ ?this <{RDF_TYPE}> ?kg_class }} {guard} }} }}")

    return _PLACEHOLDER.sub(fill, template)


def _sparql_findings(check: Check, solutions: Iterable[Any], wanted: set[str], names: Mapping[str, str]
                     ) -> list[Finding]:
    """pyshacl's handling of a SPARQL constraint's rows: dedup, ?path/?value, {?var} in the message."""
    rows = check.sparql
    assert rows is not None
    seen: set[tuple[str, ...]] = set()
    out = []
    for row in solutions:
        graph = row["kg_g"].value
        if graph not in wanted:
            continue
        focus = row["this"]

        def text(name: str, row: Any = row) -> str | None:
            term = row[name]
            return None if term is None else _render(term)

        others = [(name, text(name)) for name in rows.projected if name not in ("this", "path", "value")]
        bound = [(name, value) for name, value in others if value is not None]
        path = text("path") if "path" in rows.projected else None
        value = text("value") if "value" in rows.projected else None
        key = (graph, focus.value, path or "", value or "", *(f"{n}={v}" for n, v in bound))
        if key in seen:
            continue
        seen.add(key)
        value = value if value is not None else _render(focus)  # a node shape's result is about its focus
        substitutions = bound + ([("this", _render(focus))] if "this" in rows.projected else [])
        substitutions += ([("path", path)] if path is not None else []) + [("value", value)]
        message = check.message
        for name, replacement in substitutions:
            try:
                message = re.sub(f"{{[?$]{name}}}", replacement, message)
            except re.error:  # pyshacl hands the value to re.sub as a template; we keep it as written
                message = message.replace("{?" + name + "}", replacement).replace("{$" + name + "}", replacement)
        out.append(Finding(source=names[graph], severity=check.severity, focus_node=focus.value, path=path or "",
                           message=message, value=value))
    return out


# ------------------------------------------------------------------------------------------------
# Entry points
# ------------------------------------------------------------------------------------------------

def compile_shapes(paths: Sequence[str | Path] | None = None) -> CompiledShapes:
    """Compile SHACL shapes (default: ``shapes/*.ttl``) to SPARQL checks; cached per set of files.

    :param paths: Turtle files with the shapes.
    :return: one :class:`Check` per constraint (and per constraint of a sh:node shape, for its details).
    :raises ShapesError: listing every SHACL feature the shapes use that is not supported.

    >>> compiled = compile_shapes()
    >>> sorted({c.component for c in compiled.checks})[:3]
    ['ClassConstraintComponent', 'DatatypeConstraintComponent', 'HasValueConstraintComponent']
    """
    files = tuple(str(p) for p in (paths if paths is not None else sorted(shapes_path().glob("*.ttl"))))
    return _compile(files)


@functools.cache
def _compile(files: tuple[str, ...]) -> CompiledShapes:
    graph = _Graph(t for path in files for t in parse(path=path, format=RdfFormat.TURTLE))
    shapes = _Shapes(graph)
    compiler = _Compiler(shapes)
    checks = compiler.compile()
    if shapes.problems:
        raise ShapesError("the shapes use SHACL that cannot be compiled to SPARQL:\n  " + "\n  ".join(shapes.problems))
    return CompiledShapes(tuple(checks), dict(compiler.functions))


def validate_sources(mapped: Sequence[MappedSource], reference_quads: Sequence[Quad],
                     shapes: CompiledShapes | None = None, batch: int = BATCH_SOURCES) -> ValidationReport:
    """Validate mapped sources together, each with the reference data it links to, in in-memory stores.

    The same findings as :func:`kgbuild.validation.validate_quads` on each source; at most ``batch``
    sources share a store, to bound memory.
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


# ------------------------------------------------------------------------------------------------
# pyshacl compatibility: how rdflib reads, writes and compares a literal
# ------------------------------------------------------------------------------------------------

_STRINGLIKE = {XSD + t for t in ("string", "normalizedString", "token", "language", "anyURI")}
_INT_RANGES: dict[str, tuple[int | None, int | None]] = {
    XSD + "int": (-2 ** 31, 2 ** 31 - 1), XSD + "short": (-32768, 32767), XSD + "byte": (-128, 127),
    XSD + "unsignedInt": (0, 2 ** 32 - 1), XSD + "unsignedShort": (0, 65535), XSD + "unsignedByte": (0, 255),
    XSD + "unsignedLong": (0, None), XSD + "nonNegativeInteger": (0, None), XSD + "positiveInteger": (1, None),
    XSD + "nonPositiveInteger": (None, 0), XSD + "negativeInteger": (None, -1)}
_INTEGERS = {XSD + "integer", XSD + "long", *_INT_RANGES}
_NUMERIC = _INTEGERS | {XSD + "decimal", XSD + "double", XSD + "float"}
_UNMODELLED = {XSD + t for t in ("duration", "dayTimeDuration", "yearMonthDuration", "hexBinary", "base64Binary")} \
    | {RDF + "XMLLiteral", RDF + "HTML"}
_PARSED = _STRINGLIKE | _NUMERIC | {XSD + t for t in ("boolean", "date", "dateTime", "time")} | _UNMODELLED


@dataclass(frozen=True, slots=True)
class _RLit:
    """A literal as rdflib holds it: plain/xsd:string/language-tagged ones have no datatype."""

    lexical: str
    datatype: str | None
    language: str | None
    value: Any
    ill_typed: bool | None


def _parse_lexical(lexical: str, datatype: str) -> Any:
    """rdflib's lexical-to-value mapping (Python 3.11 parsers); raises ValueError & co. when it fails."""
    if datatype in _STRINGLIKE:
        return lexical
    if datatype in _INTEGERS:
        return int(lexical)
    if datatype == XSD + "decimal":
        return Decimal(lexical)
    if datatype in (XSD + "double", XSD + "float"):
        return float(lexical)
    if datatype == XSD + "boolean":
        return lexical.lower() in ("1", "true")  # rdflib: anything else is False (with a warning)
    if datatype == XSD + "date":
        return _parse_xsd_date(lexical)
    if datatype == XSD + "dateTime":
        return datetime.fromisoformat(lexical)
    if datatype == XSD + "time":
        return time.fromisoformat(lexical)
    return None


def _parse_xsd_date(text: str) -> date:
    if text.endswith(("Z", "z")):
        text = text[:-1]
    minus = text.startswith("-")
    if minus:
        text = text[1:]
    if "T" in text:
        text = text.split("T")[0]
    elif text.rfind("+") > 0:
        text = text[:text.rfind("+")]
    else:
        parts = text.rsplit("-", 1)
        if len(parts) > 1 and ":" in parts[-1]:
            text = parts[0]
    if "-" not in text:
        raise ValueError("XSD Date string must contain at least two dashes")
    return date.fromisoformat(text if not minus else "-" + text)


def _well_formed(datatype: str, lexical: str, value: Any) -> bool:
    if datatype == XSD + "boolean":
        return lexical in ("true", "false", "1", "0")
    if datatype in _INT_RANGES:
        low, high = _INT_RANGES[datatype]
        return (isinstance(value, int) and (low is None or value >= low) and (high is None or value <= high)
                and (len(lexical) > 0 or datatype.endswith(("Integer", "negativeInteger"))))
    return value is not None


def _lexical_of(value: Any, lexical: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    return lexical


@functools.lru_cache(maxsize=65536)
def _rdflib_view(lexical: str, datatype: str, language: str | None) -> _RLit:
    if language:
        return _RLit(lexical, None, language, lexical, None)
    dt = None if datatype == XSD_STRING else datatype  # pyoxigraph writes xsd:string literals plainly
    if dt is None:
        return _RLit(lexical, None, None, lexical, None)
    if dt not in _PARSED or dt in _UNMODELLED:
        return _RLit(lexical, dt, None, None, None)
    try:
        value = _parse_lexical(lexical, dt)
    except (ValueError, ArithmeticError, TypeError, OverflowError):
        value = None
    ill_typed = not _well_formed(dt, lexical, value)
    text = _lexical_of(value, lexical) if value is not None else lexical
    if dt in (XSD + "normalizedString", XSD + "token"):
        text = text.replace("\t", " ").replace("\n", " ").replace("\r", " ")
        if dt == XSD + "token":
            text = re.sub(" +", " ", text.strip())
    return _RLit(text, dt, None, value, ill_typed)


def _rdflib_literal(term: Literal) -> _RLit:
    return _rdflib_view(term.value, term.datatype.value, term.language)


def _render(term: Term) -> str:
    """A term as pyshacl's report writes it (``str()`` of the rdflib term)."""
    return _rdflib_literal(term).lexical if isinstance(term, Literal) else term.value


def _same_in_rdflib(a: Term, b: Term) -> bool:
    """Whether rdflib holds two literals as one term (so one value node)."""
    if not (isinstance(a, Literal) and isinstance(b, Literal)):
        return False
    x, y = _rdflib_literal(a), _rdflib_literal(b)
    return (x.lexical, x.datatype, (x.language or "").lower()) == (y.lexical, y.datatype, (y.language or "").lower())


def _datatype_ok(term: Literal, rule: str) -> bool:
    """pyshacl's DatatypeConstraintComponent on an rdflib literal."""
    lit = _rdflib_literal(term)
    if lit.datatype == rule:
        return lit.ill_typed is not True and _actual_datatype(lit.value, rule)
    if rule == XSD_STRING and lit.datatype is None and lit.language is None:
        return _actual_datatype(lit.value, rule)
    if rule == LANG_STRING and lit.language:
        return _actual_datatype(lit.value, rule)
    return rule == RDFS + "Literal" or (rule == RDFS + "Datatype" and lit.datatype is not None)


def _actual_datatype(value: Any, rule: str) -> bool:
    kinds: dict[str, type | tuple[type, ...]] = {
        XSD_STRING: (str, bytes), LANG_STRING: (str, bytes), XSD + "integer": int, XSD + "float": float,
        XSD + "decimal": Decimal, XSD + "boolean": bool, XSD + "date": date, XSD + "time": time,
        XSD + "dateTime": datetime}
    return isinstance(value, kinds[rule]) if rule in kinds else True


def _pattern_input(term: Term) -> str:
    """What pyshacl matches sh:pattern against."""
    if isinstance(term, Literal):
        lit = _rdflib_literal(term)
        return str(lit.value) if lit.value is not None and lit.datatype is None else lit.lexical
    return term.value


def _range_ok(term: Literal, bound: _RLit, accept: Callable[[int], bool]) -> bool:
    """pyshacl's sh:minInclusive & co. on a literal value node."""
    lit = _rdflib_literal(term)
    if isinstance(lit.value, str) != isinstance(bound.value, str):
        return False
    try:
        return accept(_compare_literal(lit, bound))
    except (TypeError, NotImplementedError):
        return False


def _numeric_pair(a: _RLit, b: _RLit) -> bool:
    return (a.datatype in _NUMERIC and b.datatype in _NUMERIC and not a.ill_typed and not b.ill_typed
            and a.value is not None and b.value is not None)


def _literal_eq(a: _RLit, b: _RLit) -> bool:
    """rdflib's ``Literal.eq``; raises TypeError where it does."""
    if _numeric_pair(a, b):
        return bool(a.value == b.value)
    if (a.language or "").lower() != (b.language or "").lower():
        return False
    dta, dtb = a.datatype or XSD_STRING, b.datatype or XSD_STRING
    if dta == XSD_STRING and dtb == XSD_STRING:
        return a.lexical == b.lexical
    if dta != dtb:
        return False
    if a.value is not None and b.value is not None:
        return bool(a.value == b.value)
    if a.lexical == b.lexical:
        return True
    if a.datatype == XSD_STRING:
        return False
    raise TypeError(f"cannot know whether {a.lexical} and {b.lexical} are the same value")


def _aware(value: Any) -> bool:
    return value.tzinfo is not None and value.tzinfo.utcoffset(value if isinstance(value, datetime) else None) \
        is not None


def _literal_gt(a: _RLit, b: _RLit) -> bool:
    """rdflib's ``Literal.__gt__`` between literals (incomparable datatypes ordered by IRI)."""
    if _numeric_pair(a, b):
        return bool(a.value > b.value)
    dta, dtb = a.datatype or XSD_STRING, b.datatype or XSD_STRING
    if dta != dtb:
        return dta > dtb
    if a.language != b.language:
        if not a.language:
            return False
        if not b.language:
            return True
        return a.language > b.language
    if a.value is not None and b.value is not None:
        if type(a.value) in (datetime, time):
            return (_aware(a.value), a.value) > (_aware(b.value), b.value)
        try:
            return bool(a.value > b.value)
        except TypeError:
            pass
    if a.lexical != b.lexical:
        return a.lexical > b.lexical
    if a.datatype != b.datatype:
        return a.datatype is not None and (b.datatype is None or a.datatype > b.datatype)
    return False


_RELATIONS = {"=": "eq", "!=": "ne", "<": "lt", ">": "gt", "<=": "le", ">=": "ge"}
# The datatypes rdflib's SPARQL engine orders (anything else only compares with = and !=).
_SPARQL_XSD = _INTEGERS | {XSD + t for t in ("decimal", "float", "double", "string", "boolean", "dateTime", "date")}


def _literal_lt(a: _RLit, b: _RLit) -> Any:
    try:
        return not _literal_gt(a, b) and not _literal_eq(a, b)
    except TypeError:
        return NotImplemented


def _literal_le(a: _RLit, b: _RLit) -> Any:
    lower = _literal_lt(a, b)
    if lower is NotImplemented or lower:  # rdflib tests NotImplemented for truth: it is true
        return True
    try:
        return _literal_eq(a, b)
    except TypeError:
        return NotImplemented


def _literal_ge(a: _RLit, b: _RLit) -> Any:
    if _literal_gt(a, b):
        return True
    try:
        return _literal_eq(a, b)
    except TypeError:
        return NotImplemented


_LITERAL_RELATIONS: dict[str, Callable[[_RLit, _RLit], Any]] = {
    "=": _literal_eq, "!=": lambda a, b: not _literal_eq(a, b), "<": _literal_lt, ">": _literal_gt,
    "<=": _literal_le, ">=": _literal_ge}


def _rdflib_relation(op: str) -> Callable[[Term, Term], Literal | None]:
    """rdflib's RelationalExpression: a comparison as pyshacl's SPARQL engine makes it (None: an error)."""
    def compare(a: Term, b: Term) -> Literal | None:
        if isinstance(a, Literal) and isinstance(b, Literal):
            x, y = _rdflib_literal(a), _rdflib_literal(b)
            if op not in ("=", "!=") and x.datatype and y.datatype and x.datatype not in _SPARQL_XSD \
                    and y.datatype not in _SPARQL_XSD:
                return None
            try:
                result = _LITERAL_RELATIONS[op](x, y)
            except TypeError:
                return None
            return None if result is NotImplemented else Literal(bool(result))
        if op not in ("=", "!="):
            return None
        same = not isinstance(a, Literal) and not isinstance(b, Literal) and a == b
        return Literal(same if op == "=" else not same)
    return compare


def _compare_literal(a: _RLit, b: _RLit) -> int:
    """pyshacl's ``compare_literal``."""
    if _literal_eq(a, b):
        return 0
    if type(a.value) in (datetime, time):
        if a.value == b.value:
            return 0
        if a.value > b.value:
            return 1
    elif _literal_gt(a, b):
        return 1
    return -1


# --- rdflib's SPARQL operators and functions, for SPARQL constraints ---------------------------

def _top_level_commas(items: Sequence[Any]) -> int:
    depth = commas = 0
    for item in items:
        if isinstance(item, _Tok) and item.kind == "punct":
            depth += {"(": 1, ")": -1}.get(item.text, 0)
            commas += item.text == "," and depth == 0
        elif isinstance(item, str):  # generated text: balanced, or an IF( opened for a fast path
            depth += item.count("(") - item.count(")")
            commas += item == "," and depth == 0
    return commas


def _sign_name(signs: str) -> str:
    return "".join("-" + {"+": "plus", "-": "minus", "*": "times", "/": "by"}[c] for c in signs)


def _numeric(term: Term) -> Any:
    """rdflib's ``numeric``: the Python value of a numeric literal (its lexical form when ill-typed)."""
    if not isinstance(term, Literal):
        raise TypeError("not a literal")
    lit = _rdflib_literal(term)
    if lit.datatype not in _NUMERIC:
        raise TypeError("not a number")
    return lit.value if lit.value is not None else lit.lexical


def _term_of(value: Any, datatype: str | None = None) -> Literal:
    """``rdflib.Literal(value[, datatype])`` for a Python number, as a pyoxigraph literal."""
    kinds = ((bool, XSD + "boolean"), (float, XSD + "double"), (int, XSD + "integer"), (Decimal, XSD + "decimal"))
    dt = datatype or next(d for t, d in kinds if isinstance(value, t))
    return Literal(_lexical_of(value, str(value)), datatype=NamedNode(dt))


def _guard(fn: Callable[..., Literal]) -> Callable[..., Literal | None]:
    """Errors become None (a SPARQL evaluation error), under rdflib's decimal context (28 digits)."""
    def call(*terms: Term) -> Literal | None:
        try:
            with localcontext(Context()):
                return fn(*terms)
        except (TypeError, ValueError, ArithmeticError, KeyError, StopIteration):
            return None
    return call


def _rdflib_arithmetic(kind: str, signs: str) -> Callable[..., Literal | None]:
    """rdflib's AdditiveExpression / MultiplicativeExpression over a chain of operands."""
    def additive(first: Term, *others: Term) -> Literal:
        if isinstance(first, Literal) and _rdflib_literal(first).datatype in _TEMPORAL:
            raise TypeError("date arithmetic is not reproduced")
        result, dt = _numeric(first), _rdflib_literal(first).datatype  # type: ignore[arg-type]
        for sign, term in zip(signs, others, strict=True):
            n = _numeric(term)
            if isinstance(n, Decimal) and isinstance(result, float):
                n = float(n)
            if isinstance(n, float) and isinstance(result, Decimal):
                result = float(result)
            dt = _promote(dt, _rdflib_literal(term).datatype)  # type: ignore[arg-type]
            result = result + n if sign == "+" else result - n
        return _term_of(result, dt)

    def multiplicative(first: Term, *others: Term) -> Literal:
        result: Any = Decimal(_numeric(first))
        for sign, term in zip(signs, others, strict=True):
            factor = _numeric(term)
            if type(factor) is float:
                result = float(result)
            result = result * factor if sign == "*" else result / factor
        return _term_of(result)

    return _guard(additive if kind == "add" else multiplicative)


def _rdflib_unary(sign: str) -> Callable[[Term], Literal | None]:
    return _guard(lambda term: _term_of(-_numeric(term) if sign == "-" else +_numeric(term)))


def _rdflib_str(term: Term) -> Literal:
    return Literal(_render(term))


def _rdflib_cast(iri: str) -> Callable[[Term], Literal | None]:
    """rdflib's ``default_cast`` for ``xsd:type(x)``."""
    def cast(term: Term) -> Literal:
        if iri == XSD_STRING:
            if isinstance(term, BlankNode):
                raise TypeError("cannot cast a blank node")
            return Literal(_render(term))
        if not isinstance(term, Literal):
            raise TypeError("can only cast literals")
        lit = _rdflib_literal(term)
        if lit.datatype and lit.datatype not in _SPARQL_XSD:
            raise TypeError("cannot cast a literal of an unknown datatype")
        if iri == XSD + "dateTime":
            if lit.datatype and lit.datatype not in (XSD + "dateTime", XSD_STRING):
                raise TypeError("cannot cast to xsd:dateTime")
            return Literal(datetime.fromisoformat(lit.lexical).isoformat(), datatype=NamedNode(iri))
        if lit.datatype == XSD + "dateTime":
            raise TypeError("cannot cast an xsd:dateTime")
        if iri in (XSD + "float", XSD + "double"):
            return _term_of(float(lit.lexical), iri)
        if iri == XSD + "decimal":
            if "e" in lit.lexical.lower():
                raise ValueError("no exponent in a decimal")
            return _term_of(Decimal(lit.lexical), iri)
        if iri == XSD + "integer":
            return _term_of(int(lit.lexical), iri)
        if iri == XSD + "boolean" and lit.lexical.lower() in ("1", "true", "0", "false"):
            return Literal(lit.lexical.lower() in ("1", "true"))
        raise TypeError(f"rdflib does not cast to {iri}")
    return _guard(cast)


_RDFLIB_FUNCTIONS: dict[str, Callable[[Term], Literal | None]] = {
    "abs": _guard(lambda term: _term_of(abs(_numeric(term)))), "str": _guard(_rdflib_str)}
_TEMPORAL = {XSD + t for t in ("date", "dateTime", "time", "duration", "dayTimeDuration", "yearMonthDuration")}


_PROMOTION = {
    (XSD + "float", XSD + "integer"): XSD + "float", (XSD + "float", XSD + "decimal"): XSD + "float",
    (XSD + "float", XSD + "double"): XSD + "double", (XSD + "double", XSD + "integer"): XSD + "double",
    (XSD + "double", XSD + "float"): XSD + "double", (XSD + "double", XSD + "decimal"): XSD + "double",
    (XSD + "decimal", XSD + "integer"): XSD + "decimal", (XSD + "decimal", XSD + "float"): XSD + "float",
    (XSD + "decimal", XSD + "double"): XSD + "double", (XSD + "integer", XSD + "decimal"): XSD + "decimal",
    (XSD + "integer", XSD + "float"): XSD + "float", (XSD + "integer", XSD + "double"): XSD + "double"}


def _promote(a: str | None, b: str | None) -> str | None:
    def top(dt: str | None) -> str | None:
        return XSD + "integer" if dt in _INTEGERS else dt

    a, b = top(a), top(b)
    if b is None or a == b:
        return a
    return _PROMOTION[(a or "", b)]
