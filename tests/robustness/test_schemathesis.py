"""Schemathesis against the live server's OpenAPI description: no request it generates gets a 5xx.

The description is the one the server serves at ``/openapi.json``: it names each operation once and
lists the SPARQL Protocol's parameters (``query``, ``default-graph-uri``, ``named-graph-uri``,
``format``; a form or an ``application/sparql-query`` body), so they are fuzzed too. Half the cases
carry a real query (one of ``SAMPLE_QUERIES``), so that queries also run, not only get refused.

Bounded: a fixed number of examples per operation, a 10 s query deadline, a client timeout.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error

from tests.robustness.conftest import examples
from tests.server.conftest import BASE, make_settings, running_server

SAMPLE_QUERIES = [
    "SELECT * WHERE { ?s ?p ?o } LIMIT 3",
    f"ASK {{ <{BASE}id/project/22-010-S04> ?p ?o }}",
    "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 3",
    f"DESCRIBE <{BASE}id/organisation/municipality/1780>",
    "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }",
    "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }",
    "INSERT DATA { <urn:a> <urn:b> <urn:c> }",
]


@pytest.fixture(scope="module")
def served_url(bundled_store: Path) -> Iterator[str]:
    """The server, once its dumps are made: until then ``/dumps/`` answers 503 + Retry-After by design, and
    on a loaded machine the fuzzer can reach it before the background dump maker (at nice 10) is done."""
    with running_server(make_settings(bundled_store, query_timeout=10.0, max_result_bytes=200_000)) as url:
        ready_by = time.monotonic() + 300  # generous: a bound on a stuck dump maker, not on the machine's speed
        while (index := httpx.get(f"{url}/dumps/", timeout=30)).status_code != 200:
            assert index.status_code == 503 and index.headers.get("retry-after"), index.text
            assert time.monotonic() < ready_by, "the dumps were not made within 300 s"
            time.sleep(0.2)
        yield url


@pytest.fixture(scope="module")
def served_description(served_url: str) -> dict[str, Any]:
    response = httpx.get(f"{served_url}/openapi.json", timeout=30)
    assert response.status_code == 200, response.text
    description: dict[str, Any] = response.json()
    return description


def _use_query(case: Any, text: str) -> None:
    if case.method == "GET":
        case.query = {**(case.query or {}), "query": text}
    elif isinstance(case.body, dict):
        case.body = {**case.body, "query": text}
    else:
        case.body = text


@pytest.fixture(scope="module")
def seen(served_url: str, served_description: dict[str, Any]) -> Counter[tuple[str, int]]:
    """Every operation fuzzed (``examples(25)`` cases each); the (operation, status) of each answer.

    Any 5xx is a failure, named with the request that caused it (the check's message says how to send
    it again). The cases run inside one Hypothesis test per operation: schemathesis' own pytest
    integration does not yet work with this pytest.
    """
    api = schemathesis.openapi.from_dict(served_description)
    api.config.update(base_url=served_url, request_timeout=30)
    counted: Counter[tuple[str, int]] = Counter()
    for result in api.get_all_operations():
        operation = result.ok()

        @settings(max_examples=examples(25), database=None)
        @given(case=operation.as_strategy(), real=st.one_of(st.none(), st.sampled_from(SAMPLE_QUERIES)))
        def fuzz(case: Any, real: str | None) -> None:
            if real is not None and case.operation.path == "/sparql":
                _use_query(case, real)  # half the time a real query, so that queries also run
            response = case.call()
            counted[(case.operation.label, response.status_code)] += 1
            case.validate_response(response, checks=[not_a_server_error])
            assert "Traceback" not in response.text

        fuzz()
    return counted


def test_no_generated_request_gets_a_server_error(seen: Counter[tuple[str, int]]) -> None:
    assert not [key for key in seen if key[1] >= 500], seen


def test_the_fuzzer_reached_every_operation_and_the_sparql_protocol(seen: Counter[tuple[str, int]],
                                                                   served_description: dict[str, Any]) -> None:
    """The control: the run above really sent requests to each operation, and queries that run (200)."""
    labels = {label for label, _ in seen}
    assert len(labels) >= sum(len(ops) for ops in served_description["paths"].values()), labels
    assert seen[("GET /sparql", 200)] + seen[("POST /sparql", 200)] > 0, seen
    assert any(status == 400 for label, status in seen if label.endswith("/sparql")), seen


def test_the_description_names_each_operation_once(served_description: dict[str, Any]) -> None:
    ids = Counter(op.get("operationId") for ops in served_description["paths"].values() for op in ops.values())
    assert [name for name, count in ids.items() if count > 1] == []


def test_the_description_documents_the_protocol_parameters(served_description: dict[str, Any]) -> None:
    operations = served_description["paths"]["/sparql"]
    assert {p["name"] for p in operations["get"]["parameters"]} == {
        "query", "default-graph-uri", "named-graph-uri", "format"}
    assert set(operations["post"]["requestBody"]["content"]) == {
        "application/x-www-form-urlencoded", "application/sparql-query"}
