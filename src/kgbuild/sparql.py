"""Inspecting a SPARQL request before it runs: its form, its dataset, and every SERVICE it would call.

pyoxigraph executes ``SERVICE`` clauses itself, against any IRI, and cannot be told not to; it
also executes updates given to ``Store.update``. So every request is read here first, the way a
SPARQL parser reads it: ``\\u``/``\\U`` escapes are decoded before anything else (the spec does that
before parsing), comments, strings and IRIs are skipped as whole tokens, and ``PREFIX`` and ``BASE``
are applied to the ``SERVICE`` target. Anything not on the allow-list is refused; ``SERVICE ?var``
always is; and because the escapes could hide a token, the text is read both before and after
decoding and both readings must pass.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple
from urllib.parse import urljoin

from kgbuild.errors import KgbuildError

__all__ = ["QueryRefused", "QueryInfo", "inspect_query", "check_query", "UPDATE_KEYWORDS", "MAX_NESTING",
           "MAX_OPERATORS"]

# Brackets nested deeper than this are refused: pyoxigraph's recursive parser would overflow its stack
# (a 20 kB query of nested braces crashes the process); real queries nest a few levels.
MAX_NESTING = 256
# Operators (and UNIONs) past this many are refused too: a long chain of them (!!!…, 1+1+…, p/p/…,
# A UNION B UNION …) is parsed and evaluated recursively, one stack frame or more per operator. On the
# query workers' 256 MB stacks a chain of 200,000 ran and one of 300,000 crashed the worker (SIGSEGV),
# taking the queries it was running with it; a 1 MB request holds a chain of a million.
MAX_OPERATORS = 50_000
_OPERATOR_CHARACTERS = frozenset("!|&+-*/=<>")
UPDATE_KEYWORDS = frozenset({"INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD", "WITH"})
QUERY_FORMS = frozenset({"SELECT", "ASK", "CONSTRUCT", "DESCRIBE"})


class QueryRefused(KgbuildError):
    """A request the endpoint will not run, with the HTTP status that says why (400, 403)."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(message)


@dataclass(frozen=True)
class QueryInfo:
    form: str  # SELECT, ASK, CONSTRUCT, DESCRIBE, or UPDATE
    services: tuple[str, ...] = ()  # resolved SERVICE IRIs
    service_variables: tuple[str, ...] = ()
    from_graphs: tuple[str, ...] = ()
    from_named_graphs: tuple[str, ...] = ()
    update_keywords: tuple[str, ...] = field(default=())


_ESCAPE_RE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<comment>\#[^\n\r]*)
  | (?P<iri><(?:[^<>"{}|^`\\\x00-\x20]|\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8})*>)
  | (?P<string>'''(?:[^'\\]|\\.|'(?!''))*'''|\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"
              |'(?:[^'\\\n\r]|\\.)*'|"(?:[^"\\\n\r]|\\.)*")
  | (?P<var>[?$][A-Za-z0-9_\u00B7-\uFFFF]+)
  | (?P<pname>(?:[A-Za-z\u00C0-\uFFFF][A-Za-z0-9_\-.\u00B7-\uFFFF]*)?:
              (?:[A-Za-z0-9_\-.:%\u00B7-\uFFFF]|\\[_~.\-!$&'()*+,;=/?\#@%])*)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)


class _Token(NamedTuple):  # a tuple: made once per token of every query, 5x cheaper than a frozen dataclass
    kind: str
    text: str


def decode_escapes(text: str) -> str:
    r"""Apply SPARQL's codepoint escapes, as a parser does before it reads the query.

    >>> decode_escapes(r"SERVIC\u0045 <x>")
    'SERVICE <x>'
    """
    def replace(match: re.Match[str]) -> str:
        code = int(match.group(1) or match.group(2), 16)
        if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            raise QueryRefused(400, f"invalid codepoint escape {match.group(0)!r}")
        return chr(code)

    return _ESCAPE_RE.sub(replace, text)


def _tokens(text: str) -> list[_Token]:
    # The "other" branch matches any character, so the matches cover the text end to end.
    return [_Token(kind, match.group()) for match in _TOKEN_RE.finditer(text)
            if (kind := match.lastgroup or "other") not in _SKIPPED]


_SKIPPED = frozenset({"ws", "comment"})


def _unterminated(tokens: list[_Token]) -> bool:
    """A quote or IRI opening that no token closed: the parser will reject it; so do we, early."""
    return any(t.kind == "other" and t.text in "\"'" for t in tokens)


def _read(tokens: list[_Token]) -> QueryInfo:
    prefixes: dict[str, str] = {}
    base = ""
    form = ""
    services: list[str] = []
    service_vars: list[str] = []
    from_graphs: list[str] = []
    from_named: list[str] = []
    updates: list[str] = []

    def resolve(token: _Token) -> str | None:
        if token.kind == "iri":
            iri = decode_escapes(token.text[1:-1])
            return urljoin(base, iri) if base else iri
        if token.kind == "pname":
            prefix, _, local = token.text.partition(":")
            if prefix not in prefixes:
                raise QueryRefused(400, f"undefined prefix {prefix!r}")
            return prefixes[prefix] + re.sub(r"\\(.)", r"\1", local)
        return None

    depth = operators = 0
    for token in tokens:
        if token.kind == "other" and token.text in "{([":
            depth += 1
            if depth > MAX_NESTING:
                raise QueryRefused(400, f"the query nests brackets more than {MAX_NESTING} levels deep")
        elif token.kind == "other" and token.text in "})]":
            depth -= 1
        elif token.kind == "other" and token.text in _OPERATOR_CHARACTERS \
                or token.kind == "name" and token.text.upper() == "UNION":
            operators += 1
    if operators > MAX_OPERATORS:
        raise QueryRefused(400, f"the query has {operators:,} operators and UNIONs, more than the "
                                f"{MAX_OPERATORS:,} accepted: a chain that long could "
                                "exhaust the engine's stack; split the query")

    index = 0
    while index < len(tokens):
        token = tokens[index]
        word = token.text.upper() if token.kind == "name" else ""
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        if word == "PREFIX" and following is not None and index + 2 < len(tokens):
            declared, iri = following.text, tokens[index + 2]
            if iri.kind == "iri" and declared.endswith(":"):
                prefixes[declared[:-1]] = resolve(iri) or ""
                index += 3
                continue
        elif word == "BASE" and following is not None and following.kind == "iri":
            base = resolve(following) or ""
            index += 2
            continue
        elif word in QUERY_FORMS and not form:
            form = word
        elif word in UPDATE_KEYWORDS:
            updates.append(word)
            if not form:
                form = "UPDATE"
        elif word == "SERVICE":
            target = following
            if target is not None and target.kind == "name" and target.text.upper() == "SILENT":
                target = tokens[index + 2] if index + 2 < len(tokens) else None
            if target is None:
                raise QueryRefused(400, "SERVICE without an endpoint")
            if target.kind == "var":
                service_vars.append(target.text)
            else:
                resolved = resolve(target)
                if resolved is None:
                    raise QueryRefused(400, f"SERVICE needs an IRI, not {target.text!r}")
                services.append(resolved)
        elif word == "FROM" and following is not None:
            named = following.kind == "name" and following.text.upper() == "NAMED"
            target = tokens[index + 2] if named and index + 2 < len(tokens) else following
            resolved = resolve(target)
            if resolved is not None:
                (from_named if named else from_graphs).append(resolved)
        index += 1
    return QueryInfo(form or "UNKNOWN", tuple(services), tuple(service_vars), tuple(from_graphs),
                     tuple(from_named), tuple(updates))


def inspect_query(text: str) -> QueryInfo:
    """Read a query's form, SERVICE endpoints and FROM graphs, both before and after escape decoding.

    :raises QueryRefused: (400) for a query that cannot be read this far.

    >>> info = inspect_query('PREFIX e: <http://example.org/> SELECT * { SERVICE e:sparql { ?s ?p ?o } }')
    >>> info.form, info.services
    ('SELECT', ('http://example.org/sparql',))
    """
    return _inspect(text) if len(text) <= _REMEMBERED_LENGTH else _inspect.__wrapped__(text)


# A public endpoint sees the same few queries again and again (a page's, a dashboard's): their reading
# is remembered. Only short texts, so the memory it takes stays small (1,024 × 4 kB at most).
_REMEMBERED_LENGTH = 4096


@functools.lru_cache(maxsize=1024)
def _inspect(text: str) -> QueryInfo:
    if "\x00" in text:
        raise QueryRefused(400, "the query contains a NUL character")
    readings = [text]
    decoded = decode_escapes(text)
    if decoded != text:
        readings.append(decoded)
    tokenized = [_tokens(reading) for reading in readings]  # each reading tokenized once
    infos = [_read(tokens) for tokens in tokenized]
    if any(_unterminated(tokens) for tokens in tokenized):
        raise QueryRefused(400, "malformed query: an unterminated string")
    first = infos[-1]
    return QueryInfo(
        form=first.form,
        services=tuple(dict.fromkeys(s for info in infos for s in info.services)),
        service_variables=tuple(dict.fromkeys(v for info in infos for v in info.service_variables)),
        from_graphs=first.from_graphs,
        from_named_graphs=first.from_named_graphs,
        update_keywords=tuple(dict.fromkeys(k for info in infos for k in info.update_keywords)),
    )


def check_query(text: str, allowlist: Iterable[str]) -> QueryInfo:
    """Refuse updates and SERVICE calls to endpoints not on ``allowlist``; return what was read.

    :raises QueryRefused: 403 for an update, a disallowed SERVICE (``SILENT`` or not) and
        ``SERVICE ?variable``; 400 for text that is not a query.

    >>> check_query("SELECT * { SERVICE <http://169.254.169.254/> { ?s ?p ?o } }", [])
    Traceback (most recent call last):
    ...
    kgbuild.sparql.QueryRefused: SERVICE <http://169.254.169.254/> is not on this endpoint's allow-list
    """
    info = inspect_query(text)
    if info.form == "UPDATE" or info.update_keywords and info.form not in QUERY_FORMS:
        raise QueryRefused(403, "this endpoint is read-only: SPARQL updates are refused")
    if info.service_variables:
        raise QueryRefused(403, f"SERVICE {info.service_variables[0]}: a variable endpoint is never allowed")
    allowed = set(allowlist)
    for endpoint in info.services:
        if endpoint not in allowed:
            raise QueryRefused(403, f"SERVICE <{endpoint}> is not on this endpoint's allow-list")
    if info.form not in QUERY_FORMS:
        raise QueryRefused(400, "not a SPARQL query: expected SELECT, ASK, CONSTRUCT or DESCRIBE")
    return info
