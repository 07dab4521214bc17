"""SHACL-SPARQL constraints (``sh:sparql``): the SELECT rewritten to read a source graph plus the reference data.

Why it exists: a SPARQL constraint is written against one data graph, and pyshacl evaluates it with
rdflib's SPARQL engine. To run it over every source at once in Oxigraph, its triple patterns are
rewritten to read ``GRAPH ?kg_g`` (the source) or the reference graph as ``validate_quads`` would see
them, ``$this`` is bound per source, and the comparisons, arithmetic and casts that rdflib evaluates
differently are replaced by calls to :mod:`.pyshacl_compat`. Input: the constraint's query text and
prefixes. Output: a query template for :class:`~kgbuild.shacl_sparql.runner.Check` and the projected
variables (:class:`SparqlRows`). Anything it cannot rewrite faithfully is a :class:`ShapesError`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from kgbuild.errors import ShapesError
from kgbuild.shacl_sparql.patterns import ANY, FOCUS, access
from kgbuild.shacl_sparql.pyshacl_compat import (
    LANG_STRING,
    RDFLIB_FUNCTIONS,
    RELATIONS,
    XSD_STRING,
    Term,
    rdflib_arithmetic,
    rdflib_cast,
    rdflib_relation,
    rdflib_unary,
)
from kgbuild.vocab import RDF, XSD

__all__ = ["Functions", "SparqlConstraint", "SparqlRows"]


RDF_TYPE = RDF + "type"


class Functions(Protocol):
    """What the rewriter needs from the shape compiler (:mod:`.compiler`): fresh variables, and
    Python functions registered as Oxigraph custom functions."""

    def var(self) -> str:
        """A variable name no other pattern of the check uses."""

    def function(self, kind: str, fn: Callable[..., Any], shared: bool = False, boolean: bool = True) -> str:
        """The IRI (``<...>``) of a custom SPARQL function calling ``fn``."""


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
class SparqlRows:
    """How a SPARQL constraint's solutions become results, the way pyshacl does it."""

    projected: tuple[str, ...]  # the SELECT's variables, in order


class SparqlConstraint:
    """Parse a SHACL-SPARQL SELECT; rewrite its triple patterns to read ``GRAPH ?kg_g`` + the reference."""

    def __init__(self, text: str, prefixes: Mapping[str, str], compiler: Functions) -> None:
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
        self.rows = SparqlRows(tuple(projected))

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
            return call(f"{kind}{_sign_name(signs)}", rdflib_arithmetic(kind, signs), operands)

        def disjunction() -> list[Any]:
            return chain(("||",), conjunction, "")

        def conjunction() -> list[Any]:
            return chain(("&&",), relation, "")

        def relation() -> list[Any]:
            left = additive()
            if peek() in RELATIONS:
                op = take().text
                return call(f"compare-{RELATIONS[op]}", rdflib_relation(op), [left, additive()])
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
                return call("negate" if sign == "-" else "plus", rdflib_unary(sign), [unary()])
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
                    result = call(kind, RDFLIB_FUNCTIONS.get(kind) or rdflib_cast(name), [inner])
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
                out.append(access(item.s, item.p, item.o, FOCUS if item.s == "?this" else ANY))
            elif isinstance(item, _Group):
                out.append("{ " + self.emit(item.items) + " }")
            elif isinstance(item, _Tok):
                out.append(item.text)
            else:
                out.append(item)
        return " ".join(out)


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
