"""The answer cache: bounded, keyed by store generation, never used for federated queries."""

from __future__ import annotations

import gc

import httpx

from kgbuild.server.answers import Answer
from kgbuild.server.cache import AnswerCache


def test_cache_is_bounded_and_least_recently_used_goes_first() -> None:
    cache = AnswerCache(max_bytes=10, max_entry_bytes=6)
    cache.put("a", Answer(200, b"aaaa"))
    cache.put("b", Answer(200, b"bbbb"))
    assert cache.get("a") is not None  # a is now the most recent
    cache.put("c", Answer(200, b"cccc"))  # 12 bytes > 10: b goes
    assert cache.get("b") is None and cache.get("a") is not None and cache.get("c") is not None
    cache.put("big", Answer(200, b"x" * 7))
    cache.put("error", Answer(400, b"e", error="bad"))
    assert cache.get("big") is None and cache.get("error") is None


def test_repeated_query_is_served_from_the_cache(server_url: str) -> None:
    query = {"query": "SELECT (COUNT(*) AS ?n) { ?s a ?c } # cache test"}
    before = httpx.get(server_url + "/healthz").json()["answer_cache"]
    first = httpx.get(server_url + "/sparql", params=query)
    second = httpx.get(server_url + "/sparql", params=query)
    after = httpx.get(server_url + "/healthz").json()["answer_cache"]
    assert first.status_code == second.status_code == 200 and first.content == second.content
    assert after["hits"] >= before["hits"] + 1


def test_entries_are_left_out_of_the_garbage_collectors_walks() -> None:
    # A full cache holds thousands of entries: as tracked objects they made every full collection a
    # pause of 50-120 ms for every request in flight.
    cache = AnswerCache()
    key = ("gen-000001", "SELECT * { ?s ?p ?o }", "JSON", 1024, ("http://example.org/g",), False)
    cache.put(key, Answer(200, b"body", generation="gen-000001"))
    gc.collect()
    assert not any(gc.is_tracked(kept) for pair in cache._entries.items() for kept in pair)
    answer = cache.get(key)
    assert answer is not None and (answer.status, answer.body, answer.generation) == (200, b"body", "gen-000001")
