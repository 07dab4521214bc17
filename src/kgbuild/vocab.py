"""Namespace IRIs, as plain strings: one place, so no module spells a vocabulary twice."""

from __future__ import annotations

__all__ = [
    "KG", "ONTOLOGY", "ADMS", "DCAT", "DCT", "EURIO", "FOAF", "FRAPO", "NUTS", "OA", "ORG", "OWL",
    "PROV", "RDF", "RDFS", "REGORG", "SCHEMA", "SD", "SH", "SKOS", "VCARD", "VOID", "XSD", "PREFIXES",
]

KG = "https://w3id.org/kgbuild/ontology#"
ONTOLOGY = "https://w3id.org/kgbuild/ontology"
ADMS = "http://www.w3.org/ns/adms#"
DCAT = "http://www.w3.org/ns/dcat#"
DCT = "http://purl.org/dc/terms/"
EURIO = "http://data.europa.eu/s66#"
FOAF = "http://xmlns.com/foaf/0.1/"
FRAPO = "http://purl.org/cerif/frapo/"
NUTS = "http://data.europa.eu/nuts/code/"
OA = "http://www.w3.org/ns/oa#"
ORG = "http://www.w3.org/ns/org#"
OWL = "http://www.w3.org/2002/07/owl#"
PROV = "http://www.w3.org/ns/prov#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
REGORG = "http://www.w3.org/ns/regorg#"
SCHEMA = "https://schema.org/"
SD = "http://www.w3.org/ns/sparql-service-description#"
SH = "http://www.w3.org/ns/shacl#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
VCARD = "http://www.w3.org/2006/vcard/ns#"
VOID = "http://rdfs.org/ns/void#"
XSD = "http://www.w3.org/2001/XMLSchema#"

# Prefixes for Turtle output and the query page, in the order people expect to read them.
PREFIXES = {
    "kg": KG, "rdf": RDF, "rdfs": RDFS, "xsd": XSD, "owl": OWL, "skos": SKOS, "dct": DCT, "schema": SCHEMA,
    "org": ORG, "regorg": REGORG, "adms": ADMS, "vcard": VCARD, "prov": PROV, "dcat": DCAT, "void": VOID,
    "eurio": EURIO, "frapo": FRAPO, "nuts": NUTS, "sd": SD, "foaf": FOAF, "oa": OA,
}
