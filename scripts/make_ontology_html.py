"""Write ontology/kgbuild.html, the human-readable documentation of the kgbuild ontology.

Input: ``ontology/kgbuild.ttl``. Output: one self-contained HTML page (inline CSS, no scripts, nothing
fetched from elsewhere) that lists the classes, properties and named individuals with their IRIs (an
anchor per term), English and Swedish labels and comments, super-classes and super-properties (linked
to the external IRIs), domains and ranges. The page is a pure function of the Turtle file: terms and
values are sorted and nothing depends on time or blank-node ids, so regenerating it gives the same
bytes (tests/test_ontology.py checks that the committed page is current).

Usage::

    python scripts/make_ontology_html.py            # rewrite ontology/kgbuild.html
    python scripts/make_ontology_html.py --check    # exit 1 if the committed page is stale
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from html import escape
from pathlib import Path

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS

__all__ = ["ONTOLOGY", "OUTPUT", "load", "main", "render"]

ROOT = Path(__file__).resolve().parents[1]
ONTOLOGY = ROOT / "ontology" / "kgbuild.ttl"
OUTPUT = ROOT / "ontology" / "kgbuild.html"

KG = "https://w3id.org/kgbuild/ontology#"
ONTOLOGY_IRI = URIRef("https://w3id.org/kgbuild/ontology")
VANN_PREFIX = URIRef("http://purl.org/vocab/vann/preferredNamespacePrefix")

STYLE = """
body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1b1b;
       max-width: 62rem; margin: 0 auto; padding: 1rem 1.5rem 4rem; }
h1 { margin-bottom: 0; }
h1 + p { margin-top: 0; color: #555; }
h2 { border-bottom: 2px solid #0b4f8a; padding-bottom: .2rem; margin-top: 2.5rem; }
h3 { margin: 0 0 .4rem; font-size: 1.15rem; }
a { color: #0b4f8a; }
code { font: .92em/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: .3rem .5rem; border-bottom: 1px solid #e3e3e3; }
th { width: 11rem; font-weight: 600; color: #444; }
section.term { border: 1px solid #d6d6d6; border-radius: 6px; padding: .8rem 1rem; margin: 1.2rem 0; }
section.term:target { border-color: #0b4f8a; box-shadow: 0 0 0 2px #0b4f8a33; }
.kind { font-size: .8rem; font-weight: 600; color: #fff; background: #0b4f8a; border-radius: 4px;
        padding: .05rem .4rem; margin-left: .5rem; vertical-align: middle; }
.lang { font-size: .75rem; color: #777; margin-right: .3rem; }
ul.toc { columns: 3 12rem; padding-left: 1.2rem; }
footer { margin-top: 3rem; font-size: .85rem; color: #666; }
""".strip()


def load(path: Path = ONTOLOGY) -> Graph:
    """Parse the ontology, keeping only the prefixes the Turtle file declares (they name links)."""
    graph = Graph(bind_namespaces="none")
    graph.parse(path, format="turtle")
    return graph


def _prefixes(graph: Graph) -> list[tuple[str, str]]:
    # Longest namespace first, so that a more specific namespace wins over a shorter one.
    pairs = [(prefix, str(ns)) for prefix, ns in graph.namespaces() if prefix]
    return sorted(pairs, key=lambda pair: (-len(pair[1]), pair[0]))


def _curie(iri: str, prefixes: Sequence[tuple[str, str]]) -> str | None:
    for prefix, ns in prefixes:
        if iri.startswith(ns) and len(iri) > len(ns):
            return f"{prefix}:{iri[len(ns) :]}"
    return None


def _local(iri: URIRef) -> str:
    return str(iri)[len(KG) :]


def _is_kg(node: object) -> bool:
    return isinstance(node, URIRef) and str(node).startswith(KG)


def _sort_terms(terms: Iterable[URIRef]) -> list[URIRef]:
    return sorted(set(terms), key=lambda t: (_local(t).lower(), _local(t)))


class _Renderer:
    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.prefixes = _prefixes(graph)

    # --- values ---------------------------------------------------------------------------------

    def node(self, node: object) -> str:
        """One RDF term as HTML: kg: terms link to their anchor, other IRIs to themselves."""
        if _is_kg(node):
            assert isinstance(node, URIRef)
            return f'<a href="#{escape(_local(node))}"><code>kg:{escape(_local(node))}</code></a>'
        if isinstance(node, URIRef):
            curie = _curie(str(node), self.prefixes)
            shown = escape(curie if curie else str(node))
            return f'<a href="{escape(str(node))}"><code>{shown}</code></a>'
        if isinstance(node, BNode):
            return self.class_expression(node)
        if isinstance(node, Literal):
            return escape(str(node))
        raise TypeError(f"cannot render {node!r}")

    def class_expression(self, node: BNode) -> str:
        union = self.graph.value(node, OWL.unionOf)
        if union is not None:
            members = sorted((self.node(m) for m in Collection(self.graph, union)), key=_text_key)
            return " or ".join(members)
        intersection = self.graph.value(node, OWL.intersectionOf)
        if intersection is not None:
            members = sorted((self.node(m) for m in Collection(self.graph, intersection)), key=_text_key)
            return " and ".join(members)
        raise ValueError(f"unsupported class expression {node!r}")

    def nodes(self, values: Iterable[object]) -> str:
        return "<br>".join(sorted({self.node(v) for v in values}, key=_text_key))

    def texts(self, subject: URIRef, predicate: URIRef, lang: str) -> list[str]:
        return sorted(
            str(o)
            for o in self.graph.objects(subject, predicate)
            if isinstance(o, Literal) and o.language == lang
        )

    # --- rows -----------------------------------------------------------------------------------

    def row(self, heading: str, cell: str) -> str:
        return f"<tr><th>{escape(heading)}</th><td>{cell}</td></tr>" if cell else ""

    def lang_rows(self, term: URIRef, predicate: URIRef, heading: str) -> list[str]:
        rows = []
        for lang, name in (("en", "English"), ("sv", "Swedish")):
            values = self.texts(term, predicate, lang)
            cell = "<br>".join(f'<span lang="{lang}">{escape(v)}</span>' for v in values)
            rows.append(self.row(f"{heading} ({name})", cell))
        return rows

    def term_section(self, term: URIRef, kind: str, rows: Sequence[str]) -> str:
        local = escape(_local(term))
        iri = escape(str(term))
        iri_row = f'<tr><th>IRI</th><td><a href="{iri}"><code>{iri}</code></a></td></tr>'
        body = "\n".join(r for r in [iri_row, *rows] if r)
        return (
            f'<section class="term" id="{local}">\n'
            f'<h3><code>kg:{local}</code><span class="kind">{escape(kind)}</span></h3>\n'
            f"<table>\n{body}\n</table>\n</section>"
        )

    # --- terms ----------------------------------------------------------------------------------

    def kg_subjects(self, rdf_type: URIRef) -> list[URIRef]:
        subjects = self.graph.subjects(RDF.type, rdf_type)
        return _sort_terms(s for s in subjects if isinstance(s, URIRef) and _is_kg(s))

    def class_section(self, cls: URIRef) -> str:
        g = self.graph
        subclasses = [s for s in g.subjects(RDFS.subClassOf, cls) if _is_kg(s)]
        domain_of = [
            p for p, d in g.subject_objects(RDFS.domain) if _is_kg(p) and (d == cls or self._in_union(d, cls))
        ]
        range_of = [p for p in g.subjects(RDFS.range, cls) if _is_kg(p)]
        rows = [
            *self.lang_rows(cls, RDFS.label, "Label"),
            *self.lang_rows(cls, RDFS.comment, "Comment"),
            self.row("Subclass of", self.nodes(g.objects(cls, RDFS.subClassOf))),
            self.row("Equivalent to", self.nodes(g.objects(cls, OWL.equivalentClass))),
            self.row("Close match", self.nodes(g.objects(cls, SKOS.closeMatch))),
            self.row("Subclasses", self.nodes(subclasses)),
            self.row("Domain of", self.nodes(domain_of)),
            self.row("Range of", self.nodes(range_of)),
        ]
        return self.term_section(cls, "class", rows)

    def _in_union(self, node: object, member: URIRef) -> bool:
        if not isinstance(node, BNode):
            return False
        union = self.graph.value(node, OWL.unionOf)
        return union is not None and member in list(Collection(self.graph, union))

    def property_section(self, prop: URIRef) -> str:
        g = self.graph
        kinds = {OWL.ObjectProperty: "object property", OWL.DatatypeProperty: "datatype property"}
        kind = next((name for t, name in kinds.items() if (prop, RDF.type, t) in g), "property")
        functional = (prop, RDF.type, OWL.FunctionalProperty) in g
        characteristics = "functional (at most one value)" if functional else ""
        rows = [
            *self.lang_rows(prop, RDFS.label, "Label"),
            *self.lang_rows(prop, RDFS.comment, "Comment"),
            self.row("Domain", self.nodes(g.objects(prop, RDFS.domain))),
            self.row("Range", self.nodes(g.objects(prop, RDFS.range))),
            self.row("Characteristics", escape(characteristics)),
            self.row("Subproperty of", self.nodes(g.objects(prop, RDFS.subPropertyOf))),
            self.row("Equivalent to", self.nodes(g.objects(prop, OWL.equivalentProperty))),
            self.row("Close match", self.nodes(g.objects(prop, SKOS.closeMatch))),
        ]
        return self.term_section(prop, kind, rows)

    def individual_section(self, ind: URIRef) -> str:
        g = self.graph
        types = [t for t in g.objects(ind, RDF.type) if t != OWL.NamedIndividual]
        notations = sorted(escape(str(n)) for n in g.objects(ind, SKOS.notation))
        rows = [
            self.row("Type", self.nodes(types)),
            *self.lang_rows(ind, SKOS.prefLabel, "Preferred label"),
            *self.lang_rows(ind, SKOS.altLabel, "Alternative label"),
            self.row("Notation", "<br>".join(f"<code>{n}</code>" for n in notations)),
            self.row("In scheme", self.nodes(g.objects(ind, SKOS.inScheme))),
            *self.lang_rows(ind, RDFS.comment, "Comment"),
        ]
        kind = "concept scheme" if (ind, RDF.type, SKOS.ConceptScheme) in g else "individual"
        return self.term_section(ind, kind, rows)

    # --- page -----------------------------------------------------------------------------------

    def header(self) -> str:
        g, o = self.graph, ONTOLOGY_IRI
        title_en = " ".join(self.texts(o, DCTERMS.title, "en"))
        title_sv = " ".join(self.texts(o, DCTERMS.title, "sv"))
        version = " ".join(sorted(str(v) for v in g.objects(o, OWL.versionInfo)))
        rows = [
            self.row("Ontology IRI", self.node(o)),
            self.row("Version", escape(version)),
            self.row("Version IRI", self.nodes(g.objects(o, OWL.versionIRI))),
            self.row("License", self.nodes(g.objects(o, DCTERMS.license))),
            self.row("Preferred prefix", self.nodes(g.objects(o, VANN_PREFIX))),
            *self.lang_rows(o, DCTERMS.description, "Description"),
        ]
        table = "\n".join(r for r in rows if r)
        return f'<h1>{escape(title_en)}</h1>\n<p lang="sv">{escape(title_sv)}</p>\n<table>\n{table}\n</table>'

    def namespaces(self) -> str:
        rows = "\n".join(
            f"<tr><th><code>{escape(p)}:</code></th><td><code>{escape(ns)}</code></td></tr>"
            for p, ns in sorted(self.prefixes)
        )
        return f'<h2 id="namespaces">Namespaces</h2>\n<table>\n{rows}\n</table>'

    def page(self) -> str:
        classes = self.kg_subjects(OWL.Class)
        object_props = self.kg_subjects(OWL.ObjectProperty)
        datatype_props = self.kg_subjects(OWL.DatatypeProperty)
        individuals = _sort_terms(
            [*self.kg_subjects(SKOS.ConceptScheme), *self.kg_subjects(OWL.NamedIndividual)]
        )
        groups = [
            ("classes", "Classes", classes, self.class_section),
            ("object-properties", "Object properties", object_props, self.property_section),
            ("datatype-properties", "Datatype properties", datatype_props, self.property_section),
            ("individuals", "Code lists and individuals", individuals, self.individual_section),
        ]
        toc = ['<h2 id="contents">Contents</h2>']
        sections = []
        for anchor, title, terms, section in groups:
            items = "\n".join(f"<li>{self.node(t)}</li>" for t in terms)
            toc.append(
                f'<h3><a href="#{anchor}">{escape(title)}</a> ({len(terms)})</h3>\n'
                f'<ul class="toc">\n{items}\n</ul>'
            )
            sections.append(f'<h2 id="{anchor}">{escape(title)}</h2>')
            sections.extend(section(t) for t in terms)
        title = " ".join(self.texts(ONTOLOGY_IRI, DCTERMS.title, "en"))
        parts = [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{escape(title)}</title>",
            f"<style>\n{STYLE}\n</style>",
            "</head>",
            "<body>",
            self.header(),
            self.namespaces(),
            *toc,
            *sections,
            "<footer>Generated from <code>ontology/kgbuild.ttl</code> by "
            "<code>scripts/make_ontology_html.py</code>; edit the Turtle file and regenerate, "
            "do not edit this page by hand.</footer>",
            "</body>",
            "</html>",
        ]
        return "\n".join(parts) + "\n"


def _text_key(rendered: str) -> tuple[str, str]:
    # Sort rendered links by what the reader sees (the CURIE), not by markup.
    visible = rendered.split("<code>", 1)[-1]
    return (visible.lower(), rendered)


def render(graph: Graph) -> str:
    """The documentation page for ``graph`` as an HTML string (deterministic for a given graph)."""
    return _Renderer(graph).page()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Generate the HTML documentation of the kgbuild ontology.",
        epilog="example: python scripts/make_ontology_html.py --check",
    )
    parser.add_argument(
        "--ontology", type=Path, default=ONTOLOGY, help="Turtle file to read (default: %(default)s)"
    )
    parser.add_argument(
        "--output", type=Path, default=OUTPUT, help="HTML file to write (default: %(default)s)"
    )
    parser.add_argument(
        "--check", action="store_true", help="do not write; exit 1 if the output file is stale"
    )
    args = parser.parse_args(argv)

    page = render(load(args.ontology))
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else None
        if current != page:
            print(f"{args.output} is stale: run python scripts/make_ontology_html.py", file=sys.stderr)
            return 1
        print(f"{args.output} is up to date", file=sys.stderr)
        return 0
    args.output.write_text(page, encoding="utf-8", newline="\n")
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
