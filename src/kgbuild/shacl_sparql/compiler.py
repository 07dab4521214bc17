"""The shape compiler: SHACL shapes (``shapes/*.ttl``) → one SPARQL SELECT per constraint (a :class:`.runner.Check`).

Why it exists: pyshacl validates one graph at a time in Python; compiled to SPARQL, the shapes run
in Oxigraph over every source of a build at once (:mod:`.runner`). This module reads the shapes graph
with pyoxigraph only, and writes each constraint as a query whose solutions are its validation
results, with the literal semantics pyshacl has where SPARQL's differ (:mod:`.pyshacl_compat`).
SPARQL-based constraints are rewritten by :mod:`.sparql_constraints`.

**Supported SHACL** (everything ``shapes/kgbuild.ttl`` uses; anything else is a :class:`ShapesError`
listing every unsupported use at compile time, never a skipped constraint): targets ``sh:targetClass``;
``sh:property`` with IRI ``sh:path``; ``sh:minCount``, ``sh:maxCount``, ``sh:datatype``, ``sh:class``,
``sh:nodeKind``, ``sh:pattern`` (+ ``sh:flags``), ``sh:in``, ``sh:hasValue``, ``sh:minInclusive``,
``sh:maxInclusive``, ``sh:minExclusive``, ``sh:maxExclusive``, ``sh:node``, ``sh:or``, ``sh:and``,
``sh:not``; ``sh:sparql`` SELECT constraints on node shapes (``$this``, ``sh:prefixes``/``sh:declare``,
``{?var}``/``{$var}`` in ``sh:message``); ``sh:severity``, ``sh:message``, ``sh:deactivated``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyoxigraph import BlankNode, Literal, NamedNode, RdfFormat, parse

from kgbuild.errors import ShapesError
from kgbuild.report import Severity
from kgbuild.resources import shapes_path
from kgbuild.shacl_sparql.patterns import ANY, FOCUS, access, own_subject, select
from kgbuild.shacl_sparql.pyshacl_compat import (
    LANG_STRING,
    PARSED,
    STRINGLIKE,
    UNMODELLED,
    XSD_STRING,
    Term,
    datatype_ok,
    pattern_input,
    range_ok,
    rdflib_literal,
    same_in_rdflib,
)
from kgbuild.shacl_sparql.runner import Check, CompiledShapes
from kgbuild.shacl_sparql.sparql_constraints import SparqlConstraint
from kgbuild.store import open_in_memory
from kgbuild.vocab import OWL, RDF, RDFS, SH, XSD

__all__ = ["ShapesError", "compile_shapes"]

RDF_TYPE = RDF + "type"
_FN = "urn:x-kgbuild:fn:"


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


def _name(node: Term) -> str:
    return node.value if isinstance(node, NamedNode) else str(node)


@dataclass(frozen=True)
class _Ctx:
    prefix: str  # the patterns that bind ?kg_g and the focus variable
    focus: str
    scope: str
    targets: tuple[str, ...]
    via: tuple[str, ...]
    chain: tuple[Term, ...]  # sh:node shapes entered, against recursion


class _Compiler:
    """Shapes → checks; the custom functions they call are collected on the way (see :func:`compile_shapes`)."""

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
            self.shape_checks(shape, _Ctx(focus, "?this", FOCUS, shape.targets, (), (shape.node,)))
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
        prefix = f"{ctx.prefix} {access(ctx.focus, f'<{shape.path}>', value, ctx.scope)} {own_subject(value)}"
        self.shape_checks(inner, _Ctx(prefix, value, ANY, ctx.targets, ctx.via + (shape.path,),
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
            return f"FILTER NOT EXISTS {{ {access(focus, path, term, scope)} }}", None
        value, values = focus, ""
        if path is not None:
            value = self.var()
            values = access(focus, path, value, scope)
        if component == "class" and isinstance(parameter, NamedNode):
            return f"{values} {self.not_instance(value, parameter.value)}", value
        inner_scope = ANY if path is not None else scope
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
        patterns = " ".join(access(focus, path, name, scope) for name in names)
        same = self.function("same", same_in_rdflib, shared=True)
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

    def not_instance(self, v: str, cls: str) -> str:
        """A pattern that keeps only the ``v`` that are not SHACL instances of ``cls`` (nor literals).

        :meth:`instance` as two MINUS: Oxigraph evaluates each once per query and hashes it, where an
        EXISTS is evaluated once per value (half the time of a whole check at 256 sources per store).
        A literal is never removed, as a literal is never the subject of a triple.
        """
        t, u = self.var(), self.var()
        return (f"MINUS {{ VALUES {t} {{ %%CLASSES <{cls}>%% }} GRAPH ?kg_g {{ {v} <{RDF_TYPE}> {t} }} }} "
                f"MINUS {{ VALUES {u} {{ %%CLASSES <{cls}>%% }} GRAPH %%REF%% {{ {v} <{RDF_TYPE}> {u} }} "
                f"FILTER(!isBlank({v})) }}")

    def has_results(self, shape: _Shape, v: str, scope: str) -> str:
        """True when the shape has any result on ``v`` (what sh:node fails on, whatever the severity)."""
        return self._any_result(shape, v, scope, warnings_conform=False)

    def fails(self, shape: _Shape, v: str, scope: str) -> str:
        """True when ``v`` does not conform, as pyshacl decides it for sh:or / sh:and / sh:not members.

        pyshacl runs with allow_warnings: a shape of severity Warning or Info always conforms.
        """
        return self._any_result(shape, v, scope, warnings_conform=True)

    def _any_result(self, shape: _Shape, v: str, scope: str, warnings_conform: bool) -> str:
        """True when ``shape`` or one of its property shapes has a result on ``v``."""
        conforms_anyway = warnings_conform and shape.severity in (Severity.WARNING, Severity.INFO)
        if shape.deactivated or conforms_anyway or not self.enter(shape):
            return "false"
        parts = []
        for component, parameter in shape.constraints:
            result = self.result(shape, component, parameter, v, scope)
            if result is not None:
                parts.append(f"EXISTS {{ {result[0]} }}")
        parts += [self._any_result(self.shapes.shape(p, shape.name), v, scope, warnings_conform)
                  for p in shape.properties]
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
        if dt in UNMODELLED:
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
        if dt not in PARSED or dt in STRINGLIKE:
            return f"{literal} || DATATYPE({v}) != <{dt}>"  # rdflib accepts any lexical form of these
        if dt == XSD + "boolean":
            return f'{literal} || DATATYPE({v}) != <{dt}> || !(STR({v}) IN ("true", "false", "1", "0"))'
        fast = {XSD + "integer": f'REGEX(STR({v}), "^-?[0-9]{{1,18}}$")',
                XSD + "decimal": f'REGEX(STR({v}), "^-?[0-9]{{1,18}}(\\\\.[0-9]{{1,18}})?$")',
                XSD + "date": f'REGEX(STR({v}), "^[1-9][0-9]{{3}}-[0-9]{{2}}-[0-9]{{2}}$") '
                              f"&& COALESCE(DAY({v}) > 0, false)"}.get(dt, "false")
        ok = self.function("datatype", lambda term: isinstance(term, Literal) and datatype_ok(term, dt))
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
        ok = self.function("pattern", lambda term: bool(regex.search(pattern_input(term))))
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
        bound = rdflib_literal(parameter)
        accept = {"minInclusive": lambda c: c >= 0, "minExclusive": lambda c: c > 0,
                  "maxInclusive": lambda c: c <= 0, "maxExclusive": lambda c: c < 0}[component]
        ok = self.function("range", lambda term: isinstance(term, Literal) and range_ok(term, bound, accept))
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
            parsed = SparqlConstraint(selects[0].value, self.shapes.prefixes(node), self)
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
    rows = list(select(store, f'SELECT (REGEX("", {_sparql_string(pattern)}, "{flags}") AS ?ok) {{}}'))
    return rows[0]["ok"] is not None


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
