"""The query worker pool with real worker processes over the bundled store: several queries per worker,
each answer to its own job, and a worker killed at one query's deadline does not lose the others."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from pyoxigraph import QueryResultsFormat

from kgbuild.server.workers import Answer, Job, WorkerPool
from tests.server.test_federation import Recorder

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
    """A query on the worker killed at another query's deadline is run again on a new worker, within its own.

    It must still be running when the runaway's worker is killed, however fast the machine: it waits on a
    SERVICE endpoint that answers only when told to, and is told once the query has been sent again from
    the new worker. It starts half a deadline after the runaway, so half a deadline is left for the new
    worker to start and send it again.
    """
    timeout = 10.0

    async def scenario(endpoint: Recorder) -> tuple[Answer, Answer, int, int]:
        pool = WorkerPool(bundled_store, size=1, timeout=timeout, slots=2)  # one worker: they share it
        await pool.start()
        try:
            runaway = asyncio.ensure_future(pool.run(Job(CARTESIAN, JSON, 10)))
            await asyncio.sleep(timeout / 2)
            waiting = Job(f"SELECT ?s {{ SERVICE <{endpoint.url}sparql> {{ ?s ?p ?o }} }}", JSON, 10, federated=True)
            other = asyncio.ensure_future(pool.run(waiting))
            while endpoint.seen()[1] < 2 and not other.done():  # sent from the first worker, then from the new one
                await asyncio.sleep(0.05)
            endpoint.release()
            return await runaway, await other, pool.killed, pool.restarted
        finally:
            await pool.close()

    with Recorder(hang=120) as endpoint:
        runaway, other, killed, restarted = asyncio.run(scenario(endpoint))
        sent = endpoint.seen()[1]
    assert runaway.status == 503 and "deadline" in runaway.error, runaway
    assert other.status == 200, other
    assert [b["s"]["value"] for b in json.loads(other.body)["results"]["bindings"]] == ["http://example.org/recorded"]
    assert (killed, restarted, sent) == (1, 1, 2)


def test_a_slot_of_a_worker_killed_before_its_job_was_sent_is_chosen_again(bundled_store: Path) -> None:
    """The race the soak found: a job chose a slot, another job's deadline killed that worker, then the
    first job was handed over. It waited on the dead worker until its own deadline; now it chooses again."""
    timeout = 3.0

    async def scenario() -> tuple[Answer, Answer, float]:
        pool = WorkerPool(bundled_store, size=1, timeout=timeout, slots=2)
        await pool.start()
        try:
            chosen = await pool._slot(time.monotonic() + timeout)  # the first job's slot, its worker alive
            assert chosen is not None
            runaway = await pool.run(Job(CARTESIAN, JSON, 10))  # takes the other slot; killed at the deadline
            started = time.monotonic()
            handed_over = await pool._exchange(chosen, Job(SLOW_ISH, JSON, 10), started + timeout)
            return runaway, handed_over, time.monotonic() - started
        finally:
            await pool.close()

    runaway, handed_over, waited = asyncio.run(scenario())
    assert runaway.status == 503 and "deadline" in runaway.error
    assert handed_over.status == 503 and "another query's deadline" in handed_over.error  # run() retries it
    assert waited < 1.0
