"""HTML pages for people: a resource's linked-data page and the dumps index. Escaped, self-contained."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pyoxigraph import BlankNode, Literal, NamedNode, Triple

from kgbuild.vocab import DCT, PREFIXES, RDFS, SCHEMA, SKOS

__all__ = ["resource_page", "dumps_page", "compact", "STYLE"]

STYLE = """
body{font-family:system-ui,sans-serif;margin:0;color:#1d2733;background:#fafbfc}
header{background:#1f4e79;color:#fff;padding:.8rem 1.5rem}header a{color:#fff;margin-right:1rem}
main{padding:1rem 1.5rem;max-width:70rem}table{border-collapse:collapse;width:100%;background:#fff}
th,td{border-bottom:1px solid #dde3ea;padding:.35rem .6rem;text-align:left;vertical-align:top}
th{width:16rem;font-weight:600;color:#3b4b5c}code{font-size:.9em}.lang{color:#789;font-size:.8em}
.iri{word-break:break-all}h2{margin-top:1.6rem}
"""
_LABELS = (DCT + "title", SKOS + "prefLabel", RDFS + "label", SCHEMA + "name")
_LANGUAGES = {"en": 0, "sv": 1, "": 2}


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
            f'<a href="/.well-known/void">VoID</a></header><main>{body}</main></body></html>')


@dataclass(frozen=True)
class _Labels:
    by_iri: dict[str, str]

    @classmethod
    def of(cls, triples: Iterable[Triple]) -> _Labels:
        found: dict[str, tuple[int, int, str]] = {}
        for t in triples:
            if t.predicate.value in _LABELS and isinstance(t.object, Literal) and isinstance(t.subject, NamedNode):
                # The property's rank, then the language's: English (the page's), Swedish, any other.
                rank = (_LABELS.index(t.predicate.value), _LANGUAGES.get(t.object.language or "", len(_LANGUAGES)))
                if t.subject.value not in found or rank < found[t.subject.value][:2]:
                    found[t.subject.value] = (*rank, t.object.value)
        return cls({iri: label for iri, (_, _, label) in found.items()})


def _term(term: NamedNode | BlankNode | Literal | Triple, labels: _Labels, base: str) -> str:
    if isinstance(term, NamedNode):
        iri = term.value
        text = labels.by_iri.get(iri) or compact(iri)
        href = "/" + iri[len(base):] if iri.startswith(base) else iri
        return f'<a class="iri" href="{html.escape(href)}">{html.escape(text)}</a>'
    if isinstance(term, Literal):
        extra = f' <span class="lang">@{html.escape(term.language)}</span>' if term.language else ""
        if not term.language and not term.datatype.value.endswith("#string"):
            extra = f' <span class="lang">{html.escape(compact(term.datatype.value))}</span>'
        value = html.escape(term.value).replace("\n", "<br>")
        return f"{value}{extra}"
    return html.escape(str(term))


def resource_page(iri: str, triples: Sequence[Triple], base: str) -> str:
    """The page of one resource: what it says (outgoing), what points to it (incoming), other formats."""
    labels = _Labels.of(triples)
    title = labels.by_iri.get(iri, compact(iri))
    outgoing = [t for t in triples if isinstance(t.subject, NamedNode) and t.subject.value == iri]
    incoming = [t for t in triples if isinstance(t.object, NamedNode) and t.object.value == iri
                and not (isinstance(t.subject, NamedNode) and t.subject.value == iri)]
    nested = [t for t in triples if isinstance(t.subject, NamedNode) and t.subject.value.startswith(iri + "/")]
    path = "/" + iri[len(base):] if iri.startswith(base) else iri
    rows = "".join(f"<tr><th>{html.escape(compact(t.predicate.value))}</th>"
                   f"<td>{_term(t.object, labels, base)}</td></tr>"
                   for t in sorted(outgoing, key=lambda t: (t.predicate.value, str(t.object))))
    body = [f"<h1>{html.escape(title)}</h1><p><code class=iri>{html.escape(iri)}</code></p>",
            f"<p>Also as <a href=\"{html.escape(path)}.ttl\">Turtle</a>, <a href=\"{html.escape(path)}.jsonld\">"
            f"JSON-LD</a>, <a href=\"{html.escape(path)}.nt\">N-Triples</a>.</p>",
            f"<table>{rows}</table>"]
    by_child: dict[str, list[Triple]] = {}
    for t in nested:
        by_child.setdefault(t.subject.value, []).append(t)
    for child, child_triples in sorted(by_child.items()):
        child_rows = "".join(f"<tr><th>{html.escape(compact(t.predicate.value))}</th>"
                             f"<td>{_term(t.object, labels, base)}</td></tr>" for t in child_triples)
        body.append(f"<h2>{_term(NamedNode(child), labels, base)}</h2><table>{child_rows}</table>")
    if incoming:
        rows = "".join(f"<tr><th>{_term(t.subject, labels, base)}</th><td>{html.escape(compact(t.predicate.value))}"
                       f"</td></tr>" for t in sorted(incoming, key=lambda t: str(t.subject)))
        body.append(f"<h2>Linked from</h2><table>{rows}</table>")
    return _shell(title, "".join(body))


def dumps_page(files: Sequence[tuple[str, int, str]], generation: str) -> str:
    """The dumps index: name, size, SHA-256 of each file."""
    rows = "".join(f'<tr><td><a href="{html.escape(name)}">{html.escape(name)}</a></td><td>{size:,} bytes</td>'
                   f"<td><code>{html.escape(digest)}</code></td></tr>" for name, size, digest in files)
    return _shell("Dumps", f"<h1>Dumps</h1><p>Store generation {html.escape(generation)}. Checksums also in "
                           f'<a href="SHA256SUMS">SHA256SUMS</a>; the dataset description is '
                           f'<a href="void.ttl">void.ttl</a>.</p><table><tr><th>file</th><th>size</th>'
                           f"<th>SHA-256</th></tr>{rows}</table>")
