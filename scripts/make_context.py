#!/usr/bin/env python
"""Regenerate ``ontology/context.jsonld``, the JSON-LD context of every JSON-LD document kgbuild writes.

Each property and class of ``ontology/kgbuild.ttl`` gets a short key named after its local name
(``kg:grantedAmount`` → ``grantedAmount``), typed from its ``rdfs:range``: an object property's values
are IRIs (``"@type": "@id"``), a datatype property's are coerced to its datatype. The terms of other
vocabularies that the mapping uses are listed below, by hand, with the kind of value they take. Text
that carries a language is a language map (``"title": {"sv": "..."}``; ``@none`` for text without one).

Usage::

    python scripts/make_context.py            # rewrite ontology/context.jsonld
    python scripts/make_context.py --check    # exit 1 if the file is not what the ontology gives
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pyoxigraph import NamedNode, RdfFormat, parse

from kgbuild.vocab import KG, OWL, PREFIXES, RDF, RDFS, XSD

ROOT = Path(__file__).resolve().parents[1]
ONTOLOGY = ROOT / "ontology" / "kgbuild.ttl"
DEFAULT_OUTPUT = ROOT / "ontology" / "context.jsonld"

IRI, TEXT, STRING = "@id", "text", "string"  # kinds of value; any other kind is a datatype (prefixed)
# Terms of reused vocabularies: key → (prefixed IRI, kind of value).
EXTERNAL = {
    "title": ("dct:title", TEXT), "description": ("dct:description", TEXT),
    "identifier": ("dct:identifier", STRING), "language": ("dct:language", STRING),
    "license": ("dct:license", IRI), "source": ("dct:source", IRI),
    "label": ("rdfs:label", TEXT), "comment": ("rdfs:comment", TEXT), "isDefinedBy": ("rdfs:isDefinedBy", IRI),
    "domain": ("rdfs:domain", IRI), "range": ("rdfs:range", IRI), "subClassOf": ("rdfs:subClassOf", IRI),
    "subPropertyOf": ("rdfs:subPropertyOf", IRI), "seeAlso": ("rdfs:seeAlso", IRI),
    "prefLabel": ("skos:prefLabel", TEXT), "altLabel": ("skos:altLabel", TEXT),
    "definition": ("skos:definition", TEXT), "notation": ("skos:notation", STRING),
    "broader": ("skos:broader", IRI), "inScheme": ("skos:inScheme", IRI), "topConceptOf": ("skos:topConceptOf", IRI),
    "hasTopConcept": ("skos:hasTopConcept", IRI), "closeMatch": ("skos:closeMatch", IRI),
    "exactMatch": ("skos:exactMatch", IRI),
    "startDate": ("schema:startDate", "xsd:date"), "endDate": ("schema:endDate", "xsd:date"),
    "value": ("schema:value", "xsd:decimal"), "currency": ("schema:currency", STRING),
    "keywords": ("schema:keywords", TEXT), "name": ("schema:name", TEXT), "url": ("schema:url", IRI),
    "email": ("schema:email", STRING), "telephone": ("schema:telephone", STRING),
    "hasBody": ("oa:hasBody", IRI), "hasTarget": ("oa:hasTarget", IRI), "hasSource": ("oa:hasSource", IRI),
    "hasSelector": ("oa:hasSelector", IRI), "exact": ("oa:exact", STRING),
    "start": ("oa:start", "xsd:integer"), "end": ("oa:end", "xsd:integer"),
    "conformsTo": ("dct:conformsTo", IRI),  # a PDF's page selector conforms to RFC 3778
    "wasDerivedFrom": ("prov:wasDerivedFrom", IRI), "generatedAtTime": ("prov:generatedAtTime", "xsd:dateTime"),
    "locality": ("vcard:locality", STRING), "postalCode": ("vcard:postal-code", STRING),
    "schemaAgency": ("adms:schemaAgency", STRING), "registration": ("regorg:registration", IRI),
    "unionOf": ("owl:unionOf", IRI), "versionIRI": ("owl:versionIRI", IRI), "versionInfo": ("owl:versionInfo", STRING),
    "fullName": ("vcard:fn", STRING), "hasEmail": ("vcard:hasEmail", IRI), "hasTelephone": ("vcard:hasTelephone", IRI),
    "streetAddress": ("vcard:street-address", STRING),
    # The build's own bookkeeping, written by the pipeline and not declared in the ontology.
    "contentHash": ("kg:contentHash", STRING), "statedOwner": ("kg:statedOwner", STRING),
}
# Classes of reused vocabularies the mapping types resources with.
EXTERNAL_CLASSES = {
    "Concept": "skos:Concept", "ConceptScheme": "skos:ConceptScheme", "AdministrativeArea": "schema:AdministrativeArea",
    "Annotation": "oa:Annotation", "SpecificResource": "oa:SpecificResource",
    "TextPositionSelector": "oa:TextPositionSelector", "TextQuoteSelector": "oa:TextQuoteSelector",
    "FragmentSelector": "oa:FragmentSelector", "XPathSelector": "oa:XPathSelector",
    "Entity": "prov:Entity", "Identifier": "adms:Identifier", "Individual": "vcard:Individual",
}


def _prefixed(iri: str) -> str:
    best = max((p for p in PREFIXES.items() if iri.startswith(p[1])), key=lambda p: len(p[1]))
    return f"{best[0]}:{iri[len(best[1]):]}"


def _definition(iri: str, kind: str) -> str | dict[str, str]:
    if kind == STRING:
        return iri
    if kind == TEXT:
        return {"@id": iri, "@container": "@language"}
    return {"@id": iri, "@type": kind}


def make_context() -> dict[str, object]:
    """The context: the prefixes, ``id``/``type`` aliases, then one term per ontology and reused term."""
    triples = list(parse(path=str(ONTOLOGY), format=RdfFormat.TURTLE))
    kinds: dict[str, str] = {}
    ranges: dict[str, str] = {}
    for t in triples:
        if not (isinstance(t.subject, NamedNode) and t.subject.value.startswith(KG)):
            continue
        if t.predicate.value == RDF + "type":
            kinds.setdefault(t.subject.value, "")
            if t.object.value in (OWL + "ObjectProperty", OWL + "DatatypeProperty", OWL + "Class"):
                kinds[t.subject.value] = t.object.value.split("#")[1]
        elif t.predicate.value == RDFS + "range":
            ranges[t.subject.value] = t.object.value
    terms: dict[str, object] = {}
    for iri, kind in sorted(kinds.items(), key=lambda item: item[0].lower()):
        key = iri[len(KG):]
        if kind == "Class":
            terms[key] = _prefixed(iri)
        elif kind == "ObjectProperty":
            terms[key] = _definition(_prefixed(iri), IRI)
        elif kind == "DatatypeProperty":
            datatype = ranges.get(iri, XSD + "string")
            terms[key] = _definition(_prefixed(iri), STRING if datatype == XSD + "string" else _prefixed(datatype))
    for key, (iri, kind) in EXTERNAL.items():
        if key in terms:
            raise SystemExit(f"{key} is both an ontology term and a reused one")
        terms[key] = _definition(iri, kind)
    for key, iri in EXTERNAL_CLASSES.items():
        terms[key] = iri
    context: dict[str, object] = {"@version": 1.1, **PREFIXES, "id": "@id", "type": "@type"}
    context.update(dict(sorted(terms.items(), key=lambda item: item[0].lower())))
    return {"@context": context}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is out of date")
    args = parser.parse_args(argv)
    text = json.dumps(make_context(), indent=2, ensure_ascii=False) + "\n"
    if args.check:
        if DEFAULT_OUTPUT.read_text(encoding="utf-8") != text:
            print(f"{DEFAULT_OUTPUT} is out of date: run scripts/make_context.py", file=sys.stderr)
            return 1
        return 0
    DEFAULT_OUTPUT.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
