"""HTML pages for people: a resource's linked-data page, a graph's page, the dumps index. Escaped, self-contained.

Input: triples (pyoxigraph) and the base IRI the store minted its IRIs under. Output: one HTML
document with its style inline, no script and nothing fetched from elsewhere, so a page works
offline and without JavaScript. Every text that comes from the data (scraped titles, names) is
escaped. One renderer serves every page that shows RDF: a resource (``/id/...``), the dataset
description (VoID) and the SPARQL service description. Nested nodes (a project's amounts and
participations, a dataset's class partitions) are shown inline under the node that holds them:
an amount as its value and currency, several nodes of one kind as a table with a column per property.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal, InvalidOperation

from pyoxigraph import BlankNode, Literal, NamedNode, Triple

from kgbuild.vocab import DCT, FOAF, KG, PREFIXES, RDF, RDFS, SCHEMA, SKOS, XSD

__all__ = ["resource_page", "graph_page", "dumps_page", "compact", "STYLE", "LABEL_PROPERTIES"]

STYLE = """
body{font-family:system-ui,sans-serif;margin:0;color:#1d2733;background:#fafbfc}
header{background:#1f4e79;color:#fff;padding:.8rem 1.5rem}header a{color:#fff;margin-right:1rem}
main{padding:1rem 1.5rem;max-width:70rem}table{border-collapse:collapse;width:100%;background:#fff}
th,td{border-bottom:1px solid #dde3ea;padding:.35rem .6rem;text-align:left;vertical-align:top}
th{width:16rem;font-weight:600;color:#3b4b5c}code{font-size:.9em}.lang{color:#789;font-size:.8em}
.iri{word-break:break-all}h2{margin-top:1.6rem}section{margin-bottom:1.4rem}
table.nested{width:auto;min-width:50%;background:#f4f6f9}table.nested th{width:auto}
ul.values{list-style:none;margin:0;padding:0}ul.values li{display:inline}
ul.values li+li:before{content:" \\00b7  ";color:#789}ul.block li{display:block}ul.block li+li:before{content:none}
.amount{font-variant-numeric:tabular-nums;white-space:nowrap}
"""
# What names a node, best first: the first of these the page has, in English, else Swedish, else any language.
LABEL_PROPERTIES = (DCT + "title", SKOS + "prefLabel", RDFS + "label", FOAF + "name", SCHEMA + "name")
_LANGUAGES = {"en": 0, "sv": 1, "": 2}
_TYPE = RDF + "type"
_VALUE, _CURRENCY, _UNIT = SCHEMA + "value", SCHEMA + "currency", SCHEMA + "unitText"
_PARTICIPANT, _ROLE, _HAS_PARTICIPATION = KG + "participant", KG + "role", KG + "hasParticipation"
_ROLES = tuple(KG + name for name in ("owner", "applicant", "partner", "coFinancier"))  # participations in this order
_NUMBERS = {XSD + name for name in ("decimal", "integer", "double", "float", "long", "int", "nonNegativeInteger")}
_LONG_TEXT = 120  # a literal longer than this gets a line of its own in a list of values

Node = NamedNode | BlankNode
Term = NamedNode | BlankNode | Literal | Triple


def compact(iri: str) -> str:
    """``https://schema.org/startDate`` → ``schema:startDate`` where a known prefix fits.

    >>> compact("https://schema.org/startDate")
    'schema:startDate'
    """
    best = max((p for p in PREFIXES.items() if iri.startswith(p[1])), key=lambda p: len(p[1]), default=None)
    return f"{best[0]}:{iri[len(best[1]):]}" if best else iri


def _shell(title: str, body: str) -> str:
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}</style></head>'
            f'<body><header><a href="/">Query</a><a href="/dumps/">Dumps</a><a href="/ontology">Ontology</a>'
            f'<a href="/.well-known/void">VoID</a><a href="/sparql">Service description</a><a href="/api">API</a>'
            f"</header><main>{body}</main></body></html>")


def _labels(triples: Iterable[Triple]) -> dict[Node, str]:
    found: dict[Node, tuple[int, int, str]] = {}
    for t in triples:
        if t.predicate.value in LABEL_PROPERTIES and isinstance(t.object, Literal) \
                and isinstance(t.subject, NamedNode | BlankNode):
            # The property's rank, then the language's: English (the page's), Swedish, any other.
            rank = (LABEL_PROPERTIES.index(t.predicate.value),
                    _LANGUAGES.get(t.object.language or "", len(_LANGUAGES)))
            if t.subject not in found or rank < found[t.subject][:2]:
                found[t.subject] = (*rank, t.object.value)
    return {node: label for node, (_, _, label) in found.items()}


def _number(text: str) -> str:
    """A decimal with its thousands grouped (by no-break spaces, as in Swedish and SI style); as written if not one.

    >>> _number("286275.50")
    '286\\xa0275.50'
    """
    try:
        value = Decimal(text)
    except InvalidOperation:
        return text
    return f"{value:,}".replace(",", "\xa0") if value.is_finite() else text


class _Page:
    """The triples of one page, indexed by subject, with each node's label and where on the page it is."""

    def __init__(self, triples: Sequence[Triple], base: str) -> None:
        self.base = base
        self.labels = _labels(triples)
        self.statements: dict[Node, list[Triple]] = {}
        for t in triples:
            if isinstance(t.subject, NamedNode | BlankNode):
                self.statements.setdefault(t.subject, []).append(t)
        self.anchors: dict[Node, str] = {}  # nodes with a section on this page (a link to them stays here)

    def label(self, node: Node) -> str:
        """The node's label, else its IRI compacted (by prefix, else the path under the base's ``id/``)."""
        if node in self.labels:
            return self.labels[node]
        if isinstance(node, BlankNode):
            return "(anonymous node)"
        if node.value.startswith(self.base) and node.value != self.base:
            return node.value[len(self.base):].removeprefix("id/")
        return compact(node.value)

    def href(self, iri: str) -> str:
        """Where a link to ``iri`` goes: its section on this page; for the store's IRIs, this server (by
        path); for the ontology's terms, their entry on this server's ontology page; else the IRI itself."""
        anchor = self.anchors.get(NamedNode(iri))
        if anchor is not None:
            return "#" + anchor
        if iri.startswith(KG) and re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", iri[len(KG):]):
            return "/ontology#" + iri[len(KG):]
        return "/" + iri[len(self.base):] if iri.startswith(self.base) else iri

    def property(self, iri: str) -> str:
        """A property's compact name; the ontology's own link to their entry on the ontology page."""
        name = html.escape(compact(iri))
        href = self.href(iri)
        return f'<a href="{html.escape(href)}">{name}</a>' if href.startswith("/ontology#") else name

    def term(self, term: Term) -> str:
        """A link (labelled) for an IRI, the text (with its language or datatype) for a literal."""
        if isinstance(term, NamedNode):
            return (f'<a class="iri" href="{html.escape(self.href(term.value))}">'
                    f"{html.escape(self.label(term))}</a>")
        if isinstance(term, Literal):
            if term.language:
                return f'{_text(term.value)} <span class="lang">@{html.escape(term.language)}</span>'
            if term.datatype.value.endswith("#string"):
                return _text(term.value)
            if term.datatype.value in _NUMBERS or term.datatype.value == XSD + "boolean":  # plain to read as is
                return _text(_number(term.value))
            return f'{_text(term.value)} <span class="lang">{html.escape(compact(term.datatype.value))}</span>'
        if isinstance(term, BlankNode):
            anchor = self.anchors.get(term)
            text = html.escape(self.label(term))
            return f'<a href="#{anchor}">{text}</a>' if anchor else text
        return html.escape(str(term))

    def order(self, term: Term) -> tuple[int, str, str]:
        """Literals first, then links by their label (as a reader looks for them)."""
        if isinstance(term, Literal):
            return (0, term.value, "")
        if isinstance(term, NamedNode | BlankNode):
            return (1, self.label(term).casefold(), str(term))
        return (2, str(term), "")

    def nested_in(self, holder: Node, node: Term) -> bool:
        """Whether ``node`` is part of ``holder`` (shown inline under it): a blank node, or an IRI minted under
        the holder's (``<project>/amount/granted``), that the page says something about."""
        if not isinstance(node, NamedNode | BlankNode) or node not in self.statements or node == holder:
            return False
        return isinstance(node, BlankNode) or (isinstance(holder, NamedNode)
                                               and node.value.startswith((holder.value + "/", holder.value + "#")))

    def amount(self, node: Node) -> str | None:
        """``286 275 SEK`` for a schema:MonetaryAmount (value and currency), None for any other node."""
        found = {t.predicate.value: t.object for t in self.statements.get(node, ())}
        value, unit = found.get(_VALUE), found.get(_CURRENCY) or found.get(_UNIT)
        if not isinstance(value, Literal):
            return None
        unit_text = f"\xa0{html.escape(unit.value)}" if isinstance(unit, Literal) else ""
        return f'<span class="amount">{html.escape(_number(value.value))}{unit_text}</span>'

    def properties(self, subject: Node, nested: bool = True) -> str:
        """The subject's statements as a table: a row per property, rdf:type first; its nested nodes inline."""
        by_property: dict[str, list[Term]] = {}
        for t in self.statements.get(subject, ()):
            by_property.setdefault(t.predicate.value, []).append(t.object)
        rows = []
        for prop in sorted(by_property, key=lambda p: (p != _TYPE, compact(p))):
            values = sorted(by_property[prop], key=self.order)
            parts = [v for v in values
                     if nested and isinstance(v, NamedNode | BlankNode) and self.nested_in(subject, v)]
            plain = [v for v in values if v not in parts]
            cells = [self.values(plain)] if plain else []
            if parts:
                cells.append(self.parts(parts))
            rows.append(f'<tr><th>{self.property(prop)}</th><td>{"".join(cells)}</td></tr>')
        return f"<table>{''.join(rows)}</table>"

    def values(self, values: Sequence[Term]) -> str:
        if len(values) == 1:
            return self.term(values[0])
        block = " block" if any(isinstance(v, Literal) and len(v.value) > _LONG_TEXT for v in values) else ""
        return f'<ul class="values{block}">' + "".join(f"<li>{self.term(v)}</li>" for v in values) + "</ul>"

    def parts(self, nodes: Sequence[Node]) -> str:
        """Nested nodes: amounts as value and currency; others as one table, a column per property, a row each."""
        amounts = [self.amount(node) for node in nodes]
        if all(a is not None for a in amounts):
            return f'<ul class="values">{"".join(f"<li>{a}</li>" for a in amounts)}</ul>'
        columns = sorted({t.predicate.value for node in nodes for t in self.statements[node]
                          if t.predicate.value != _TYPE}, key=_column_order) or [_TYPE]
        rows = []
        for node in nodes:
            cells = []
            for column in columns:
                found = sorted((t.object for t in self.statements[node] if t.predicate.value == column), key=self.order)
                cells.append(f"<td>{self.values(found)}</td>")
            roles = [_ROLES.index(t.object.value) for t in self.statements[node]
                     if t.predicate.value == _ROLE and isinstance(t.object, NamedNode) and t.object.value in _ROLES]
            rows.append((min(roles, default=len(_ROLES)), re.sub(r"<[^>]+>", "", "".join(cells)).casefold(),
                         "<tr>" + "".join(cells) + "</tr>"))
        head = "".join(f"<th>{self.property(c)}</th>" for c in columns)
        return f'<table class="nested"><tr>{head}</tr>{"".join(r for *_, r in sorted(rows))}</table>'


def _text(value: str) -> str:
    return html.escape(value).replace("\n", "<br>")


def _column_order(prop: str) -> tuple[int, str]:
    # Who takes part before the role it has; names before the rest.
    return (0 if prop in (_PARTICIPANT, *LABEL_PROPERTIES) else 1, compact(prop))


def _role_order(page: _Page) -> Callable[[Term], tuple[int, tuple[int, str, str]]]:
    """Roles as _ROLES orders them (the owner first), any other after them by label."""
    return lambda role: (_ROLES.index(role.value) if isinstance(role, NamedNode) and role.value in _ROLES
                         else len(_ROLES), page.order(role))


def _alternates(links: Sequence[tuple[str, str]]) -> str:
    return "<p>Also as " + ", ".join(f'<a href="{html.escape(href)}">{html.escape(name)}</a>'
                                     for name, href in links) + ".</p>"


def _projects(page: _Page, iri: NamedNode, triples: Sequence[Triple]) -> tuple[list[tuple[Node, list[Term]]],
                                                                                  set[Node]]:
    """The projects an organisation takes part in, each with its roles, read from the participations that name it
    (``?project kg:hasParticipation ?p . ?p kg:participant <iri> ; kg:role ?role``); and those participations."""
    participations = {t.subject for t in triples if t.predicate.value == _PARTICIPANT and t.object == iri
                      and isinstance(t.subject, NamedNode | BlankNode)}
    projects: dict[Node, list[Term]] = {}
    for t in triples:
        if t.predicate.value == _HAS_PARTICIPATION and t.object in participations \
                and isinstance(t.subject, NamedNode | BlankNode) and isinstance(t.object, NamedNode | BlankNode):
            roles = [r.object for r in page.statements.get(t.object, ()) if r.predicate.value == _ROLE]
            projects.setdefault(t.subject, []).extend(roles)
    ordered = sorted(projects.items(), key=lambda item: (page.label(item[0]).casefold(), str(item[0])))
    return ordered, participations


def resource_page(iri: str, triples: Sequence[Triple], base: str) -> str:
    """The page of one resource: what it says (its nested nodes inline), its projects, what links to it, other formats.

    ``triples`` are the resource's own, the labels of what it links to, its nested nodes (IRIs minted under
    its own) and what links to it; for an organisation also the projects whose participations name it.

    >>> s = NamedNode("http://x.org/id/project/1")
    >>> page = resource_page(s.value, [Triple(s, NamedNode(DCT + "title"), Literal("<script>alert(1)</script>"))],
    ...                      "http://x.org/")
    >>> "<script>" in page, "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    (False, True)
    """
    subject = NamedNode(iri)
    page = _Page(triples, base)
    title = page.label(subject)
    path = "/" + iri[len(base):] if iri.startswith(base) else iri
    body = [f"<h1>{html.escape(title)}</h1><p><code class=iri>{html.escape(iri)}</code></p>",
            _alternates([("Turtle", path + ".ttl"), ("JSON-LD", path + ".jsonld"), ("N-Triples", path + ".nt"),
                         ("RDF/XML", path + ".rdf")]),
            page.properties(subject)]
    shown = {o for t in page.statements.get(subject, ()) if page.nested_in(subject, o := t.object)}
    # Nodes minted under this one that it does not link to itself: a section each, as before.
    for child in sorted((n for n in page.statements if isinstance(n, NamedNode) and n not in shown
                         and n.value.startswith(iri + "/")), key=lambda n: n.value):
        body.append(f"<h2>{page.term(child)}</h2>{page.properties(child, nested=False)}")
    projects, participations = _projects(page, subject, triples)
    if projects:
        rows = "".join(f"<tr><td>{page.term(project)}</td>"
                       f"<td>{page.values(sorted(set(roles), key=_role_order(page)))}</td></tr>"
                       for project, roles in projects)
        body.append(f'<h2 id="projects">Projects</h2><table class="projects"><tr><th>project</th><th>role</th></tr>'
                    f"{rows}</table>")
    # What links here, a row per property (a source document is the target of dozens of evidence annotations).
    incoming: dict[str, set[Term]] = {}
    for t in triples:
        if t.object == subject and t.subject != subject and t.subject not in participations:
            incoming.setdefault(t.predicate.value, set()).add(t.subject)
    if incoming:
        rows = "".join(f"<tr><th>{page.property(prop)}</th>"
                       f"<td>{page.values(sorted(incoming[prop], key=page.order))}</td></tr>"
                       for prop in sorted(incoming, key=compact))
        body.append(f"<h2>Linked from</h2><table>{rows}</table>")
    return _shell(title, "".join(body))


def graph_page(title: str, triples: Sequence[Triple], base: str, first: Sequence[str] = (),
               intro: str = "", alternates: Sequence[tuple[str, str]] = ()) -> str:
    """A whole (small) graph as a page: a section for each node that is not shown inside another one.

    The nodes named in ``first`` come first, the rest by label; a link to a node described on the page
    leads to its section. ``intro`` is a sentence of plain text under the heading; ``alternates`` are
    (format name, URL) pairs of the same graph in RDF.

    >>> d = NamedNode("http://x.org/dataset")
    >>> print(graph_page("About", [Triple(d, NamedNode(DCT + "title"), Literal("A & B"))], "http://x.org/")
    ...       .count('<section id="dataset">'))
    1
    """
    page = _Page(triples, base)
    inside = {o for s, statements in page.statements.items() for t in statements if page.nested_in(s, o := t.object)}
    order = {iri: position for position, iri in enumerate(first)}
    tops = sorted((n for n in page.statements if n not in inside),
                  key=lambda n: (order.get(n.value, len(order)), page.label(n).casefold(), str(n)))
    for node in tops:
        page.anchors[node] = _anchor(node, base, set(page.anchors.values()))
    body = [f"<h1>{html.escape(title)}</h1>"]
    if intro:
        body.append(f"<p>{html.escape(intro)}</p>")
    if alternates:
        body.append(_alternates(alternates))
    for node in tops:
        iri = f"<p><code class=iri>{html.escape(node.value)}</code></p>" if isinstance(node, NamedNode) else ""
        body.append(f'<section id="{page.anchors[node]}"><h2>{html.escape(page.label(node))}</h2>{iri}'
                    f"{page.properties(node)}</section>")
    return _shell(title, "".join(body))


def _anchor(node: Node, base: str, taken: set[str]) -> str:
    """An id for a node's section: its IRI past the base (or its fragment), in letters, digits and dashes."""
    text = node.value if isinstance(node, NamedNode) else "node-" + node.value
    text = text[len(base):] if text.startswith(base) else text.rsplit("#", 1)[-1] if "#" in text else text
    anchor = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-") or "top"
    candidate, n = anchor, 1
    while candidate in taken:
        n += 1
        candidate = f"{anchor}-{n}"
    return candidate


def dumps_page(files: Sequence[tuple[str, int, str]], generation: str) -> str:
    """The dumps index: name, size, SHA-256 of each file."""
    rows = "".join(f'<tr><td><a href="{html.escape(name)}">{html.escape(name)}</a></td><td>{size:,} bytes</td>'
                   f"<td><code>{html.escape(digest)}</code></td></tr>" for name, size, digest in files)
    return _shell("Dumps", f"<h1>Dumps</h1><p>Store generation {html.escape(generation)}. Checksums also in "
                           f'<a href="SHA256SUMS">SHA256SUMS</a>; the dataset description is '
                           f'<a href="void.ttl">void.ttl</a>.</p><table><tr><th>file</th><th>size</th>'
                           f"<th>SHA-256</th></tr>{rows}</table>")
