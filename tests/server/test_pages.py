"""Offline and browsable (issue 20.7): /api, the descriptions and the resource pages, over a real server.

A headless Chromium (``conftest.browser_page``) opens ``/api``, a project's page and an organisation's
page and must see them rendered with every request going to 127.0.0.1; plain HTTP checks the Accept
negotiation of the dataset description, the service description and the ontology (HTML for a browser,
RDF otherwise), the static files' headers, and that text from the sources is escaped on every page.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from pyoxigraph import Literal, NamedNode, RdfFormat, Triple, parse

from kgbuild.iris import Iris
from kgbuild.pipeline import build
from kgbuild.server.pages import graph_page, resource_page
from kgbuild.sources import default_sources
from kgbuild.vocab import DCT, KG, RDFS
from tests.jsonld import parse_rdf
from tests.server.conftest import BASE, make_settings, outside_hosts, running_server

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
PROJECT = "/id/project/digest/0caabebe770ed572"
PROJECT_TITLE = 'Förprojekt "Utvecklad Samverkan i Klarälvdalen"'
OWNER = "Klarälvdalens Samordningsförbund"
ORGANISATION = "/id/organisation/name/klarälvdalens-samordningsförbund"  # as the page's link writes it
DESCRIPTIONS = ["/.well-known/void", "/sparql", "/ontology"]
RDF_TYPES = {"text/turtle": RdfFormat.TURTLE, "application/n-triples": RdfFormat.N_TRIPLES,
             "application/ld+json": RdfFormat.JSON_LD, "application/rdf+xml": RdfFormat.RDF_XML}


def _get(client: httpx.Client, path: str, **options: Any) -> httpx.Response:
    """GET, waiting out the 503 of a dataset description still being prepared (the first minute of a server)."""
    deadline = time.monotonic() + 60
    while (response := client.get(path, **options)).status_code == 503 and time.monotonic() < deadline:
        time.sleep(0.2)
    return response


def _text(page: str) -> str:
    """A page's text as a reader sees it (tags out, entities and no-break spaces as plain characters)."""
    import html

    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)).replace("\xa0", " "))


# --- in a real browser ---------------------------------------------------------------------------

def test_api_and_pages_render_in_a_browser_with_nothing_from_elsewhere(
        server_url: str, browser_page: tuple[Any, list[str]]) -> None:
    page, requested = browser_page
    errors: list[str] = []
    failed: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("requestfailed", lambda request: failed.append(request.url))

    # /api: Swagger UI, its assets from this server, shows the SPARQL operations.
    response = page.goto(f"{server_url}/api")
    assert response is not None and response.status == 200
    page.wait_for_selector(".opblock-summary-path[data-path='/sparql']")
    operations = page.locator(".opblock-summary-path").all_inner_texts()
    assert any(text.strip() == "/sparql" for text in operations), operations
    assert page.locator(".swagger-ui .info .title").inner_text().startswith("kgbuild SPARQL endpoint")
    loaded = {url.removeprefix(server_url) for url in requested}
    assert {"/static/vendor/swagger-ui/swagger-ui-bundle.js", "/static/vendor/swagger-ui/swagger-ui.css",
            "/openapi.json"} <= loaded, loaded

    # A project: its amounts with their currency, its owner by name (with the role), linked.
    assert page.goto(f"{server_url}{PROJECT}").status == 200
    assert page.title() == PROJECT_TITLE
    text = page.locator("main").inner_text().replace("\xa0", " ")
    assert "286 275 SEK" in text and "381 700 SEK" in text
    owner_row = page.locator("table.nested tr", has_text="project owner")
    assert owner_row.count() == 1 and OWNER in owner_row.inner_text()
    assert owner_row.locator("a").first.get_attribute("href") == ORGANISATION
    assert "_:" not in text and "/amount/" not in text and "/participation/" not in text

    # The owner's page: the projects it takes part in, by title, with the roles; the link leads back.
    owner_row.locator("a").first.click()
    page.wait_for_load_state()
    assert page.title() == OWNER
    projects = page.locator("table.projects")
    assert PROJECT_TITLE in projects.inner_text()
    roles = projects.locator("td ul li").all_inner_texts()
    assert roles == ["project owner", "co-financier"], roles  # the owner's role first
    assert projects.locator("a", has_text=PROJECT_TITLE).get_attribute("href") == PROJECT

    # The dataset description opens as a page (it used to be a download).
    with page.expect_navigation():
        page.locator("header a", has_text="VoID").click()
    assert page.locator("h1").inner_text() == "Dataset description"

    assert not errors, errors
    assert not failed, f"requests that failed: {failed}"
    assert requested, "no request was recorded"
    assert not outside_hosts(requested), f"the pages asked for other hosts: {outside_hosts(requested)}"


# --- negotiation of the descriptions -------------------------------------------------------------

@pytest.mark.parametrize("path", DESCRIPTIONS)
def test_descriptions_are_pages_for_a_browser(client: httpx.Client, path: str) -> None:
    response = _get(client, path, headers={"accept": BROWSER})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "accept" in response.headers.get("vary", "").lower()
    assert "<script" not in response.text.lower()  # readable without JavaScript
    assert not re.search(r'<(?:link|img|script|iframe)[^>]+(?:src|href)="https?:', response.text)


@pytest.mark.parametrize("media_type", list(RDF_TYPES))
@pytest.mark.parametrize("path", DESCRIPTIONS)
def test_descriptions_are_rdf_by_accept(client: httpx.Client, path: str, media_type: str) -> None:
    response = _get(client, path, headers={"accept": media_type})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(media_type)
    assert len(parse_rdf(response.content, RDF_TYPES[media_type])) > 5


def test_project_page_reads_as_values(client: httpx.Client) -> None:
    """Amounts as value and currency, participations as organisation and role, terms linked to the ontology page."""
    page = client.get(PROJECT, headers={"accept": BROWSER}).text
    text = _text(page)
    assert "kg:grantedAmount 286 275 SEK" in text and "kg:totalBudget 381 700 SEK" in text
    assert f"{OWNER} project owner" in text
    links = set(re.findall(r'href="([^"]+)"', page))
    assert {"/ontology#Project", "/ontology#owner", "/ontology#partner", "/ontology#grantedAmount",
            ORGANISATION} <= links, links
    assert not any("/amount/" in link or "/participation/" in link for link in links)
    assert "<script" not in page.lower()
    # The ontology page has the entries these links lead to.
    ontology = client.get("/ontology", headers={"accept": BROWSER}).text
    assert all(f'id="{term}"' in ontology for term in ("Project", "owner", "partner", "grantedAmount"))


def test_description_pages_show_the_graph(client: httpx.Client) -> None:
    void = _get(client, "/.well-known/void", headers={"accept": BROWSER}).text
    turtle = _get(client, "/.well-known/void", headers={"accept": "text/turtle"}).content
    titles = {t.object.value for t in parse(turtle, format=RdfFormat.TURTLE) if t.predicate == NamedNode(DCT + "title")}
    assert titles and all(title in _text(void) for title in titles)
    assert 'href="/dumps/kgbuild.ttl.gz"' in void or "kgbuild.ttl.gz" in void
    for name, key in (("Turtle", "ttl"), ("JSON-LD", "jsonld")):
        assert f'<a href="/.well-known/void?format={key}">{name}</a>' in void
    assert _get(client, "/.well-known/void?format=jsonld").headers["content-type"].startswith("application/ld+json")
    service = client.get("/sparql", headers={"accept": BROWSER}).text
    assert "sd:SPARQL11Query" in service and "Read-only. Per-query deadline" in service
    assert 'href="#sparql-dataset"' in service  # a node described on the page links to its section
    assert client.get("/sparql?format=ttl").headers["content-type"].startswith("text/turtle")
    # A query is still a query, whatever a browser accepts.
    answer = client.get("/sparql", params={"query": "ASK {}"}, headers={"accept": BROWSER})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/sparql-results")


# --- the static files ----------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "media_type"), [
    ("/static/vendor/swagger-ui/swagger-ui-bundle.js", "javascript"),
    ("/static/vendor/swagger-ui/swagger-ui.css", "text/css"),
    ("/static/vendor/swagger-ui/favicon-32x32.png", "image/png"),
    ("/static/page.js", "javascript"),
])
def test_static_files_are_typed_cached_and_read_only(client: httpx.Client, path: str, media_type: str) -> None:
    response = client.get(path)
    assert response.status_code == 200 and media_type in response.headers["content-type"]
    assert response.headers["cache-control"] == "public, max-age=86400"
    assert response.headers["x-content-type-options"] == "nosniff"
    again = client.get(path, headers={"if-none-match": response.headers["etag"]})
    assert again.status_code == 304 and again.headers["cache-control"] == "public, max-age=86400"
    for method in ("POST", "PUT", "DELETE"):
        assert client.request(method, path, content=b"x").status_code == 405


def test_static_files_stay_in_their_folder(client: httpx.Client) -> None:
    for path in ("/static/../app.py", "/static/%2e%2e/app.py", "/static/..%2fapp.py", "/static/vendor/../../pages.py"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert b"import" not in response.content


def test_api_page_names_no_other_host(client: httpx.Client) -> None:
    page = client.get("/api")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(s.startswith("/") for s in sources), sources
    assert "cdn" not in page.text and '"validatorUrl": null' in page.text
    assert "<noscript>" in page.text
    assert "/api" not in client.get("/openapi.json").json()["paths"]


# --- escaping --------------------------------------------------------------------------------------

HOSTILE_TITLE = '<script>alert("title")</script> & "Skol" <b>'
HOSTILE_OWNER = "<img src=x onerror=alert(1)> AB"


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The bundled corpus with one project's title and owner rewritten into markup, built and served."""
    sources = tmp_path_factory.mktemp("hostile-sources")
    for path in default_sources():
        shutil.copy(path, sources / path.name)
    text_file = next(sources.glob("001_*.txt"))
    text = text_file.read_text(encoding="utf-8")
    assert "Värmlands Skolsamverkan" in text and "KARLSTADS KOMMUN" in text
    text_file.write_text(text.replace("Värmlands Skolsamverkan", HOSTILE_TITLE)
                         .replace("KARLSTADS KOMMUN", HOSTILE_OWNER), encoding="utf-8")
    store = tmp_path_factory.mktemp("hostile") / "kgstore"
    assert build(sorted(sources.glob("*.txt")), store, Iris(BASE)).ok
    with running_server(make_settings(store)) as url:
        yield url


def test_text_from_the_sources_is_escaped(hostile_server: str) -> None:
    with httpx.Client(base_url=hostile_server, timeout=30) as client:
        project = client.get("/id/project/22-010-S04", headers={"accept": BROWSER})
        assert project.status_code == 200
        owners = {t.object.value for t in parse(client.get("/id/project/22-010-S04.nt").content,
                                                   format=RdfFormat.N_TRIPLES)
                  if t.predicate == NamedNode(KG + "participant")}
        assert owners
        owner = client.get("/id/" + quote(next(iter(owners)).removeprefix(BASE + "id/"), safe="/"),
                           headers={"accept": BROWSER})
        assert owner.status_code == 200
        for page in (project.text, owner.text):
            assert "<script>" not in page and "<img" not in page and "<b>" not in page
        assert "&lt;script&gt;alert(&quot;title&quot;)&lt;/script&gt;" in project.text
        assert f"<title>{HOSTILE_TITLE.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')}" \
               .replace('"', "&quot;") in project.text
        assert "&lt;img src=x onerror=alert(1)&gt; AB" in project.text  # the owner's name, in the participations
        assert "&lt;script&gt;" in owner.text and "&lt;img src=x" in owner.text  # its project, by title


def test_the_renderer_escapes_labels_iris_and_literals() -> None:
    base = "http://x.org/"
    subject, other = NamedNode(base + "id/a"), NamedNode("http://evil.example/?a=1&b='x'")
    triples = [Triple(subject, NamedNode(DCT + "title"), Literal("</title><script>1</script>")),
               Triple(subject, NamedNode(RDFS + "seeAlso"), other),
               Triple(other, NamedNode(RDFS + "label"), Literal("<iframe>"))]
    resource, graph = resource_page(subject.value, triples, base), graph_page("<h1>", triples, base)
    for page in (resource, graph):
        assert "<script>" not in page and "<iframe>" not in page and "<h1><h1>" not in page
        assert "&lt;iframe&gt;" in page
    assert 'href="http://evil.example/?a=1&amp;b=&#x27;x&#x27;"' in resource
    assert re.findall(r'<section id="([^"]*)"', graph) == ["id-a", "http-evil-example-a-1-b-x"]  # letters and dashes

