"""pyshacl compatibility: how rdflib reads, compares and writes a literal, and how rdflib's SPARQL engine
evaluates comparisons, arithmetic and casts, done in Python for the values SPARQL alone cannot decide.

Why it exists: the compiled checks must give the findings pyshacl gives (``tests/test_shacl_sparql.py``
compares them), and pyshacl sees literals through rdflib, which parses lexical forms, orders literals
of different datatypes by datatype IRI and evaluates SPARQL operators its own way. The compiler
(:mod:`.compiler`) and the SPARQL-constraint rewriter (:mod:`.sparql_constraints`) register these
functions as Oxigraph custom functions; the runner (:mod:`.runner`) writes values and messages with them.
It imports nothing else of this package. The package docstring lists where the result still differs from pyshacl.

Imports no rdflib: the behaviour is reproduced, not borrowed (only pyshacl, the test oracle in
``kgbuild.validation``, imports rdflib). It mirrors pyshacl 0.40 on rdflib 7 (``pyproject.toml`` pins them).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Context, Decimal, localcontext
from typing import Any

from pyoxigraph import BlankNode, Literal, NamedNode

from kgbuild.vocab import RDF, RDFS, XSD

__all__ = ["Term", "XSD_STRING", "LANG_STRING", "STRINGLIKE", "PARSED", "UNMODELLED", "RELATIONS", "RDFLIB_FUNCTIONS",
           "RLit", "rdflib_literal", "render", "same_in_rdflib", "datatype_ok", "pattern_input", "range_ok",
           "rdflib_relation", "rdflib_arithmetic", "rdflib_unary", "rdflib_cast"]

Term = NamedNode | BlankNode | Literal

XSD_STRING = XSD + "string"
LANG_STRING = RDF + "langString"


STRINGLIKE = {XSD + t for t in ("string", "normalizedString", "token", "language", "anyURI")}
_INT_RANGES: dict[str, tuple[int | None, int | None]] = {
    XSD + "int": (-2 ** 31, 2 ** 31 - 1), XSD + "short": (-32768, 32767), XSD + "byte": (-128, 127),
    XSD + "unsignedInt": (0, 2 ** 32 - 1), XSD + "unsignedShort": (0, 65535), XSD + "unsignedByte": (0, 255),
    XSD + "unsignedLong": (0, None), XSD + "nonNegativeInteger": (0, None), XSD + "positiveInteger": (1, None),
    XSD + "nonPositiveInteger": (None, 0), XSD + "negativeInteger": (None, -1)}
_INTEGERS = {XSD + "integer", XSD + "long", *_INT_RANGES}
_NUMERIC = _INTEGERS | {XSD + "decimal", XSD + "double", XSD + "float"}
UNMODELLED = {XSD + t for t in ("duration", "dayTimeDuration", "yearMonthDuration", "hexBinary", "base64Binary")} \
    | {RDF + "XMLLiteral", RDF + "HTML"}
PARSED = STRINGLIKE | _NUMERIC | {XSD + t for t in ("boolean", "date", "dateTime", "time")} | UNMODELLED


@dataclass(frozen=True, slots=True)
class RLit:
    """A literal as rdflib holds it: plain/xsd:string/language-tagged ones have no datatype."""

    lexical: str
    datatype: str | None
    language: str | None
    value: Any
    ill_typed: bool | None


def _parse_lexical(lexical: str, datatype: str) -> Any:
    """rdflib's lexical-to-value mapping (Python 3.11 parsers); raises ValueError & co. when it fails."""
    if datatype in STRINGLIKE:
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
def _rdflib_view(lexical: str, datatype: str, language: str | None) -> RLit:
    if language:
        return RLit(lexical, None, language, lexical, None)
    dt = None if datatype == XSD_STRING else datatype  # pyoxigraph writes xsd:string literals plainly
    if dt is None:
        return RLit(lexical, None, None, lexical, None)
    if dt not in PARSED or dt in UNMODELLED:
        return RLit(lexical, dt, None, None, None)
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
    return RLit(text, dt, None, value, ill_typed)


def rdflib_literal(term: Literal) -> RLit:
    return _rdflib_view(term.value, term.datatype.value, term.language)


def render(term: Term) -> str:
    """A term as pyshacl's report writes it (``str()`` of the rdflib term)."""
    return rdflib_literal(term).lexical if isinstance(term, Literal) else term.value


def same_in_rdflib(a: Term, b: Term) -> bool:
    """Whether rdflib holds two literals as one term (so one value node)."""
    if not (isinstance(a, Literal) and isinstance(b, Literal)):
        return False
    x, y = rdflib_literal(a), rdflib_literal(b)
    return (x.lexical, x.datatype, (x.language or "").lower()) == (y.lexical, y.datatype, (y.language or "").lower())


def datatype_ok(term: Literal, rule: str) -> bool:
    """pyshacl's DatatypeConstraintComponent on an rdflib literal."""
    lit = rdflib_literal(term)
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


def pattern_input(term: Term) -> str:
    """What pyshacl matches sh:pattern against."""
    if isinstance(term, Literal):
        lit = rdflib_literal(term)
        return str(lit.value) if lit.value is not None and lit.datatype is None else lit.lexical
    return term.value


def range_ok(term: Literal, bound: RLit, accept: Callable[[int], bool]) -> bool:
    """pyshacl's sh:minInclusive & co. on a literal value node."""
    lit = rdflib_literal(term)
    if isinstance(lit.value, str) != isinstance(bound.value, str):
        return False
    try:
        return accept(_compare_literal(lit, bound))
    except (TypeError, NotImplementedError):
        return False


def _numeric_pair(a: RLit, b: RLit) -> bool:
    return (a.datatype in _NUMERIC and b.datatype in _NUMERIC and not a.ill_typed and not b.ill_typed
            and a.value is not None and b.value is not None)


def _literal_eq(a: RLit, b: RLit) -> bool:
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


def _literal_gt(a: RLit, b: RLit) -> bool:
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


RELATIONS = {"=": "eq", "!=": "ne", "<": "lt", ">": "gt", "<=": "le", ">=": "ge"}
# The datatypes rdflib's SPARQL engine orders (anything else only compares with = and !=).
_SPARQL_XSD = _INTEGERS | {XSD + t for t in ("decimal", "float", "double", "string", "boolean", "dateTime", "date")}


def _literal_lt(a: RLit, b: RLit) -> Any:
    try:
        return not _literal_gt(a, b) and not _literal_eq(a, b)
    except TypeError:
        return NotImplemented


def _literal_le(a: RLit, b: RLit) -> Any:
    lower = _literal_lt(a, b)
    if lower is NotImplemented or lower:  # rdflib tests NotImplemented for truth: it is true
        return True
    try:
        return _literal_eq(a, b)
    except TypeError:
        return NotImplemented


def _literal_ge(a: RLit, b: RLit) -> Any:
    if _literal_gt(a, b):
        return True
    try:
        return _literal_eq(a, b)
    except TypeError:
        return NotImplemented


_LITERAL_RELATIONS: dict[str, Callable[[RLit, RLit], Any]] = {
    "=": _literal_eq, "!=": lambda a, b: not _literal_eq(a, b), "<": _literal_lt, ">": _literal_gt,
    "<=": _literal_le, ">=": _literal_ge}


def rdflib_relation(op: str) -> Callable[[Term, Term], Literal | None]:
    """rdflib's RelationalExpression: a comparison as pyshacl's SPARQL engine makes it (None: an error)."""
    def compare(a: Term, b: Term) -> Literal | None:
        if isinstance(a, Literal) and isinstance(b, Literal):
            x, y = rdflib_literal(a), rdflib_literal(b)
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


def _compare_literal(a: RLit, b: RLit) -> int:
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


def _numeric(term: Term) -> Any:
    """rdflib's ``numeric``: the Python value of a numeric literal (its lexical form when ill-typed)."""
    if not isinstance(term, Literal):
        raise TypeError("not a literal")
    lit = rdflib_literal(term)
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


def rdflib_arithmetic(kind: str, signs: str) -> Callable[..., Literal | None]:
    """rdflib's AdditiveExpression / MultiplicativeExpression over a chain of operands."""
    def additive(first: Term, *others: Term) -> Literal:
        if isinstance(first, Literal) and rdflib_literal(first).datatype in _TEMPORAL:
            raise TypeError("date arithmetic is not reproduced")
        result, dt = _numeric(first), rdflib_literal(first).datatype  # type: ignore[arg-type]
        for sign, term in zip(signs, others, strict=True):
            n = _numeric(term)
            if isinstance(n, Decimal) and isinstance(result, float):
                n = float(n)
            if isinstance(n, float) and isinstance(result, Decimal):
                result = float(result)
            dt = _promote(dt, rdflib_literal(term).datatype)  # type: ignore[arg-type]
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


def rdflib_unary(sign: str) -> Callable[[Term], Literal | None]:
    return _guard(lambda term: _term_of(-_numeric(term) if sign == "-" else +_numeric(term)))


def _rdflib_str(term: Term) -> Literal:
    return Literal(render(term))


def rdflib_cast(iri: str) -> Callable[[Term], Literal | None]:
    """rdflib's ``default_cast`` for ``xsd:type(x)``."""
    def cast(term: Term) -> Literal:
        if iri == XSD_STRING:
            if isinstance(term, BlankNode):
                raise TypeError("cannot cast a blank node")
            return Literal(render(term))
        if not isinstance(term, Literal):
            raise TypeError("can only cast literals")
        lit = rdflib_literal(term)
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


RDFLIB_FUNCTIONS: dict[str, Callable[[Term], Literal | None]] = {
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
