"""What harvesters and download tools get, over a real server: HEAD, ranges, validators, a DCAT-AP catalogue.

HEAD answers every GET route with the GET's headers and no body; a dump comes with its length, its
SHA-256 as ETag and its modification time, in ranges and conditionally; ``/dumps/`` and the
description follow the current generation from the first request; and the description passes the
official DCAT-AP 3.0.1 SHACL shapes (``tests/data/dcat-ap/``).
"""

from __future__ import annotations

import hashlib
import shutil
import time
from collections.abc import Iterator
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path

import httpx
import pyshacl
import pytest
import rdflib
from fastapi.routing import APIRoute
from rdflib.namespace import SH
from starlette.routing import Route

from kgbuild.iris import Iris
from kgbuild.pipeline import build
from kgbuild.server.app import create_app
from kgbuild.sources import default_sources
from tests.server.conftest import BASE, make_settings, running_server

DCAT_AP = Path(__file__).parents[1] / "data" / "dcat-ap"
DUMP = "kgbuild.nt.gz"
SPDX = "http://spdx.org/rdf/terms#"
# A concrete request for each templated route.
CONCRETE = {"/id/{path:path}": "/id/project/22-010-S04", "/dumps/{name}": f"/dumps/{DUMP}",
            "/sparql": "/sparql?query=ASK%7B%7D", "/ldes/{page}": "/ldes/0"}
# Headers that may differ between two answers to the same request.
VOLATILE = {"date"}


@pytest.fixture(scope="module")
def client(server_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server_url, timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def dump(client: httpx.Client) -> bytes:
    """The N-Triples dump, once the server has made it (polled, so that each test here fails for its own reason:
    the first request getting the dumps is the test of freshness below)."""
    deadline = time.monotonic() + 60
    while client.get("/dumps/").status_code == 503:
        assert time.monotonic() < deadline, "the dumps were not ready within 60 s"
        time.sleep(0.2)
    response = client.get(f"/dumps/{DUMP}")
    assert response.status_code == 200, response.text
    return response.content


def _get_paths(bundled_store: Path) -> list[str]:
    """A request path for every route that answers GET, read from the application itself, and a static file."""
    paths = {"/static/index.html"}
    for route in create_app(make_settings(bundled_store)).routes:
        if isinstance(route, (APIRoute, Route)) and "GET" in (route.methods or ()):
            paths.add(CONCRETE.get(route.path, route.path))
    return sorted(paths)


def test_head_answers_every_get_route_with_the_get_headers_and_no_body(
        client: httpx.Client, bundled_store: Path, dump: bytes) -> None:
    paths = _get_paths(bundled_store)
    assert {"/dumps/", f"/dumps/{DUMP}", "/.well-known/void", "/sparql?query=ASK%7B%7D"} <= set(paths)
    for path in paths:
        get = client.get(path)
        head = client.head(path)
        assert head.status_code == get.status_code, (path, head.status_code, get.status_code)
        assert get.status_code < 400 or path == "/docs/oauth2-redirect", (path, get.status_code)
        assert head.content == b"", path
        same = {k: v for k, v in get.headers.items() if k not in VOLATILE}
        assert {k: v for k, v in head.headers.items() if k not in VOLATILE} == same, path
        if "content-length" in get.headers:
            assert int(head.headers["content-length"]) == len(get.content), path


def test_a_dump_carries_its_length_checksum_and_modification_time(client: httpx.Client, dump: bytes) -> None:
    response = client.get(f"/dumps/{DUMP}")
    assert response.content == dump
    assert response.headers["content-length"] == str(len(dump))
    assert response.headers["etag"] == f'"{hashlib.sha256(dump).hexdigest()}"'
    assert response.headers["accept-ranges"] == "bytes"
    assert parsedate_to_datetime(response.headers["last-modified"]).timestamp() <= time.time()
    sums = client.get("/dumps/", headers={"accept": "application/json"}).json()["files"]
    assert {"name": DUMP, "bytes": len(dump), "sha256": hashlib.sha256(dump).hexdigest()} in sums


@pytest.mark.parametrize("header, start, end", [
    ("bytes=0-99", 0, 100), ("bytes=100-", 100, None), ("bytes=-50", -50, None), ("bytes=7-7", 7, 8)])
def test_a_range_of_a_dump_is_those_bytes(client: httpx.Client, dump: bytes, header: str, start: int,
                                          end: int | None) -> None:
    response = client.get(f"/dumps/{DUMP}", headers={"range": header})
    expected = dump[start:end]
    assert response.status_code == 206, response.text
    assert response.content == expected
    assert response.headers["content-length"] == str(len(expected))
    first = start if start >= 0 else len(dump) + start
    assert response.headers["content-range"] == f"bytes {first}-{first + len(expected) - 1}/{len(dump)}"
    head = client.head(f"/dumps/{DUMP}", headers={"range": header})
    assert head.status_code == 206 and head.content == b""
    assert head.headers["content-range"] == response.headers["content-range"]


def test_an_unsatisfiable_range_is_416_and_a_range_of_another_version_the_whole_dump(
        client: httpx.Client, dump: bytes) -> None:
    response = client.get(f"/dumps/{DUMP}", headers={"range": f"bytes={len(dump)}-"})
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{len(dump)}"
    etag = f'"{hashlib.sha256(dump).hexdigest()}"'
    resumed = client.get(f"/dumps/{DUMP}", headers={"range": "bytes=0-9", "if-range": etag})
    assert resumed.status_code == 206 and resumed.content == dump[:10]
    # A download resumed from another version of the dump gets the whole of this one.
    response = client.get(f"/dumps/{DUMP}", headers={"range": "bytes=0-9", "if-range": '"an-older-version"'})
    assert response.status_code == 200 and response.content == dump


def test_conditional_requests_for_a_dump(client: httpx.Client, dump: bytes) -> None:
    etag = f'"{hashlib.sha256(dump).hexdigest()}"'
    last_modified = client.head(f"/dumps/{DUMP}").headers["last-modified"]
    for headers in ({"if-none-match": etag}, {"if-none-match": f'"other", W/{etag}'}, {"if-none-match": "*"},
                    {"if-modified-since": last_modified},
                    {"if-modified-since": formatdate(time.time() + 60, usegmt=True)}):
        for method in ("GET", "HEAD"):
            response = client.request(method, f"/dumps/{DUMP}", headers=headers)
            assert response.status_code == 304, (method, headers)
            assert response.content == b"" and response.headers["etag"] == etag, headers
    for headers in ({"if-none-match": '"other"'}, {"if-modified-since": "Thu, 01 Jan 1970 00:00:00 GMT"},
                    {"if-modified-since": "not a date"},
                    # If-None-Match decides when both are sent.
                    {"if-none-match": '"other"', "if-modified-since": last_modified}):
        response = client.get(f"/dumps/{DUMP}", headers=headers)
        assert response.status_code == 200 and response.content == dump, headers


def _description_shapes() -> rdflib.Graph:
    """The DCAT-AP 3.0.1 shapes, both files, as published.

    They name five property shapes they never define (SEMICeu/DCAT-AP issue 448: two of the data
    service's, for instance); a SHACL processor refuses such a shapes graph, so those five references,
    and nothing else, are left out.
    """
    shapes = rdflib.Graph()
    for name in ("dcat-ap-3.0.1-SHACL.ttl", "dcat-ap-3.0.1-ranges.ttl"):
        shapes.parse(DCAT_AP / name, format="turtle")
    undefined = [(shape, value) for shape, value in shapes.subject_objects(SH.property)
                 if (value, None, None) not in shapes]
    assert len(undefined) == 5, undefined  # the files as published; a new release would change this
    for shape, value in undefined:
        shapes.remove((shape, SH.property, value))
    return shapes


def test_the_description_conforms_to_dcat_ap_3(client: httpx.Client, dump: bytes) -> None:
    response = client.get("/.well-known/void", headers={"accept": "text/turtle"})
    assert response.status_code == 200
    data = rdflib.Graph().parse(data=response.content, format="turtle")
    conforms, _, report = pyshacl.validate(data, shacl_graph=_description_shapes(), inference="none")
    assert conforms, report
    dcat = rdflib.Namespace("http://www.w3.org/ns/dcat#")
    # Everything a DCAT-AP harvester looks for is there to be checked, not absent.
    [catalogue] = data.subjects(rdflib.RDF.type, dcat.Catalog)
    [dataset] = data.objects(catalogue, dcat.dataset)
    services = {str(s): s for s in data.objects(catalogue, dcat.service)}
    assert set(services) == {BASE + "sparql#service", BASE + "ldes#service"}  # the endpoint and the change feed
    for service in services.values():
        assert (service, rdflib.RDF.type, dcat.DataService) in data
        assert (service, dcat.servesDataset, dataset) in data
    assert (services[BASE + "sparql#service"], dcat.endpointURL, rdflib.URIRef(BASE + "sparql")) in data
    assert (services[BASE + "ldes#service"], dcat.endpointURL, rdflib.URIRef(BASE + "ldes")) in data
    distributions = set(data.objects(dataset, dcat.distribution))
    assert len(distributions) == 5
    [nt] = [d for d in distributions if str(d).endswith(DUMP)]
    [checksum] = data.objects(nt, rdflib.URIRef(SPDX + "checksum"))
    assert (checksum, rdflib.URIRef(SPDX + "algorithm"), rdflib.URIRef(SPDX + "checksumAlgorithm_sha256")) in data
    [value] = data.objects(checksum, rdflib.URIRef(SPDX + "checksumValue"))
    assert str(value) == hashlib.sha256(dump).hexdigest()
    assert value.datatype == rdflib.XSD.hexBinary  # type: ignore[union-attr]
    assert (nt, dcat.mediaType, rdflib.URIRef("https://www.iana.org/assignments/media-types/application/n-triples")) \
        in data
    assert (nt, rdflib.DCTERMS.format,
            rdflib.URIRef("http://publications.europa.eu/resource/authority/file-type/RDF_N_TRIPLES")) in data


def _generation_and_sums(client: httpx.Client) -> tuple[str, dict[str, str]]:
    index = client.get("/dumps/", headers={"accept": "application/json"})
    assert index.status_code == 200, index.text
    return index.json()["generation"], {f["name"]: f["sha256"] for f in index.json()["files"] if f["sha256"]}


def _described_sums(client: httpx.Client) -> dict[str, str]:
    """File name → SHA-256 as the description at ``/.well-known/void`` states them."""
    response = client.get("/.well-known/void", headers={"accept": "text/turtle"})
    assert response.status_code == 200, response.text
    data = rdflib.Graph().parse(data=response.content, format="turtle")
    sums = {}
    for distribution, checksum in data.subject_objects(rdflib.URIRef(SPDX + "checksum")):
        [value] = data.objects(checksum, rdflib.URIRef(SPDX + "checksumValue"))
        sums[str(distribution).rsplit("/", 1)[1]] = str(value)
    return sums


def test_dumps_and_description_are_current_from_the_first_request_and_after_a_rebuild(tmp_path: Path) -> None:
    sources = tmp_path / "sources"
    sources.mkdir()
    for path in default_sources():
        shutil.copy2(path, sources / path.name)
    paths = sorted(sources.glob("*.txt"))
    store = tmp_path / "kgstore"
    assert build(paths, store, Iris(BASE)).ok
    with running_server(make_settings(store)) as url, httpx.Client(base_url=url, timeout=60) as client:
        # The first request: the dumps are being made; it gets them, not a "try again".
        generation, sums = _generation_and_sums(client)
        assert generation == "gen-000001" and len(sums) == 5
        assert _described_sums(client) == sums
        # A changed source, a rebuild, and at once the dumps and the description of the new generation.
        changed = sources / "001_49fdefbf50581b3b.txt"  # the ESF+ record of project 22-010-S04: a new title
        text = changed.read_text(encoding="utf-8")
        assert "Värmlands Skolsamverkan" in text
        changed.write_text(text.replace("Värmlands Skolsamverkan", "Värmlands Skolsamverkan (reviderad)"),
                           encoding="utf-8")
        report = build(paths, store, Iris(BASE))
        assert report.ok and report.generation == "gen-000002", report
        generation, new_sums = _generation_and_sums(client)
        assert generation == "gen-000002"
        assert new_sums != sums
        assert _described_sums(client) == new_sums
        served = client.get(f"/dumps/{DUMP}")
        assert served.headers["etag"] == f'"{new_sums[DUMP]}"'
        assert hashlib.sha256(served.content).hexdigest() == new_sums[DUMP]
