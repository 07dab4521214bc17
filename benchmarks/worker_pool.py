"""What the query workers cost: uncached lookups through the worker pool against the same lookups run
in this process, on the same store, in the same run (no HTTP on either side).

Every query of the endpoint runs in a worker process that can be killed at the deadline; this
measures the price of that hop (the pipe, pickling, two processes' wake-ups), which bounds the
endpoint's uncached throughput whatever the HTTP layer does::

    python -m benchmarks.worker_pool --store benchmarks/work/n10000/kgstore --workers 2 --slots 8 --seconds 5
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import time
from pathlib import Path

from pyoxigraph import QueryResultsFormat

from benchmarks.endpoint import project_sample

LOOKUP = "SELECT ?p ?o WHERE {{ <{}> ?p ?o }} # {}"  # the comment makes every text new


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def in_process(store_dir: Path, projects: list[str], seconds: float) -> float:
    """Lookups per second run one after another in this process, as a worker runs them."""
    from kgbuild.server.answers import ChunkWriter, Job
    from kgbuild.server.workers import _run
    from kgbuild.store import StoreDirectory, open_generation

    store = open_generation(StoreDirectory(store_dir).current(), False)  # type: ignore[arg-type]
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        job = Job(LOOKUP.format(projects[done % len(projects)], done), QueryResultsFormat.JSON.name, 1 << 20)
        answer = _run(store, job, ChunkWriter(lambda chunk: None, job.max_bytes))
        assert answer.status == 200, answer.error
        done += 1
    return done / (time.perf_counter() - started)


async def through_pool(store_dir: Path, projects: list[str], workers: int, slots: int, clients: int,
                       seconds: float) -> tuple[float, float]:
    """Lookups per second through a WorkerPool with ``clients`` in flight; and this process's CPU ms per lookup."""
    from kgbuild.server.answers import Answer, Job
    from kgbuild.server.workers import WorkerPool

    pool = WorkerPool(store_dir, workers, 10.0, slots)
    await pool.start()
    done = 0
    end = 0.0

    async def client(number: int) -> None:
        nonlocal done
        sent = number
        while time.perf_counter() < end:
            sent += clients
            answer = await pool.run(Job(LOOKUP.format(projects[sent % len(projects)], f"pool-{sent}"),
                                        QueryResultsFormat.JSON.name, 1 << 20))
            assert isinstance(answer, Answer) and answer.status == 200, answer
            done += 1

    try:
        await asyncio.gather(*(pool.run(Job("ASK {}", QueryResultsFormat.JSON.name, 1 << 20)) for _ in range(workers)))
        cpu, started = _cpu(), time.perf_counter()
        end = started + seconds
        await asyncio.gather(*(client(n) for n in range(clients)))
        elapsed = time.perf_counter() - started
        return done / elapsed, (_cpu() - cpu) / done * 1000
    finally:
        await pool.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.worker_pool", description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, required=True, help="a built store directory")
    parser.add_argument("--workers", type=int, default=2, help="query worker processes (the server's default)")
    parser.add_argument("--slots", type=int, default=8, help="queries per worker at once (the server's default)")
    parser.add_argument("--clients", type=int, default=16, help="lookups in flight at once")
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args(argv)

    import uvloop  # what uvicorn runs the server on

    projects = project_sample(args.store)
    in_process(args.store, projects, args.seconds)  # a warm-up: the store's pages read in for both sides
    alone = in_process(args.store, projects, args.seconds)
    pooled, main_cpu_ms = uvloop.run(through_pool(args.store, projects, args.workers, args.slots, args.clients,
                                                              args.seconds))
    print(f"in this process, one at a time: {alone:,.0f} lookups/s ({1000 / alone:.2f} ms each)")
    print(f"through {args.workers} workers of {args.slots} slots, {args.clients} in flight: {pooled:,.0f} lookups/s "
          f"({pooled / alone:.2f}× one process; this process spent {main_cpu_ms:.2f} ms of CPU per lookup)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
