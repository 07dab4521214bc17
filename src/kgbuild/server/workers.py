"""Query workers: processes that run queries, so that a deadline can stop any query.

pyoxigraph cannot cancel a running query, and a result must be consumed in the thread that made it.
So each query runs in a worker process, which opens the current store generation read-only, runs
the query over the request's dataset, writes the (capped) result to bytes, and sends the bytes back.
A worker runs several queries at once, on threads that share its open store (and so the cache of its
blocks); each thread runs one query at a time. The parent waits at most until the deadline; a worker
still busy then is killed and replaced, and its client gets 503. The worker's other queries are started
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
import signal
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyoxigraph import Store

__all__ = ["Job", "Answer", "WorkerPool"]


@dataclass(frozen=True)
class Job:
    """One query for a worker. ``format_name`` is a pyoxigraph format name (e.g. "Turtle")."""

    query: str
    format_name: str
    max_rows: int
    from_graphs: tuple[str, ...] = ()
    from_named_graphs: tuple[str, ...] = ()
    default_graph_uris: tuple[str, ...] = ()
    named_graph_uris: tuple[str, ...] = ()
    include_personal: bool = False
    federated: bool = False
    base_iri: str = ""


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes = b""
    rows: int = 0
    truncated: bool = False
    error: str = ""
    generation: str = ""


def _run(store: Store, job: Job) -> Answer:
    from kgbuild.query import dataset_for, execute
    from kgbuild.server.results import write_result
    from kgbuild.sparql import QueryInfo, QueryRefused

    # Every graph of the opened database may be seen: personal data lives in another one unless the
    # operator opted in. FROM clauses and protocol parameters only narrow the dataset.
    info = QueryInfo("SELECT", from_graphs=job.from_graphs, from_named_graphs=job.from_named_graphs)
    dataset = dataset_for(None, info, job.default_graph_uris, job.named_graph_uris)
    try:
        # Relative IRIs resolve against the endpoint (SPARQL 1.1 Protocol: the service defines the BASE).
        result = execute(store, job.query, dataset, job.base_iri + "sparql" if job.base_iri else None)
        written = write_result(result, job.format_name, job.max_rows)
    except QueryRefused as exc:
        return Answer(exc.status, error=str(exc))
    except OSError as exc:
        if job.federated:
            return Answer(502, error=f"a federated endpoint failed: {exc}")
        return Answer(500, error=f"the store failed: {exc}")
    except (ValueError, RuntimeError, TypeError) as exc:
        return Answer(400, error=f"the query could not be evaluated: {exc}")
    return Answer(200, written.body, written.rows, written.truncated)


def worker_main(connection: Connection, store_dir: str, slots: int) -> None:
    """A worker process: ``slots`` threads that run jobs on one shared store, until told to stop."""
    from kgbuild.query import QUERY_STACK_BYTES

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the parent, which stops us
    # Each thread has the large stack long chains need (see QUERY_STACK_BYTES). The threads live as long
    # as the worker, and the thread that receives a job runs it: no hand-over between threads on a
    # query's way (each is a wake-up, and they cost more than a cheap query).
    threading.stack_size(QUERY_STACK_BYTES)
    worker = _WorkerLoop(connection, store_dir)
    for number in range(slots):
        threading.Thread(target=worker.serve, name=f"kgbuild-query-{number}", daemon=True).start()
    worker.stopped.wait()  # a job still running is dropped with the process: the parent asked us to go


class _WorkerLoop:
    """What a worker's threads share: the pipe (one reader and one writer at a time) and the open store.

    Concurrent queries read one store: one cache of its blocks, where processes each keep their own.
    """

    def __init__(self, connection: Connection, store_dir: str) -> None:
        from kgbuild.store import StoreDirectory

        self.connection = connection
        self.directory = StoreDirectory(store_dir)
        self.receiving = threading.Lock()
        self.sending = threading.Lock()
        self.opening = threading.Lock()
        self.stopped = threading.Event()
        self.store: Store | None = None
        self.generation = ""

    def serve(self) -> None:
        """Receive a job, answer it, until told to stop (``None``) or the pipe closes."""
        while not self.stopped.is_set():
            with self.receiving:
                try:
                    message = self.connection.recv()
                except (EOFError, OSError):
                    message = None
            if message is None:
                self.stopped.set()
                return
            number, job = message
            answer = self.answer(job)
            with self.sending:
                try:
                    self.connection.send((number, answer))
                except (BrokenPipeError, OSError):
                    self.stopped.set()
                    return

    def answer(self, job: Job) -> Answer:
        from kgbuild.errors import KgbuildError

        try:
            opened = self.current_store(job.include_personal)
            if opened is None:
                return Answer(503, error="no knowledge graph has been built yet")
            store, generation = opened
            answer = _run(store, job)
            return Answer(answer.status, answer.body, answer.rows, answer.truncated, answer.error, generation)
        except KgbuildError as exc:
            return Answer(503, error=str(exc))
        except Exception as exc:  # noqa: BLE001 - report, never die silently with a job in hand
            return Answer(500, error=f"{type(exc).__name__}: {exc}")

    def current_store(self, include_personal: bool) -> tuple[Store, str] | None:
        """The generation ``CURRENT`` names, opened once; a query already running keeps the one it started on."""
        from kgbuild.store import open_generation

        current = self.directory.current()
        if current is None:
            return None
        with self.opening:
            if current.name != self.generation or self.store is None:
                self.store, self.generation = open_generation(current, include_personal), current.name
            return self.store, self.generation


class _Worker:
    """A worker process, and the jobs it is running by number (each waited on in the parent's event loop)."""

    def __init__(self, context: multiprocessing.context.SpawnContext, store_dir: Path, slots: int) -> None:
        self.connection, child = context.Pipe()
        self.process: BaseProcess = context.Process(target=worker_main, args=(child, str(store_dir), slots),
                                                    daemon=True, name="kgbuild-query-worker")
        self.process.start()
        child.close()
        self.descriptor = self.connection.fileno()
        self.running: dict[int, asyncio.Future[Answer]] = {}
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


# Given to the other jobs of a worker killed at one job's deadline: they are run again on another worker.
_LOST = Answer(503, error="the query's worker was stopped for another query's deadline")
# Given to every job of a worker that died on its own (a crash): which job caused it is unknown.
_FAILED = Answer(503, error="the query worker failed; the query was not completed")


class WorkerPool:
    """``size`` query workers of ``slots`` jobs each; ``run`` gives a job a free slot within the deadline.

    A query past the deadline is stopped by killing its worker, which ends the other queries of that
    worker too: they are started again on another worker, within their own deadlines.
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

    async def run(self, job: Job) -> Answer:
        """Run ``job`` in a free slot; 503 if none frees up or the query passes the deadline."""
        deadline = time.monotonic() + self.timeout
        while True:
            worker = await self._slot(deadline)
            if worker is None:
                return Answer(503, error=f"every query worker stayed busy for {self.timeout:g} s; try again later")
            # The exchange runs as its own task: if this request is cancelled (the client went away), the
            # job still ends (answered, or its worker killed at the deadline) before its slot is given back,
            # so a worker never gets more jobs than it has threads.
            answer = await asyncio.shield(asyncio.ensure_future(self._exchange(worker, job, deadline)))
            if answer is not _LOST:
                return answer
            if time.monotonic() >= deadline:
                return self._past_deadline()
            self.restarted += 1

    def _past_deadline(self) -> Answer:
        return Answer(503, error=f"the query was stopped at the {self.timeout:g} s deadline")

    async def _slot(self, deadline: float) -> _Worker | None:
        assert self._free is not None, "WorkerPool.start() was not awaited"
        while True:
            try:
                worker = await asyncio.wait_for(self._free.get(), max(deadline - time.monotonic(), 0.0))
            except TimeoutError:
                return None
            if worker.alive:
                return worker

    async def _exchange(self, worker: _Worker, job: Job, deadline: float) -> Answer:
        """Hand the job over; its answer comes back through ``_receive`` (no thread per query here)."""
        assert self._free is not None
        if not worker.alive:  # killed for another query's deadline since it was chosen: choose again
            return _LOST
        number = next(self._numbers)
        answered = worker.running[number] = asyncio.get_running_loop().create_future()
        try:
            # Whole messages are sent and received blocking (a free slot means a worker thread is reading).
            # Some loops (uvloop) make a watched descriptor non-blocking, so say so explicitly each time.
            os.set_blocking(worker.descriptor, True)
            worker.connection.send((number, job))
        except OSError:
            self._lose(worker, _FAILED)
        try:
            answer: Answer = await asyncio.wait_for(asyncio.shield(answered), max(deadline - time.monotonic(), 0.0))
        except TimeoutError:
            self.killed += 1
            worker.running.pop(number, None)
            self._lose(worker, _LOST)
            return self._past_deadline()
        if worker.alive:
            self._free.put_nowait(worker)
        return answer

    def _receive(self, worker: _Worker) -> None:
        """The worker's pipe is readable: an answer is being written in one go (or the worker died)."""
        try:
            os.set_blocking(worker.descriptor, True)
            number, answer = worker.connection.recv()
        except (EOFError, OSError):
            self._lose(worker, _FAILED)
            return
        answered = worker.running.pop(number, None)
        if answered is not None and not answered.done():
            answered.set_result(answer)

    def _lose(self, worker: _Worker, failure: Answer) -> None:
        """Kill ``worker``, give its running jobs ``failure``, and start a replacement."""
        if not worker.alive:
            return
        worker.alive = False
        asyncio.get_running_loop().remove_reader(worker.descriptor)
        running, worker.running = worker.running, {}
        for answered in running.values():
            if not answered.done():
                answered.set_result(failure)
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
        await asyncio.gather(*(asyncio.to_thread(w.stop) for w in workers))
