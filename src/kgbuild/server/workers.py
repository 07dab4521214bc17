"""Query workers: processes that run queries, so that a deadline can stop any query.

pyoxigraph cannot cancel a running query, and a result must be consumed in the thread that made it.
So each query runs in a worker process, which opens the current store generation read-only, runs
the query over the request's dataset, writes the (capped) result to bytes, and sends the bytes back.
The parent waits at most until the deadline; a worker still busy then is killed and replaced, and
its client gets 503. Other clients are served by the other workers meanwhile. Workers follow the
store's ``CURRENT`` pointer before every job, so a rebuild is picked up without a restart, while a
query already running finishes on the generation it started on.
"""

from __future__ import annotations

import asyncio
import contextlib
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


# pyoxigraph parses and evaluates recursively: a long chain in a query (1+1+…, !!!…, A UNION B UNION …)
# overflows a default 8 MB stack and kills the worker with SIGSEGV. So a worker's loop runs on one thread
# with a large stack (address space: pages are only committed when touched), where each query is run and
# its result consumed, as it must be: on one thread. One thread for the worker's life, not one per query:
# every hand-over between threads is a wake-up, and they cost more than a cheap query.
# Deep bracket nesting is refused before it gets here (kgbuild.sparql).
QUERY_STACK_BYTES = 256 * 1024 * 1024


def worker_main(connection: Connection, store_dir: str) -> None:
    """A worker process: its loop runs on a thread with a large stack (see ``QUERY_STACK_BYTES``)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the parent, which stops us
    threading.stack_size(QUERY_STACK_BYTES)
    loop = threading.Thread(target=_worker_loop, args=(connection, store_dir), name="kgbuild-query", daemon=True)
    loop.start()
    loop.join()


def _worker_loop(connection: Connection, store_dir: str) -> None:
    """Receive a job, answer it, until told to stop (``None``) or the pipe closes."""
    from kgbuild.errors import KgbuildError
    from kgbuild.store import StoreDirectory, open_generation

    directory = StoreDirectory(store_dir)
    store: Store | None = None
    generation = ""
    while True:
        try:
            job = connection.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        try:
            current = directory.current()
            if current is None:
                answer = Answer(503, error="no knowledge graph has been built yet")
            else:
                if current.name != generation or store is None:
                    store, generation = open_generation(current, job.include_personal), current.name
                answer = _run(store, job)
                answer = Answer(answer.status, answer.body, answer.rows, answer.truncated, answer.error, generation)
        except KgbuildError as exc:
            answer = Answer(503, error=str(exc))
        except Exception as exc:  # noqa: BLE001 - report, never die silently with a job in hand
            answer = Answer(500, error=f"{type(exc).__name__}: {exc}")
        try:
            connection.send(answer)
        except (BrokenPipeError, OSError):
            return


class _Worker:
    def __init__(self, context: multiprocessing.context.SpawnContext, store_dir: Path) -> None:
        self.connection, child = context.Pipe()
        self.process: BaseProcess = context.Process(target=worker_main, args=(child, str(store_dir)),
                                                    daemon=True, name="kgbuild-query-worker")
        self.process.start()
        child.close()

    def call(self, job: Job, timeout: float) -> Answer:
        self.connection.send(job)
        if not self.connection.poll(max(timeout, 0.0)):
            raise TimeoutError
        answer: Answer = self.connection.recv()
        return answer

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


class WorkerPool:
    """A fixed number of query workers; ``run`` gives a job to a free one within the deadline."""

    def __init__(self, store_dir: Path, size: int, timeout: float) -> None:
        self.store_dir = store_dir
        self.size = size
        self.timeout = timeout
        self._context = multiprocessing.get_context("spawn")
        self._idle: asyncio.Queue[_Worker] | None = None
        self._all: set[_Worker] = set()
        self.killed = 0  # queries stopped at the deadline since start

    async def start(self) -> None:
        self._idle = asyncio.Queue()
        workers = await asyncio.gather(*(asyncio.to_thread(self._spawn) for _ in range(self.size)))
        for worker in workers:
            self._idle.put_nowait(worker)

    def _spawn(self) -> _Worker:
        worker = _Worker(self._context, self.store_dir)
        self._all.add(worker)
        return worker

    def _retire(self, worker: _Worker) -> None:
        worker.kill()
        self._all.discard(worker)

    async def run(self, job: Job) -> Answer:
        """Run ``job`` on a free worker; 503 if none frees up or the query passes the deadline."""
        assert self._idle is not None, "WorkerPool.start() was not awaited"
        started = time.monotonic()
        try:
            worker = await asyncio.wait_for(self._idle.get(), timeout=self.timeout)
        except TimeoutError:
            return Answer(503, error=f"every query worker stayed busy for {self.timeout:g} s; try again later")
        deadline = started + self.timeout
        # The exchange runs as its own task: if this request is cancelled (the client went away), the
        # worker still finishes or is killed at the deadline before it goes back to the pool, so it
        # never gets a second job while busy.
        exchange = asyncio.ensure_future(self._exchange(worker, job, deadline))
        return await asyncio.shield(exchange)

    async def _exchange(self, worker: _Worker, job: Job, deadline: float) -> Answer:
        """Hand the job over and wait on the pipe in the event loop (no thread per query)."""
        assert self._idle is not None
        loop = asyncio.get_running_loop()
        readable = loop.create_future()
        descriptor = worker.connection.fileno()
        try:
            # Whole messages are sent and received blocking (an idle worker is reading; an answer that
            # made the pipe readable is being written in one go); only the wait is in the event loop.
            # Some loops (uvloop) make a watched descriptor non-blocking, so say so explicitly each time.
            os.set_blocking(descriptor, True)
            worker.connection.send(job)
            loop.add_reader(descriptor, lambda: readable.done() or readable.set_result(None))
            await asyncio.wait_for(readable, max(deadline - time.monotonic(), 0.0))
            loop.remove_reader(descriptor)
            os.set_blocking(descriptor, True)
            answer: Answer = worker.connection.recv()
        except TimeoutError:
            self.killed += 1
            answer = Answer(503, error=f"the query was stopped at the {self.timeout:g} s deadline")
            worker = await self._replace(worker, descriptor)
        except (EOFError, OSError):
            answer = Answer(503, error="the query worker failed; the query was not completed")
            worker = await self._replace(worker, descriptor)
        self._idle.put_nowait(worker)
        return answer

    async def _replace(self, worker: _Worker, descriptor: int) -> _Worker:
        asyncio.get_running_loop().remove_reader(descriptor)
        self._retire(worker)
        return await asyncio.to_thread(self._spawn)

    async def close(self) -> None:
        workers = list(self._all)
        self._all.clear()
        await asyncio.gather(*(asyncio.to_thread(w.stop) for w in workers))
