"""The query worker pool with real worker processes over the bundled store: several queries per worker,
each answer to its own job, a worker killed at one query's deadline does not lose the others, and a long
answer streams whole, never more than a window ahead of its reader, or ends aborted."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from pyoxigraph import QueryResultsFormat

from kgbuild.server.answers import WINDOW, Answer, AnswerAborted, Job, Streamed
from kgbuild.server.workers import WorkerPool
from tests.server.conftest import local_count
from tests.server.test_federation import Recorder

JSON = QueryResultsFormat.JSON.name
CARTESIAN = "SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"  # never ends on the bundled store
SLOW_ISH = "SELECT (COUNT(*) AS ?n) { ?a a ?t . ?b a ?u }"  # about a second on the bundled store
EVERYTHING = "SELECT * { ?s ?p ?o }"  # a few MB of JSON on the bundled store: streamed
MAX = 1 << 30


def _count(answer: Answer | Streamed) -> int:
    assert isinstance(answer, Answer) and answer.status == 200, answer
    return int(json.loads(answer.body)["results"]["bindings"][0]["n"]["value"])


def test_one_worker_runs_several_queries_each_answered_to_its_own_job(bundled_store: Path) -> None:
    async def scenario() -> list[Answer | Streamed]:
        pool = WorkerPool(bundled_store, size=1, timeout=30.0, slots=4)
        await pool.start()
        try:
            jobs = [Job(f"SELECT ({number} AS ?n) {{}}", JSON, MAX) for number in range(12)]
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

    async def scenario(endpoint: Recorder) -> tuple[Answer | Streamed, Answer | Streamed, int, int]:
        pool = WorkerPool(bundled_store, size=1, timeout=timeout, slots=2)  # one worker: they share it
        await pool.start()
        try:
            runaway = asyncio.ensure_future(pool.run(Job(CARTESIAN, JSON, MAX)))
            await asyncio.sleep(timeout / 2)
            waiting = Job(f"SELECT ?s {{ SERVICE <{endpoint.url}sparql> {{ ?s ?p ?o }} }}", JSON, MAX, federated=True)
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
    assert isinstance(runaway, Answer) and runaway.status == 503 and "deadline" in runaway.error, runaway
    assert isinstance(other, Answer) and other.status == 200, other
    assert [b["s"]["value"] for b in json.loads(other.body)["results"]["bindings"]] == ["http://example.org/recorded"]
    assert (killed, restarted, sent) == (1, 1, 2)


def test_a_slot_of_a_worker_killed_before_its_job_was_sent_is_chosen_again(bundled_store: Path) -> None:
    """The race the soak found: a job chose a slot, another job's deadline killed that worker, then the
    first job was handed over. It waited on the dead worker until its own deadline; now it chooses again."""
    timeout = 3.0

    async def scenario() -> tuple[Answer | Streamed, object]:
        pool = WorkerPool(bundled_store, size=1, timeout=timeout, slots=2)
        await pool.start()
        try:
            chosen = await pool._slot(time.monotonic() + timeout)  # the first job's slot, its worker alive
            assert chosen is not None
            runaway = await pool.run(Job(CARTESIAN, JSON, MAX))  # takes the other slot; killed at the deadline
            handed_over = pool._start(chosen, Job(SLOW_ISH, JSON, MAX), time.monotonic() + timeout)
            return runaway, handed_over
        finally:
            await pool.close()

    runaway, handed_over = asyncio.run(scenario())
    assert isinstance(runaway, Answer) and runaway.status == 503 and "deadline" in runaway.error
    assert handed_over is None  # not sent to the dead worker: run() chooses again


def _rows(body: bytes) -> int:
    return len(json.loads(body)["results"]["bindings"])


def test_a_long_answer_streams_whole_and_its_writer_stays_within_the_window(bundled_store: Path) -> None:
    async def scenario() -> tuple[bytes, int]:
        pool = WorkerPool(bundled_store, size=1, timeout=30.0, slots=2)
        await pool.start()
        try:
            answer = await pool.run(Job(EVERYTHING, JSON, MAX))
            assert isinstance(answer, Streamed), answer
            await asyncio.sleep(2.0)  # the reader takes nothing: the writer waits for room
            waiting = answer.exchange.messages.qsize()
            return b"".join([chunk async for chunk in answer.chunks()]), waiting
        finally:
            await pool.close()

    body, waiting = asyncio.run(scenario())
    assert _rows(body) == local_count(bundled_store)
    assert 0 < waiting <= WINDOW


def test_an_answer_past_its_size_bound_is_refused_before_it_starts_or_aborted_after(bundled_store: Path) -> None:
    async def scenario(max_bytes: int) -> Answer | bytes | AnswerAborted:
        pool = WorkerPool(bundled_store, size=1, timeout=30.0, slots=1)
        await pool.start()
        try:
            answer = await pool.run(Job(EVERYTHING, JSON, max_bytes))
            if isinstance(answer, Answer):
                return answer
            got = b""
            try:
                async for chunk in answer.chunks():
                    got += chunk
            except AnswerAborted as exc:
                assert len(got) <= max_bytes
                return exc
            return got
        finally:
            await pool.close()

    small = asyncio.run(scenario(100_000))
    assert isinstance(small, Answer) and small.status == 413 and "100000 bytes" in small.error
    large = asyncio.run(scenario(1_500_000))  # more than is sent whole: the answer had begun
    assert isinstance(large, AnswerAborted) and "1500000 bytes" in str(large)


def test_a_streaming_query_past_its_deadline_is_stopped_without_killing_its_worker(bundled_store: Path) -> None:
    """A slow reader: the writer waits for room, the deadline passes, the job is told to stop and its slot
    comes back; the worker and its other queries live on."""
    timeout = 5.0  # the first MiB of the answer comes well within it, on a loaded machine too

    async def scenario() -> tuple[AnswerAborted | None, Answer | Streamed, int, bool]:
        pool = WorkerPool(bundled_store, size=1, timeout=timeout, slots=1)  # one slot: the next job needs it back
        await pool.start()
        try:
            (worker,) = pool._all
            answer = await pool.run(Job(EVERYTHING, JSON, MAX))
            assert isinstance(answer, Streamed), answer
            await asyncio.sleep(timeout * 1.5)
            aborted = None
            try:
                async for _ in answer.chunks():
                    pass
            except AnswerAborted as exc:
                aborted = exc
            after = await pool.run(Job("SELECT (1 AS ?n) {}", JSON, MAX))
            return aborted, after, pool.killed, worker.alive and pool._all == {worker}
        finally:
            await pool.close()

    aborted, after, killed, same_worker = asyncio.run(scenario())
    assert aborted is not None and "deadline" in str(aborted)
    assert isinstance(after, Answer) and _count(after) == 1
    assert killed == 1 and same_worker


@pytest.mark.parametrize("reader", ["stops reading", "goes away before the answer starts"])
def test_a_reader_that_goes_away_gives_its_slot_back(bundled_store: Path, reader: str) -> None:
    async def scenario() -> Answer | Streamed:
        pool = WorkerPool(bundled_store, size=1, timeout=30.0, slots=1)
        await pool.start()
        try:
            if reader == "stops reading":
                answer = await pool.run(Job(EVERYTHING, JSON, MAX))
                assert isinstance(answer, Streamed)
                chunks = answer.chunks()
                await anext(chunks)
                await chunks.aclose()
            else:
                task = asyncio.ensure_future(pool.run(Job(EVERYTHING, JSON, MAX)))
                await asyncio.sleep(0.05)
                task.cancel()
            return await asyncio.wait_for(pool.run(Job("SELECT (1 AS ?n) {}", JSON, MAX)), 20)
        finally:
            await pool.close()

    after = asyncio.run(scenario())
    assert isinstance(after, Answer) and _count(after) == 1
