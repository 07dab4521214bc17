"""Where per-source work runs: in this process, in a local process pool, or on a Dask cluster.

Input: an executor spec (``local`` or ``dask://HOST:PORT``), a picklable function, the jobs and one
value every job shares. Output: the function's results, in the order of the jobs. The pipeline gives
it the work that is independent per source (parsing, mapping and, on a cluster, validation); where it
runs never changes a result, only how long it takes.

Jobs travel in batches of up to a few hundred, not one task each: a Dask task costs the scheduler
about a millisecond, a source a few. On a cluster only a few batches per worker thread are in flight
at once, so the jobs (source texts read on this machine) are produced as they are sent and a large
corpus is never all in memory on its way out. The shared value (the corpus-wide organisation
identities, the reference data) is sent to each worker once, not with every batch.

``distributed`` (the ``dask`` extra) is imported only when a ``dask://`` executor is opened.
"""

from __future__ import annotations

import functools
import itertools
import multiprocessing
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType
from typing import TypeVar

from kgbuild.errors import KgbuildError

__all__ = ["LOCAL", "PARALLEL_THRESHOLD", "Executor", "LocalExecutor", "DaskExecutor", "check_spec",
           "open_executor"]

J = TypeVar("J")
S = TypeVar("S")
R = TypeVar("R")

LOCAL = "local"
# Below this many jobs, a process pool costs more than it saves: they run in this process.
PARALLEL_THRESHOLD = 64
# Largest batch sent to a Dask worker: big enough to amortise a task, small enough to balance.
DASK_BATCH = 256
_DASK_SPEC = re.compile(r"^dask://(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-_]+):(?P<port>[0-9]{1,5})/?$")


def check_spec(text: str) -> str:
    """The executor spec ``text``, checked: ``local`` or ``dask://HOST:PORT``.

    :raises ValueError: for anything else (the settings table names the setting).

    >>> check_spec("dask://scheduler.example:8786"), check_spec(" local ")
    ('dask://scheduler.example:8786', 'local')
    """
    spec = text.strip()
    if spec == LOCAL:
        return spec
    match = _DASK_SPEC.match(spec)
    if match is None or not 0 < int(match["port"]) <= 65535:
        raise ValueError(f"expected 'local' or 'dask://HOST:PORT', got {text!r}")
    return spec.rstrip("/")


def _each(function: Callable[[J, S], R], batch: Sequence[J], shared: S) -> list[R]:
    return [function(job, shared) for job in batch]


def _batches(jobs: Iterable[J], size: int) -> Iterator[list[J]]:
    iterator = iter(jobs)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


class Executor:
    """Runs a function over jobs, in batches; see :func:`open_executor`.

    ``remote`` is true when the workers may be other machines: they cannot read this machine's
    files, so the caller sends content, not paths.
    """

    remote = False
    spec = LOCAL

    def map_batches(self, function: Callable[[list[J], S], list[R]], jobs: Iterable[J], shared: S, count: int,
                    limit: int | None = None) -> list[R]:
        """``function(batch, shared)`` over consecutive batches of ``jobs`` (``count`` of them).

        ``function`` must be a module-level function (it is pickled by name) and returns a list per
        batch; the lists are concatenated in the order of the jobs. ``limit`` caps the batch size (for
        work that costs more than linearly in the size of a batch).
        """
        return list(self.imap_batches(function, jobs, shared, count, limit))

    def imap_batches(self, function: Callable[[list[J], S], list[R]], jobs: Iterable[J], shared: S, count: int,
                     limit: int | None = None) -> Iterator[R]:
        """:meth:`map_batches`, its results yielded in the order of the jobs as soon as each batch is done:
        the caller works on the first results (loads them into a store) while the workers go on."""
        raise NotImplementedError

    def map(self, function: Callable[[J, S], R], jobs: Iterable[J], shared: S, count: int,
            limit: int | None = None) -> list[R]:
        """``function(job, shared)`` for every job, at most ``limit`` jobs a batch; results in the order of ``jobs``."""
        return self.map_batches(functools.partial(_each, function), jobs, shared, count, limit)

    def close(self) -> None:
        """Release the workers (a pool's processes, a cluster connection)."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()


class LocalExecutor(Executor):
    """This machine: inline for fewer than :data:`PARALLEL_THRESHOLD` jobs, else a forkserver process pool.

    :param workers: processes (default: one per core); 1 runs everything in this process.
    """

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self._pool: ProcessPoolExecutor | None = None

    def imap_batches(self, function: Callable[[list[J], S], list[R]], jobs: Iterable[J], shared: S, count: int,
                     limit: int | None = None) -> Iterator[R]:
        if count < PARALLEL_THRESHOLD or self.workers == 1:
            for batch in _batches(jobs, limit or max(count, 1)):
                yield from function(batch, shared)
            return
        if self._pool is None:
            # forkserver: the children do not inherit the parent's threads (a progress bar, pyoxigraph's own).
            self._pool = ProcessPoolExecutor(max_workers=self.workers, initializer=_yield_to_caller,
                                             mp_context=multiprocessing.get_context("forkserver"))
        size = max(1, min(limit or count, count // (8 * self.workers)))
        batches = list(_batches(jobs, size))
        try:
            for results in self._pool.map(function, batches, itertools.repeat(shared, len(batches))):
                yield from results
        except BrokenProcessPool:
            # A worker was killed (out of memory, a signal); a bug in a job raises its own exception.
            self.close()  # a broken pool takes no more jobs
            raise KgbuildError(f"one of this machine's {self.workers} worker processes stopped abruptly "
                               "(killed, or out of memory); the store is unchanged") from None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None


# How much a pool process defers to the process that feeds it (see _yield_to_caller); 10 gives it
# about a tenth of a core's share when both want the same core.
WORKER_NICENESS = 10


def _yield_to_caller() -> None:
    """Run this pool process at a lower priority than its caller.

    The caller has work of its own while the pool runs: a first build bulk-loads the workers' results
    as they come. That loader is the build's critical path; shared evenly with the workers it ran at
    two thirds of a core and fell behind, and took its backlog alone at the end. The total work is
    the same either way; only the order changes.
    """
    os.nice(WORKER_NICENESS)


def _worker_versions() -> tuple[str, str]:
    """What a worker runs: kgbuild's version and the parser version (recorded in provenance)."""
    from kgbuild import __version__
    from kgbuild.parsers import PARSER_VERSION

    return __version__, PARSER_VERSION


class DaskExecutor(Executor):
    """A Dask cluster, through a ``distributed.Client`` connected to the scheduler at ``dask://HOST:PORT``.

    Connecting checks that the scheduler answers, that it has a worker, and that every worker runs
    the same kgbuild (a different parser version would record different provenance).

    :raises KgbuildError: naming the address when ``distributed`` is not installed, the scheduler
        cannot be reached, no worker joins, or a worker runs another kgbuild (or none).
    """

    remote = True

    def __init__(self, spec: str, timeout: float | None = None) -> None:
        self.spec = check_spec(spec)
        self.address = "tcp://" + self.spec.removeprefix("dask://")
        try:
            import dask
            from distributed import Client
        except ImportError:
            raise KgbuildError(f"executor {self.spec}: Dask is not installed; "
                               "pip install 'kgbuild[dask]' (distributed) on this machine and the workers") from None
        if timeout is None:
            timeout = float(dask.utils.parse_timedelta(dask.config.get("distributed.comm.timeouts.connect")))
        try:
            self._client = Client(self.address, timeout=timeout, set_as_default=False)  # type: ignore[no-untyped-call]
        except (OSError, TimeoutError) as exc:
            raise KgbuildError(f"executor {self.spec}: cannot reach the Dask scheduler at {self.address} "
                               f"within {timeout:g} s ({type(exc).__name__})") from None
        try:
            self._check_workers(timeout)
        except BaseException:
            self._client.close()  # type: ignore[no-untyped-call]
            raise

    def _check_workers(self, timeout: float) -> None:
        try:
            self._client.wait_for_workers(1, timeout=timeout)
        except (OSError, TimeoutError):
            raise KgbuildError(f"executor {self.spec}: the Dask scheduler at {self.address} has no worker "
                               f"(waited {timeout:g} s)") from None
        ours = _worker_versions()
        try:
            theirs = self._client.run(_worker_versions)
        except ImportError as exc:
            raise KgbuildError(f"executor {self.spec}: a Dask worker cannot import kgbuild ({exc}); "
                               "install the same kgbuild on every worker") from None
        other = {worker: version for worker, version in theirs.items() if tuple(version) != ours}
        if other:
            worker, (version, parser) = sorted(other.items())[0]
            raise KgbuildError(f"executor {self.spec}: Dask worker {worker} runs kgbuild {version} (parsers "
                               f"{parser}), this machine {ours[0]} (parsers {ours[1]}); install the same on every "
                               "worker")

    @property
    def threads(self) -> int:
        """Worker threads in the cluster now (one task runs per thread)."""
        return max(1, sum(self._client.nthreads().values()))  # type: ignore[no-untyped-call]

    def imap_batches(self, function: Callable[[list[J], S], list[R]], jobs: Iterable[J], shared: S, count: int,
                     limit: int | None = None) -> Iterator[R]:
        from concurrent.futures import CancelledError

        from distributed import KilledWorker, as_completed

        if count == 0:
            return
        threads = self.threads
        size = max(1, min(limit or DASK_BATCH, DASK_BATCH, -(-count // (4 * threads))))
        [shared_ref] = self._client.scatter([shared], broadcast=True)  # type: ignore[no-untyped-call]
        batches = enumerate(_batches(jobs, size))
        done: dict[int, list[R]] = {}
        index: dict[object, int] = {}  # future → batch number
        running = as_completed(loop=self._client.loop)  # type: ignore[no-untyped-call]

        def submit_next() -> None:
            for number, batch in itertools.islice(batches, 1):
                future = self._client.submit(function, batch, shared_ref, pure=False)
                index[future] = number
                running.add(future)  # type: ignore[no-untyped-call]

        ready = 0  # the next batch to yield: results leave in the order of the jobs
        try:
            for _ in range(2 * threads + 1):
                submit_next()
            for future in running:
                done[index.pop(future)] = future.result()
                future.release()
                submit_next()
                while ready in done:
                    yield from done.pop(ready)
                    ready += 1
        except (KilledWorker, CancelledError, OSError) as exc:
            # The cluster failed (a worker died repeatedly, the scheduler went away); a bug in a task
            # raises its own exception and is not caught here.
            raise KgbuildError(f"executor {self.spec}: the Dask cluster at {self.address} failed during the "
                               f"build ({type(exc).__name__}: {exc}); the store is unchanged") from None
        finally:
            for future in list(running.futures):
                future.cancel()
            shared_ref.release()

    def close(self) -> None:
        self._client.close()  # type: ignore[no-untyped-call]


def open_executor(spec: str = LOCAL, workers: int | None = None) -> Executor:
    """The executor a spec names: ``local`` (``workers`` processes) or ``dask://HOST:PORT``.

    :raises KgbuildError: for a spec that does not read, or a cluster that cannot be used (see
        :class:`DaskExecutor`).

    >>> with open_executor("local", workers=1) as executor:
    ...     executor.map(divmod, [7, 9], 4, count=2)
    [(1, 3), (2, 1)]
    """
    try:
        spec = check_spec(spec)
    except ValueError as exc:
        raise KgbuildError(f"executor: {exc}") from None
    return LocalExecutor(workers) if spec == LOCAL else DaskExecutor(spec)
