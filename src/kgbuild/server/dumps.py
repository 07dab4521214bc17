"""The dumps the server offers: made once per store generation, in the background, swapped in whole.

They are made from a read-only snapshot of the store (:meth:`kgbuild.store.GraphStore.snapshot`: the
generation itself, or a remote store's graphs copied into a scratch store). An embedded store's are made
in a separate, lower-priority process (:attr:`~kgbuild.store.GraphStore.dumps_in_own_process`): writing a
dump is seconds to minutes of work that holds the interpreter, and in the server's own process it would
stall every request meanwhile. That process ends with the server, however the server ends (stopped, or
killed: the kernel is asked to kill it with its parent), so it never outlives the server holding its
files and its output open. A remote store's are made in a thread of the server: copying its graphs over
HTTP is mostly waiting.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import signal
import threading
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path

from kgbuild.export import write_dumps
from kgbuild.iris import RECORDED_BASES, Iris, recorded_bases
from kgbuild.settings import Settings
from kgbuild.store import GraphStore
from kgbuild.stores import open_store

__all__ = ["DumpKeeper"]

log = logging.getLogger("kgbuild.server")


class DumpKeeper:
    """Keeps ``<store>/dumps-public`` (or ``dumps-personal``) in step with the current generation.

    For a remote store, the dumps live under ``--dumps-dir`` (default ``./kgdumps``) and follow the remote
    generation; the remote's graphs are copied into a scratch store first and dumped from there.

    :param store: the store the server reads (its :meth:`~kgbuild.store.GraphStore.stamp` says when the
        dumps are stale); by default the one the settings name.
    """

    def __init__(self, settings: Settings, store: GraphStore | None = None) -> None:
        self.settings = settings
        self.store = store if store is not None else open_store(settings)
        base = Path(settings.dumps_dir) if settings.dumps_dir else self.store.dumps_home()
        self.directory = base / ("dumps-personal" if settings.include_personal_data else "dumps-public")
        self._lock = threading.Lock()
        self._running = False
        self._process: BaseProcess | None = None
        self.last_error = ""

    def generation(self) -> str | None:
        try:
            return (self.directory / "GENERATION").read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None

    def making(self) -> bool:
        """Whether dumps are being made now (of a generation newer than those in the directory)."""
        with self._lock:
            return self._running

    def refresh(self) -> None:
        """Start making dumps of the current generation unless they exist or are being made."""
        current = self.store.stamp()
        if not current or current == self.generation():
            return
        with self._lock:
            if self._running:
                return
            self._running = True
        threading.Thread(target=self._make, args=(current,), name="kgbuild-dumps", daemon=True).start()

    def _make(self, generation: str) -> None:
        try:
            if self.store.dumps_in_own_process:
                self.last_error = self._make_in_process(generation)
            else:
                _dump(self.store, self.settings, generation, self.directory)
                self.last_error = ""
            if self.last_error:
                log.error("making dumps of %s failed: %s", generation, self.last_error)
        except Exception as exc:  # noqa: BLE001 - keep serving the previous dumps; say why on /dumps/
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.error("making dumps of %s failed: %s", generation, self.last_error)
        finally:
            with self._lock:
                self._running = False

    def _make_in_process(self, generation: str) -> str:
        """Make the dumps in a child process; what went wrong there, or ``""``."""
        context = multiprocessing.get_context("spawn")
        receiving, sending = context.Pipe(duplex=False)
        process = context.Process(target=_write_dumps, args=(self.settings, generation, self.directory, sending),
                                  name="kgbuild-dumps", daemon=True)
        with self._lock:
            self._process = process
        process.start()
        sending.close()
        problem: str | None = None
        with receiving, contextlib.suppress(EOFError, OSError):  # EOF: it ended without a word (killed)
            problem = str(receiving.recv())  # before the join: a long message must not block its sender
        process.join()
        with self._lock:
            self._process = None
        return problem if problem is not None else f"the dump process ended with exit code {process.exitcode}"

    def close(self) -> None:
        """Stop dumps being made (the server is stopping); the previous dumps stay as they are."""
        with self._lock:
            process = self._process
        if process is not None and process.is_alive():
            process.terminate()  # the process removes its unfinished staging directory, then ends
            process.join(timeout=10)

    def files(self) -> list[str]:
        try:
            return sorted(p.name for p in self.directory.iterdir() if p.is_file() and p.name != "GENERATION")
        except FileNotFoundError:  # not made yet (or, where dumps cannot be swapped in one step, mid-swap)
            return []


def _write_dumps(settings: Settings, generation: str, directory: Path, answer: Connection) -> None:
    """In the dump process: every dump of ``generation``, yielding the processor to the queries."""
    with contextlib.suppress(OSError, AttributeError):  # Linux: die with the server, even if it is killed
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    os.nice(10)
    signal.signal(signal.SIGTERM, _stop)  # stopped by the server: clean up (write_dumps removes its staging)
    try:
        with open_store(settings) as store:
            _dump(store, settings, generation, directory)
    except Exception as exc:  # noqa: BLE001 - told to the server, which keeps the previous dumps and says why
        answer.send(f"{type(exc).__name__}: {exc}")
    else:
        answer.send("")


def _dump(store: GraphStore, settings: Settings, generation: str, directory: Path) -> None:
    """Every dump of ``generation`` of ``store`` into ``directory`` (the previous ones kept until then)."""
    # The base the graphs are read under (a remote store's copy takes only those), then the one the
    # snapshot itself records (the generation dumped, should a build have switched in another since).
    iris = _store_iris(store.recorded_graphs(), settings)
    with store.snapshot(iris, settings.include_personal_data, directory.parent, generation) as graphs:
        found = [getattr(row["g"], "value", "") for row in graphs.query(RECORDED_BASES)]  # type: ignore[union-attr]
        write_dumps(graphs, _store_iris(found, settings), directory, settings.dataset_title,
                    settings.dataset_publisher, settings.dataset_license, settings.include_personal_data,
                    generation=generation, keep_previous=True, change_feed=store.keeps_change_log)


def _store_iris(build_graphs: list[str], settings: Settings) -> Iris:
    """The IRIs the store was built with (its graphs are found and its VoID's uriSpace named under them),
    or the ``base_iri`` setting for a store that records no single base."""
    bases = recorded_bases(build_graphs)
    return Iris(bases[0] if len(bases) == 1 else settings.base_iri)


_PR_SET_PDEATHSIG = 1


def _stop(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)
