"""Linked data, dumps and personal data, over a real server: every minted IRI dereferences, nothing leaks.

The IRIs to dereference come from the server itself (a SPARQL query for every subject under
``<base>id/``); the personal data to look for comes from the sources, read by the parsers (the
contact persons' e-mail addresses, names and telephone numbers), and is searched for in every
page, every SPARQL answer and every dump.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import httpx
import pytest
from pyoxigraph import NamedNode, RdfFormat, parse

from kgbuild.parsers import parse_file
from kgbuild.sources import default_sources
from tests.jsonld import parse_rdf
from tests.server.conftest import BASE, build_bundled, make_settings, running_server

ID = BASE + "id/"
PROJECT = ID + "project/22-010-S04"
RDF_FORMATS = {"text/turtle": RdfFormat.TURTLE, "application/ld+json": RdfFormat.JSON_LD,
               "application/n-triples": RdfFormat.N_TRIPLES, "application/rdf+xml": RdfFormat.RDF_XML}
EXTENSIONS = {"ttl": "text/turtle", "jsonld": "application/ld+json", "nt": "application/n-triples",
              "rdf": "application/rdf+xml"}
DUMP_FORMATS = {"kgbuild.ttl.gz": RdfFormat.TURTLE, "kgbuild.nt.gz": RdfFormat.N_TRIPLES,
                "kgbuild.nq.gz": RdfFormat.N_QUADS, "kgbuild.trig.gz": RdfFormat.TRIG,
                "kgbuild.jsonld.gz": RdfFormat.JSON_LD}
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def _path(iri: str) -> str:
    assert iri.startswith(BASE)
    return "/" + iri[len(BASE):]


@pytest.fixture(scope="module")
def minted(client: httpx.Client) -> list[str]:
    """Every subject under ``<base>id/``, as the endpoint lists them."""
    query = f'SELECT DISTINCT ?s {{ ?s ?p ?o FILTER(STRSTARTS(STR(?s), "{ID}")) }} ORDER BY ?s'
    response = client.get("/sparql", params={"query": query})
    assert response.status_code == 200
    iris = [b["s"]["value"] for b in response.json()["results"]["bindings"]]
    assert len(iris) > 400
    return iris


# --- personal data, from the sources ------------------------------------------------------------

@dataclass(frozen=True)
class Contact:
    name: str | None
    email: str | None
    phone: str | None  # E.164, as the parsers normalise it


@pytest.fixture(scope="module")
def contacts() -> list[Contact]:
    found = [Contact(r.contact_name, r.contact_email, r.contact_phone)
             for path in default_sources() for r in parse_file(path).records
             if r.contact_name or r.contact_email or r.contact_phone]
    assert len(found) >= 3 and all(c.email for c in found)
    return found


def _leak_patterns(contacts: list[Contact]) -> list[re.Pattern[str]]:
    patterns = []
    for contact in contacts:
        for text in (contact.name, contact.email):
            if text:
                patterns.append(re.compile(re.escape(text), re.I))
        if contact.phone:
            national = "0" + contact.phone[3:] if contact.phone.startswith("+46") else contact.phone
            for digits in (contact.phone.lstrip("+"), national):
                # the digits in any grouping: 054-540 49 55, 054 54 04 955, +46545404955 ...
                patterns.append(re.compile(r"(?<![0-9a-f])" + r"[\s\-–/().]*".join(digits) + r"(?![0-9a-f])"))
    return patterns


def assert_no_personal_data(text: str, contacts: list[Contact], where: str) -> None:
    for pattern in _leak_patterns(contacts):
        match = pattern.search(text)
        assert match is None, f"{where} contains personal data: {match.group(0) if match else ''!r}"


def test_leak_patterns_find_what_they_look_for(contacts: list[Contact]) -> None:
    contact = contacts[0]
    assert contact.email and contact.phone and contact.name
    national = "0" + contact.phone[3:]
    for text in (f"mail {contact.email.upper()}", f"ring {national[:3]}-{national[3:6]} {national[6:]}",
                 f"<tel:{contact.phone}>", contact.name):
        with pytest.raises(AssertionError):
            assert_no_personal_data(text, contacts, "sample")


# --- every minted IRI dereferences ---------------------------------------------------------------

def test_every_minted_iri_dereferences_as_turtle(client: httpx.Client, minted: list[str],
                                                 contacts: list[Contact]) -> None:
    for iri in minted:
        response = client.get(_path(iri), headers={"accept": "text/turtle"})
        assert response.status_code == 200, (iri, response.status_code, response.text[:200])
        assert response.headers["content-type"].startswith("text/turtle")
        triples = list(parse(response.content, format=RdfFormat.TURTLE))
        assert any(t.subject == NamedNode(iri) for t in triples), iri
        assert_no_personal_data(response.text, contacts, iri)


def test_every_minted_iri_has_a_page(client: httpx.Client, minted: list[str], contacts: list[Contact]) -> None:
    for iri in minted:
        response = client.get(_path(iri), headers={"accept": BROWSER})
        assert response.status_code == 200, (iri, response.status_code)
        assert response.headers["content-type"].startswith("text/html")
        assert_no_personal_data(response.text, contacts, iri)


def test_project_page(client: httpx.Client) -> None:
    response = client.get(_path(PROJECT), headers={"accept": BROWSER})
    assert response.status_code == 200
    page = response.text
    assert "<title>Värmlands Skolsamverkan</title>" in page
    links = set(re.findall(r'href="([^"]+)"', page))
    assert "http://data.europa.eu/nuts/code/SE31" in links
    assert "/id/source/001-49fdefbf50581b3b" in links  # the source document it was read from
    assert {"/id/organisation/municipality/1780", "/id/fund/esf-plus", "/id/esf-region/norra-mellansverige"} <= links
    assert {_path(PROJECT) + ext for ext in (".ttl", ".jsonld", ".nt")} <= links
    for link in sorted(link for link in links if link.startswith("/id/")):  # every related resource resolves
        followed = client.get(link)
        assert followed.status_code == 200, link
    source = client.get("/id/source/001-49fdefbf50581b3b", headers={"accept": "text/turtle"})
    assert '"001_49fdefbf50581b3b.txt"' in source.text


def test_formats_by_accept_and_by_extension_agree(client: httpx.Client) -> None:
    sets = {}
    for media, rdf_format in RDF_FORMATS.items():
        response = client.get(_path(PROJECT), headers={"accept": media})
        assert response.status_code == 200
        assert response.headers["content-type"].split(";")[0] == media
        sets[media] = {str(t) for t in parse_rdf(response.content, rdf_format)}
    for extension, media in EXTENSIONS.items():
        response = client.get(f"{_path(PROJECT)}.{extension}", headers={"accept": BROWSER})
        assert response.status_code == 200
        assert response.headers["content-type"].split(";")[0] == media
        assert {str(t) for t in parse_rdf(response.content, RDF_FORMATS[media])} == sets[media]
    turtle = sets["text/turtle"]
    assert all(s == turtle for s in sets.values()) and len(turtle) > 20
    assert any(t.startswith(f"<{PROJECT}> <http://purl.org/dc/terms/title> ") and "Värmlands Skolsamverkan" in t
               for t in turtle)


# An earlier IRI of a thing (its owl:sameAs) → where it lives now: the organisationsnummer IRI of a municipality,
# the file-named IRI of a project without a number, the name IRI of an organisation whose number a source states.
EARLIER = {"/id/organisation/2120001850": "/id/organisation/municipality/1780",
           "/id/project/source/004-9880f10e1b458694": "/id/project/digest/0caabebe770ed572",
           "/id/organisation/name/kommunförbundet-kalmar-län": "/id/organisation/8025185011"}


@pytest.mark.parametrize("earlier", EARLIER)
def test_an_earlier_iri_redirects_permanently_to_the_current_one(client: httpx.Client, earlier: str) -> None:
    current = EARLIER[earlier]
    for extension, accept in (("", "text/turtle"), ("", BROWSER), (".jsonld", "text/turtle")):
        response = client.get(earlier + extension, headers={"accept": accept})
        assert response.status_code == 301, (earlier, response.status_code, response.text[:200])
        assert unquote(response.headers["location"]) == current + extension
        followed = client.get(response.headers["location"], headers={"accept": accept})
        assert followed.status_code == 200
    page = client.get(current, headers={"accept": "text/turtle"})
    sames = {str(t.object) for t in parse(page.content, format=RdfFormat.TURTLE)
             if t.predicate.value == "http://www.w3.org/2002/07/owl#sameAs"}
    assert f"<{BASE.rstrip('/')}{earlier}>" in sames


@pytest.mark.parametrize("path", ["/id/project/no-such-project", "/id/organisation/name/ingen-sådan-förening",
                                  "/id/nothing", "/id/project/22-010-S04/no-such-part", "/id/project/22-010-S04.xyz"])
def test_unknown_iri_is_404(client: httpx.Client, path: str) -> None:
    response = client.get(path, headers={"accept": "text/turtle"})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/plain")


def test_not_an_iri_is_refused(client: httpx.Client) -> None:
    response = client.get("/id/project/a%20b%3Cscript%3E")
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/plain")


def test_unicode_iris(client: httpx.Client, minted: list[str]) -> None:
    unicode_iris = [iri for iri in minted if re.search("[åäöÅÄÖ]", iri)]
    assert any("/organisation/name/" in iri for iri in unicode_iris)
    assert any("/esf-region/" in iri for iri in unicode_iris)
    for iri in unicode_iris:
        encoded = quote(_path(iri), safe="/")
        assert "%C3%" in encoded
        response = client.get(encoded, headers={"accept": "application/n-triples"})
        assert response.status_code == 200, iri
        assert f"<{iri}>" in response.content.decode("utf-8")
        page = client.get(encoded, headers={"accept": BROWSER})
        assert page.status_code == 200 and "<h1>" in page.text


# --- personal data: not in answers, not in dumps, unless the operator opts in ------------------

def test_sparql_never_shows_personal_graphs(client: httpx.Client, contacts: list[Contact]) -> None:
    personal = BASE + "graph/personal/"
    graphs = client.get("/sparql", params={"query": "SELECT DISTINCT ?g { GRAPH ?g { ?s ?p ?o } }"}).json()
    names = [b["g"]["value"] for b in graphs["results"]["bindings"]]
    assert names and not any(g.startswith(personal) for g in names)
    # Everything the endpoint will show, in one answer (streamed: no row cap cuts it short).
    count = client.get("/sparql", params={"query": "SELECT (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } }"})
    visible = int(count.json()["results"]["bindings"][0]["n"]["value"])
    response = client.get("/sparql", params={"query": "SELECT ?g ?s ?p ?o { GRAPH ?g { ?s ?p ?o } }"},
                          headers={"accept": "text/tab-separated-values"})  # TSV keeps datatypes and languages apart
    assert response.status_code == 200
    assert personal not in response.text
    assert_no_personal_data(response.text, contacts, "SELECT * rows")
    seen = {tuple(line.split("\t")) for line in response.text.splitlines()[1:]}
    assert len(seen) == visible > 13000
    # asking for them by name gives nothing either
    everything = "SELECT * { GRAPH ?g { ?s ?p ?o } }"
    for params in ({"query": "SELECT * { ?c <http://www.w3.org/2006/vcard/ns#hasEmail> ?e }"},
                   {"query": f'SELECT * {{ GRAPH ?g {{ ?s ?p ?o }} FILTER(STRSTARTS(STR(?g), "{personal}")) }}'},
                   {"query": f"SELECT * FROM NAMED <{personal}000-fa21285db760708c> {{ GRAPH ?g {{ ?s ?p ?o }} }}"},
                   {"query": "SELECT * { ?s ?p ?o }", "default-graph-uri": personal + "000-fa21285db760708c"},
                   {"query": everything, "named-graph-uri": personal + "002-c5b1d8a317488e7e"}):
        response = client.get("/sparql", params=params)
        assert response.status_code == 200
        assert response.json()["results"]["bindings"] == [], params


@pytest.fixture(scope="module")
def dumps(client: httpx.Client) -> dict[str, bytes]:
    """Every file /dumps/ lists, once the server has made them (polled: they are made in the background)."""
    deadline = time.monotonic() + 60
    while True:
        index = client.get("/dumps/", headers={"accept": "application/json"})
        if index.status_code == 200:
            break
        assert index.status_code == 503 and index.headers.get("retry-after"), index.text
        assert time.monotonic() < deadline, "the dumps were not ready within 60 s"
        time.sleep(0.2)
    files = {}
    for entry in index.json()["files"]:
        response = client.get("/dumps/" + entry["name"])
        assert response.status_code == 200, entry
        assert len(response.content) == entry["bytes"]
        if entry["sha256"]:
            assert hashlib.sha256(response.content).hexdigest() == entry["sha256"]
        files[entry["name"]] = response.content
    return files


def test_dumps_index_and_checksums(client: httpx.Client, dumps: dict[str, bytes]) -> None:
    assert sorted(dumps) == sorted([*DUMP_FORMATS, "SHA256SUMS", "void.ttl"])
    sums = dict(reversed(line.split("  ", 1)) for line in dumps["SHA256SUMS"].decode().splitlines())
    assert sorted(sums) == sorted(DUMP_FORMATS)
    for name, digest in sums.items():
        assert hashlib.sha256(dumps[name]).hexdigest() == digest, name
    page = client.get("/dumps/", headers={"accept": BROWSER})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for name, digest in sums.items():
        assert f'href="{name}"' in page.text and digest in page.text
    assert client.get("/dumps/kgbuild.nt.gz").headers["content-type"] == "application/gzip"


def test_dumps_load_and_hold_no_personal_data(dumps: dict[str, bytes], contacts: list[Contact],
                                              client: httpx.Client) -> None:
    def count(query: str) -> int:
        return int(client.get("/sparql", params={"query": query}).json()["results"]["bindings"][0]["n"]["value"])

    # The dataset as served: every public graph, and their merge as the default graph.
    visible = count("SELECT (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } }") + count("SELECT (COUNT(*) AS ?n) { ?s ?p ?o }")
    for name, rdf_format in DUMP_FORMATS.items():
        data = gzip.decompress(dumps[name])
        statements = parse_rdf(data, rdf_format)
        assert len(statements) > 13000, name
        if rdf_format.supports_datasets:
            assert len(statements) == visible, name
            assert not any(str(q.graph_name).startswith(f"<{BASE}graph/personal/") for q in statements)
        assert_no_personal_data(data.decode("utf-8"), contacts, name)
    assert_no_personal_data(dumps["void.ttl"].decode(), contacts, "void.ttl")


def test_void_description(client: httpx.Client, dumps: dict[str, bytes]) -> None:
    response = client.get("/.well-known/void")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/turtle")
    triples = list(parse(response.content, format=RdfFormat.TURTLE))
    counts = [t.object.value for t in triples if t.predicate == NamedNode("http://rdfs.org/ns/void#triples")]
    # The triples of the merge: one per triple, however many sources state it.
    merge = len(list(parse(gzip.decompress(dumps["kgbuild.nt.gz"]), format=RdfFormat.N_TRIPLES)))
    nquads = len(list(parse(gzip.decompress(dumps["kgbuild.nq.gz"]), format=RdfFormat.N_QUADS)))
    assert counts == [str(merge)] and merge < nquads
    downloads = {t.object.value for t in triples if t.predicate == NamedNode("http://www.w3.org/ns/dcat#downloadURL")}
    # Under the store's base, and where this server listens (not the base's port): each one downloads.
    here = str(client.base_url).rstrip("/") + "/"
    assert here != BASE
    assert downloads == {prefix + "dumps/" + name for name in DUMP_FORMATS for prefix in (BASE, here)}
    for url in sorted(d for d in downloads if d.startswith(here)):
        assert client.head(url.removeprefix(here.rstrip("/"))).status_code == 200, url
    as_jsonld = client.get("/.well-known/void", headers={"accept": "application/ld+json"})
    assert len(parse_rdf(as_jsonld.content, RdfFormat.JSON_LD)) == len(triples)


@pytest.mark.parametrize("path", [
    "/dumps/..%2F..%2Fetc%2Fpasswd", "/dumps/%2e%2e/CURRENT", "/static/../../pyproject.toml", "/dumps/../CURRENT",
    "/dumps/%2e%2e%2fCURRENT", "/dumps/..", "/dumps/%2e%2e", "/dumps/GENERATION", "/dumps/.%2e/.%2e/CURRENT",
    "/static/%2e%2e/%2e%2e/%2e%2e/pyproject.toml", "/static/..%2f..%2f..%2fpyproject.toml", "/static/../app.py",
    "/static/%2e%2e/app.py", "/dumps//etc/passwd", "/dumps/%2Fetc%2Fpasswd", "/id/../../../etc/passwd",
])
def test_path_traversal_is_404(server_url: str, path: str) -> None:
    # http.client sends the path exactly as written (httpx would normalise the dot segments away)
    parts = urlsplit(server_url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    assert response.status == 404, (path, response.status, body[:200])
    for secret in (b"root:", b"[project]", b"gen-0000", b"import ", b"kgbuild"):
        assert secret not in body, (path, body[:200])


def test_ontology_html_and_turtle(client: httpx.Client) -> None:
    page = client.get("/ontology", headers={"accept": BROWSER})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<html" in page.text.lower()
    turtle = client.get("/ontology", headers={"accept": "text/turtle"})
    assert turtle.status_code == 200 and turtle.headers["content-type"].startswith("text/turtle")
    triples = list(parse(turtle.content, format=RdfFormat.TURTLE))
    assert any(t.object == NamedNode("http://www.w3.org/2002/07/owl#Ontology") for t in triples)
    jsonld = client.get("/ontology", headers={"accept": "application/ld+json"})
    assert len(parse_rdf(jsonld.content, RdfFormat.JSON_LD)) == len(triples)


# --- the operator's opt-in -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def personal_server(bundled_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    # A copy: this server writes its own dumps (with personal data) into its store directory.
    store = tmp_path_factory.mktemp("personal") / "kgstore"
    shutil.copytree(bundled_store, store, ignore=shutil.ignore_patterns("dumps-*", ".dumps-*", "LOCK"))
    with running_server(make_settings(store, include_personal_data=True)) as url:
        yield url


def test_personal_data_only_when_opted_in(personal_server: str, client: httpx.Client,
                                          contacts: list[Contact]) -> None:
    query = "SELECT ?e { ?c <http://www.w3.org/2006/vcard/ns#hasEmail> ?e } ORDER BY ?e"
    with httpx.Client(base_url=personal_server, timeout=30) as opted_in:
        answer = opted_in.get("/sparql", params={"query": query}).json()
        emails = [b["e"]["value"] for b in answer["results"]["bindings"]]
        assert sorted(emails) == sorted(f"mailto:{c.email}" for c in contacts)
        contact = ID + "project/digest/0caabebe770ed572/contact"
        page = opted_in.get(_path(contact), headers={"accept": "text/turtle"})
        assert page.status_code == 200
        assert "roger.nilsson@forshaga.se" in page.text
    assert client.get("/sparql", params={"query": query}).json()["results"]["bindings"] == []
    assert client.get(_path(ID + "project/digest/0caabebe770ed572/contact")).status_code == 404


def test_pages_name_the_codes(client: httpx.Client) -> None:
    page = client.get(_path(PROJECT), headers={"accept": BROWSER})
    assert page.status_code == 200
    # the page is in English: a code's English name where it has one, else its Swedish one
    assert "Increase opportunities for an inclusive and sustainable working life for all" in page.text  # area A
    assert "Support for labour market matching and transitions" in page.text  # intervention field 140
    assert "Nationellt program för Europeiska socialfonden+ 2021–2027" in page.text
    area = client.get("/id/programme-area/A", headers={"accept": "text/turtle"})
    labels = {str(t.object) for t in parse(area.content, format=RdfFormat.TURTLE)
              if t.predicate == NamedNode("http://www.w3.org/2004/02/skos/core#prefLabel")}
    assert labels == {'"Öka möjligheten till ett inkluderande och hållbart arbetsliv för alla"@sv',
                      '"Increase opportunities for an inclusive and sustainable working life for all"@en'}


# --- the store's base, wherever the server listens (issue 19.2) ------------------------------------

STORE_BASE = "https://data.example.org/kg/"


@pytest.fixture(scope="module")
def elsewhere_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled corpus minted under a base that is neither the server's ``base_iri`` nor where it listens."""
    return build_bundled(tmp_path_factory, "elsewhere", STORE_BASE)


def test_the_store_s_iris_dereference_on_any_host_and_port(elsewhere_store: Path) -> None:
    """``/id/PATH`` is ``<the store's base>id/PATH``: not the ``base_iri`` setting, not the request's host."""
    project = STORE_BASE + "id/project/22-010-S04"
    settings = make_settings(elsewhere_store, base_iri="http://127.0.0.1:8812/")
    with running_server(settings) as url, httpx.Client(base_url=url, timeout=30) as client:
        assert not url.startswith(("http://127.0.0.1:8812", STORE_BASE.rstrip("/")))
        page = client.get("/id/project/22-010-S04", headers={"accept": BROWSER})
        assert page.status_code == 200, page.text
        assert "<title>Värmlands Skolsamverkan</title>" in page.text
        assert f"<code class=iri>{project}</code>" in page.text
        links = set(re.findall(r'href="([^"]+)"', page.text))
        # Links to the store's IRIs go to this server (by path), whatever host the IRIs name.
        assert not any(link.startswith(STORE_BASE) for link in links), links
        own = sorted(link for link in links if link.startswith("/id/"))
        assert {"/id/organisation/municipality/1780", "/id/source/001-49fdefbf50581b3b",
                "/id/project/22-010-S04.ttl"} <= set(own)
        for link in own:  # every link, followed by a real client, resolves
            followed = client.get(link, headers={"accept": BROWSER})
            assert followed.status_code == 200, link
        turtle = client.get("/id/project/22-010-S04", headers={"accept": "text/turtle"})
        assert any(str(t.subject) == f"<{project}>" for t in parse(turtle.content, format=RdfFormat.TURTLE))
        # The query page sends result links to the store's IRIs here too (page.js reads this).
        assert f'data-base="{STORE_BASE}"' in client.get("/").text
        assert client.get("/id/project/no-such-project").status_code == 404
        # The dumps and the dataset description are the store's too: its IRIs, its URI space.
        deadline = time.monotonic() + 60
        while (void := client.get("/.well-known/void")).status_code == 503:
            assert time.monotonic() < deadline, "the dataset description was not ready within 60 s"
            time.sleep(0.2)
        assert void.status_code == 200, void.text
        spaces = {t.object.value for t in parse(void.content, format=RdfFormat.TURTLE)
                  if t.predicate == NamedNode("http://rdfs.org/ns/void#uriSpace")}
        assert spaces == {STORE_BASE + "id/"}
        dump = client.get("/dumps/kgbuild.nt.gz")
        assert dump.status_code == 200 and f"<{project}>".encode() in gzip.decompress(dump.content)
