"""The query worker pool with real worker processes over the bundled store: several queries per worker,
each answer to its own job, and a worker killed at one query's deadline does not lose the others."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from pyoxigraph import QueryResultsFormat

from kgbuild.server.workers import Answer, Job, WorkerPool

JSON = QueryResultsFormat.JSON.name
CARTESIAN = "SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"  # never ends on the bundled store
SLOW_ISH = "SELECT (COUNT(*) AS ?n) { ?a a ?t . ?b a ?u }"  # about a second on the bundled store


def _count(answer: Answer) -> int:
    assert answer.status == 200, answer.error
    return int(json.loads(answer.body)["results"]["bindings"][0]["n"]["value"])


def test_one_worker_runs_several_queries_each_answered_to_its_own_job(bundled_store: Path) -> None:
    async def scenario() -> list[Answer]:
        pool = WorkerPool(bundled_store, size=1, timeout=30.0, slots=4)
        await pool.start()
        try:
            jobs = [Job(f"SELECT ({number} AS ?n) {{}}", JSON, 10) for number in range(12)]
            return list(await asyncio.gather(*(pool.run(job) for job in jobs)))
        finally:
            await pool.close()

    answers = asyncio.run(scenario())
    assert [_count(answer) for answer in answers] == list(range(12))


def test_queries_sharing_a_worker_with_a_runaway_are_restarted_elsewhere(bundled_store: Path) -> None:
    timeout = 6.0

    async def scenario() -> tuple[Answer, Answer, int, int]:
        pool = WorkerPool(bundled_store, size=1, timeout=timeout, slots=2)  # one worker: they share it
        await pool.start()
        try:
            alone = _count(await pool.run(Job(SLOW_ISH, JSON, 10)))
            runaway = asyncio.ensure_future(pool.run(Job(CARTESIAN, JSON, 10)))
            await asyncio.sleep(timeout - 0.3)  # still running when the runaway's worker is killed
            other = await pool.run(Job(SLOW_ISH + " # the same work, another text", JSON, 10))
            assert _count(other) == alone
            return await runaway, other, pool.killed, pool.restarted
        finally:
            await pool.close()

    runaway, other, killed, restarted = asyncio.run(scenario())
    assert runaway.status == 503 and "deadline" in runaway.error, runaway
    assert other.status == 200
    assert (killed, restarted) == (1, 1)
