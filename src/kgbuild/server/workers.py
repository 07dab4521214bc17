"""Query workers: processes that run queries, so that a deadline can stop any query.

pyoxigraph cannot cancel a running query, and a result must be consumed in the thread that made it.
So each query runs in a worker process, which opens the current store generation read-only, runs
the query over the request's dataset, and sends its answer back in chunks, never more than a few
ahead of the client (:mod:`kgbuild.server.answers`). A worker runs several queries at once, on threads
that share its open store (and so the cache of its blocks); each thread runs one query at a time. At
the deadline a query still computing is stopped by killing its worker (which is replaced; its client
gets 503, or an aborted response if its answer had begun), and the worker's other queries are started
again on another worker, within their own deadlines. Workers follow the store's ``CURRENT`` pointer
before every job, so a rebuild is picked up without a restart, while a query already running finishes
on the generation it started on.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import multiprocessing
import os
import queue
import signal
import threading
import time
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyoxigraph import Store

from kgbuild.server.answers import Answer, ChunkWriter, Credit, Exchange, Job, Streamed, collect

__all__ = ["WorkerPool"]

# How long a streaming job stopped at its deadline may take to stop on its own before its worker is killed.
CANCEL_GRACE = 2.0


def _run(store: Store, job: Job, writer: ChunkWriter, merged: bool | None = None) -> Answer:
    from kgbuild.query import dataset_for, execute
    from kgbuild.server.results import write_result
    from kgbuild.sparql import QueryInfo, QueryRefused

    # Every graph of the opened database may be seen: personal data lives in another one unless the
    # operator opted in. FROM clauses and protocol parameters only narrow the dataset.
    info = QueryInfo("SELECT", from_graphs=job.from_graphs, from_named_graphs=job.from_named_graphs)
    dataset = dataset_for(None, info, job.default_graph_uris, job.named_graph_uris)
    try:
        # Relative IRIs resolve against the endpoint (SPARQL 1.1 Protocol: the service defines the BASE).
        result = execute(store, job.query, dataset, job.base_iri + "sparql" if job.base_iri else None, merged)
        write_result(result, job.format_name, writer)
        body = writer.finish()
    except QueryRefused as exc:
        return Answer(exc.status, error=str(exc))
    except OSError as exc:
        if writer.stopped is not None:  # too large, or its reader went away: pyoxigraph wraps our error
            return writer.stopped
        if job.federated:
            return Answer(502, error=f"a federated endpoint failed: {exc}")
        return Answer(500, error=f"the store failed: {exc}")
    except (ValueError, RuntimeError, TypeError) as exc:
        return writer.stopped or Answer(400, error=f"the query could not be evaluated: {exc}")
    return Answer(200, body)


def worker_main(connection: Connection, store_dir: str, slots: int) -> None:
    """A worker process: ``slots`` threads that run jobs on one shared store, until told to stop."""
    from kgbuild.query import QUERY_STACK_BYTES

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the parent, which stops us
    # Each thread has the large stack long chains need (see QUERY_STACK_BYTES). The threads live as long
    # as the worker; one more thread reads the pipe, so that credit reaches a job waiting for it.
    threading.stack_size(QUERY_STACK_BYTES)
    worker = _WorkerLoop(connection, store_dir, slots)
    for number in range(slots):
        threading.Thread(target=worker.serve, name=f"kgbuild-query-{number}", daemon=True).start()
    threading.Thread(target=worker.receive, name="kgbuild-query-pipe", daemon=True).start()
    worker.stopped.wait()  # a job still running is dropped with the process: the parent asked us to go


class _WorkerLoop:
    """What a worker's threads share: the pipe, the open store, and each running job's credit.

    Concurrent queries read one store: one cache of its blocks, where processes each keep their own.
    Messages in: ``("job", number, job)``, ``("more", number)`` (room for one more chunk), ``("cancel",
    number)``, ``None`` (stop). Out: ``(number, chunk)`` while the answer is written, then ``(number,
    Answer)``, which carries the whole answer when it is shorter than a chunk (two messages for a small
    answer, not four).
    """

    def __init__(self, connection: Connection, store_dir: str, slots: int) -> None:
        from kgbuild.store import StoreDirectory

        self.connection = connection
        self.directory = StoreDirectory(store_dir)
        self.slots = slots
        self.jobs: queue.SimpleQueue[tuple[int, Job, Credit] | None] = queue.SimpleQueue()
        self.credits: dict[int, Credit] = {}
        self.sending = threading.Lock()
        self.opening = threading.Lock()
        self.stopped = threading.Event()
        self.store: Store | None = None
        self.merged = False  # whether the open store keeps the merge of its graphs (asked once, not per query)
        self.pointer = str(self.directory.pointer)  # (a Path made per job cost more than the stat)
        self.generation = ""
        self.stamp: tuple[int, int] | None = None  # of CURRENT when it was last read

    def receive(self) -> None:
        """Read the pipe: jobs go to the query threads, credit and cancellation to the job they are for."""
        while True:
            try:
                message = self.connection.recv()
            except (EOFError, OSError):
                message = None
            if message is None:
                self.stopped.set()
                for _ in range(self.slots):
                    self.jobs.put(None)
                return
            kind, number, *job = message
            if kind == "job":
                credit = self.credits[number] = Credit()
                self.jobs.put((number, job[0], credit))
            elif (running := self.credits.get(number)) is not None:
                running.give() if kind == "more" else running.cancel()

    def serve(self) -> None:
        """Answer jobs until told to stop."""
        while (item := self.jobs.get()) is not None:
            number, job, credit = item

            def send(chunk: bytes, number: int = number, credit: Credit = credit) -> None:
                credit.take()
                self.post((number, chunk))

            answer = self.answer(job, ChunkWriter(send, job.max_bytes))
            self.credits.pop(number, None)
            self.post((number, answer))

    def post(self, message: tuple[int, bytes | Answer]) -> None:
        with self.sending:
            try:
                self.connection.send(message)
            except (BrokenPipeError, OSError):
                self.stopped.set()

    def answer(self, job: Job, writer: ChunkWriter) -> Answer:
        from kgbuild.errors import KgbuildError

        try:
            opened = self.current_store(job.include_personal)
            if opened is None:
                return Answer(503, error="no knowledge graph has been built yet")
            store, generation, merged = opened
            answer = _run(store, job, writer, merged)
            return Answer(answer.status, answer.body, answer.error, generation)
        except KgbuildError as exc:
            return Answer(503, error=str(exc))
        except Exception as exc:  # noqa: BLE001 - report, never die silently with a job in hand
            return Answer(500, error=f"{type(exc).__name__}: {exc}")

    def current_store(self, include_personal: bool) -> tuple[Store, str, bool] | None:
        """The generation ``CURRENT`` names, opened once; a query already running keeps the one it started on."""
        from kgbuild.merge import has_merge
        from kgbuild.store import open_generation

        # ``CURRENT`` is replaced, never rewritten: while its inode and time stay, it names the same
        # generation (one stat per job, not an open, a read and a check of the directory).
        try:
            status = os.stat(self.pointer)
        except FileNotFoundError:
            return None
        stamp = (status.st_ino, status.st_mtime_ns)
        with self.opening:
            if stamp != self.stamp or self.store is None:
                current = self.directory.current()
                if current is None:
                    return None
                if current.name != self.generation or self.store is None:
                    self.store, self.generation = open_generation(current, include_personal), current.name
                    self.merged = has_merge(self.store)
                self.stamp = stamp
            return self.store, self.generation, self.merged


class _Worker:
    """A worker process, and the jobs it is running by number (each read in the parent's event loop)."""

    def __init__(self, context: multiprocessing.context.SpawnContext, store_dir: Path, slots: int) -> None:
        self.connection, child = context.Pipe()
        self.process: BaseProcess = context.Process(target=worker_main, args=(child, str(store_dir), slots),
                                                    daemon=True, name="kgbuild-query-worker")
        self.process.start()
        child.close()
        self.descriptor = self.connection.fileno()
        self.running: dict[int, Exchange] = {}
        self.deadlines: dict[int, asyncio.TimerHandle] = {}
        self.alive = True

    def kill(self) -> None:
        with contextlib.suppress(Exception):
            self.process.kill()
        self.process.join(timeout=5)
        self.connection.close()

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.connection.send(None)
        self.process.join(timeout=2)
        if self.process.is_alive():
            self.kill()


# Given to the other jobs of a worker killed at one job's deadline: they are run again on another worker
# (or, if their answer was already on its way to the client, that response is aborted).
_LOST = Answer(503, error="the query's worker was stopped for another query's deadline")
# Given to every job of a worker that died on its own (a crash): which job caused it is unknown.
_FAILED = Answer(503, error="the query worker failed; the query was not completed")


class WorkerPool:
    """``size`` query workers of ``slots`` jobs each; ``run`` gives a job a free slot within the deadline.

    A query past the deadline is stopped: told to stop if it is writing its answer (a slow reader), else
    by killing its worker, which ends the other queries of that worker too: they are started again on
    another worker, within their own deadlines.
    """

    def __init__(self, store_dir: Path, size: int, timeout: float, slots: int) -> None:
        self.store_dir = store_dir
        self.size = size
        self.slots = slots
        self.timeout = timeout
        self._context = multiprocessing.get_context("spawn")
        # One entry per free slot, the last freed taken first: under light load the same worker answers,
        # its store's cache warm; a dead worker's entries are skipped.
        self._free: asyncio.LifoQueue[_Worker] | None = None
        self._all: set[_Worker] = set()
        self._numbers = itertools.count()
        self._replacing: set[asyncio.Task[None]] = set()
        self._closed = False
        self.killed = 0  # queries stopped at the deadline since start
        self.restarted = 0  # queries started again because their worker was killed for another's deadline

    async def start(self) -> None:
        self._free = asyncio.LifoQueue()
        workers = await asyncio.gather(*(asyncio.to_thread(self._spawn) for _ in range(self.size)))
        for worker in workers:
            self._listen(worker)
        for _ in range(self.slots):  # interleaved: jobs arriving together go to different workers
            for worker in workers:
                self._free.put_nowait(worker)

    def _spawn(self) -> _Worker:
        worker = _Worker(self._context, self.store_dir, self.slots)
        self._all.add(worker)
        return worker

    def _listen(self, worker: _Worker) -> None:
        asyncio.get_running_loop().add_reader(worker.descriptor, self._receive, worker)

    async def run(self, job: Job) -> Answer | Streamed:
        """Run ``job`` in a free slot: its answer whole, or streamed; 503 if no slot frees up or the
        query passes the deadline before its answer starts."""
        deadline = time.monotonic() + self.timeout
        while True:
            worker = await self._slot(deadline)
            if worker is None:
                return Answer(503, error=f"every query worker stayed busy for {self.timeout:g} s; try again later")
            exchange = self._start(worker, job, deadline)
            outcome = _LOST if exchange is None else await collect(exchange, job)
            if outcome is not _LOST:
                return outcome
            if time.monotonic() >= deadline:
                return self._past_deadline()
            self.restarted += 1

    def _past_deadline(self) -> Answer:
        return Answer(503, error=f"the query was stopped at the {self.timeout:g} s deadline")

    async def _slot(self, deadline: float) -> _Worker | None:
        assert self._free is not None, "WorkerPool.start() was not awaited"
        while True:
            try:  # a free slot at once, mostly: without wait_for's task and timer
                worker = self._free.get_nowait()
            except asyncio.QueueEmpty:
                try:
                    worker = await asyncio.wait_for(self._free.get(), max(deadline - time.monotonic(), 0.0))
                except TimeoutError:
                    return None
            if worker.alive:
                return worker

    def _start(self, worker: _Worker, job: Job, deadline: float) -> Exchange | None:
        """Hand the job over; its chunks and answer come back through ``_receive`` (no thread per query here).

        The slot is given back when the job's last message arrives, so that a worker never gets more jobs
        than it has threads.
        """
        if not worker.alive:  # killed for another query's deadline since it was chosen: choose again
            return None
        number = next(self._numbers)
        exchange = worker.running[number] = Exchange(lambda: self._tell(worker, ("more", number)),
                                                     lambda: self._tell(worker, ("cancel", number)))
        loop = asyncio.get_running_loop()
        worker.deadlines[number] = loop.call_later(max(deadline - time.monotonic(), 0.0), self._expire, worker, number)
        self._tell(worker, ("job", number, job))
        return exchange

    def _tell(self, worker: _Worker, message: tuple[object, ...]) -> None:
        if not worker.alive:
            return
        try:
            # Small messages, sent blocking (the worker's pipe thread is always reading). Some loops (uvloop)
            # make a watched descriptor non-blocking, so say so explicitly each time.
            os.set_blocking(worker.descriptor, True)
            worker.connection.send(message)
        except OSError:
            self._lose(worker, _FAILED)

    def _expire(self, worker: _Worker, number: int) -> None:
        """The job's deadline passed: a job writing its answer is told to stop, any other is killed."""
        worker.deadlines.pop(number, None)
        exchange = worker.running.get(number)
        if exchange is None or not worker.alive:
            return
        self.killed += 1
        exchange.put(self._past_deadline())
        if exchange.received:  # most likely waiting for its reader: it stops at its next chunk
            self._tell(worker, ("cancel", number))
            asyncio.get_running_loop().call_later(CANCEL_GRACE, self._kill_if_running, worker, number)
        else:
            self._kill_if_running(worker, number)

    def _kill_if_running(self, worker: _Worker, number: int) -> None:
        if number in worker.running:
            worker.running.pop(number)
            self._lose(worker, _LOST)

    def _receive(self, worker: _Worker) -> None:
        """The worker's pipe is readable: a chunk or an answer is being written in one go (or the worker died)."""
        assert self._free is not None
        try:
            os.set_blocking(worker.descriptor, True)
            number, message = worker.connection.recv()
        except (EOFError, OSError):
            self._lose(worker, _FAILED)
            return
        exchange = worker.running.get(number)
        if exchange is None:
            return
        exchange.put(message)
        if isinstance(message, Answer):  # the job is over: its slot is free again
            del worker.running[number]
            timer = worker.deadlines.pop(number, None)
            if timer is not None:
                timer.cancel()
            if worker.alive:
                self._free.put_nowait(worker)

    def _lose(self, worker: _Worker, failure: Answer) -> None:
        """Kill ``worker``, give its running jobs ``failure``, and start a replacement."""
        if not worker.alive:
            return
        worker.alive = False
        asyncio.get_running_loop().remove_reader(worker.descriptor)
        running, worker.running = worker.running, {}
        for exchange in running.values():
            exchange.put(failure)
        for timer in worker.deadlines.values():
            timer.cancel()
        worker.deadlines.clear()
        worker.kill()
        self._all.discard(worker)
        if not self._closed:
            task = asyncio.ensure_future(self._replace())
            self._replacing.add(task)
            task.add_done_callback(self._replacing.discard)

    async def _replace(self) -> None:
        assert self._free is not None
        worker = await asyncio.to_thread(self._spawn)
        if self._closed:
            await asyncio.to_thread(worker.stop)
            return
        self._listen(worker)
        for _ in range(self.slots):
            self._free.put_nowait(worker)

    async def close(self) -> None:
        self._closed = True
        await asyncio.gather(*self._replacing, return_exceptions=True)
        workers = list(self._all)
        self._all.clear()
        loop = asyncio.get_running_loop()
        for worker in workers:
            worker.alive = False
            loop.remove_reader(worker.descriptor)
            for timer in worker.deadlines.values():
                timer.cancel()
        await asyncio.gather(*(asyncio.to_thread(w.stop) for w in workers))
