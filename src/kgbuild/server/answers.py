"""Answers on their way from where a query runs (a worker process, or a thread reading a remote store).

An answer is written in chunks, and its writer runs at most :data:`WINDOW` chunks ahead of its reader,
so memory is bounded by bytes whatever the answer's size: no row cap, no answer cut short. An answer
shorter than one chunk travels in one message, with its end. An answer
that fits in the first :data:`WHOLE_BYTES` is *whole*: sent with its length, and cacheable. A longer
one is *streamed*: when a bound is hit after its first byte was sent (its size, the deadline, the
query's worker lost), the response is aborted — the connection closes before the end of the body — so
that no client, not even a federating engine that reads no header, takes a short answer for a whole one.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Protocol

__all__ = ["QueryBackend", "Job", "Answer", "Streamed",
           "Exchange", "ChunkWriter", "Credit", "AnswerAborted", "collect", "too_large",
           "CHUNK_BYTES", "WINDOW", "WHOLE_BYTES"]

CHUNK_BYTES = 64 * 1024
WINDOW = 4  # chunks a writer may send before its reader has taken them
WHOLE_BYTES = 1024 * 1024  # an answer up to this size is sent whole, with its length


@dataclass(frozen=True)
class Job:
    """One query. ``format_name`` is a pyoxigraph format name (e.g. "Turtle"); ``max_bytes`` bounds the
    answer; a ``whole`` job (a page's own query) is never streamed: it gets its answer whole or an error."""

    query: str
    format_name: str
    max_bytes: int
    from_graphs: tuple[str, ...] = ()
    from_named_graphs: tuple[str, ...] = ()
    default_graph_uris: tuple[str, ...] = ()
    named_graph_uris: tuple[str, ...] = ()
    include_personal: bool = False
    federated: bool = False
    base_iri: str = ""
    whole: bool = False


@dataclass(frozen=True)
class Answer:
    """A whole answer (``status`` 200 and its ``body``), or a refusal with its ``error``; also the last
    message of a streamed one, which says whether it ended well."""

    status: int
    body: bytes = b""
    error: str = ""
    generation: str = ""


class AnswerAborted(Exception):
    """A streamed answer could not be completed: its response must be aborted, never ended well."""


class QueryBackend(Protocol):
    """What runs the server's query jobs: worker processes over the embedded store
    (:class:`~kgbuild.server.workers.WorkerPool`) or threads reading a remote store
    (:class:`~kgbuild.server.remote_pool.RemotePool`), as the store says
    (:meth:`kgbuild.store.GraphStore.query_backend`)."""

    killed: int  # queries stopped at the deadline since start
    restarted: int  # queries started again since start (their worker was killed for another's deadline)

    async def start(self) -> None: ...

    async def run(self, job: Job) -> Answer | Streamed:
        """The answer to ``job``, whole or streamed; a refusal past its deadline or size bound."""
        ...

    async def close(self) -> None: ...


def too_large(max_bytes: int) -> Answer:
    return Answer(413, error=f"the answer is larger than {max_bytes} bytes, this endpoint's limit: narrow the "
                             "query (LIMIT, fewer variables), or download a dump from /dumps/")


class Exchange:
    """The reading end of one running job: its chunks as they come, then its last :class:`Answer`.

    ``credit`` lets the writer send one more chunk; ``cancel`` tells it to stop (its reader went away,
    or the deadline passed) — both are the backend's, so that one reader serves every backend.
    """

    def __init__(self, credit: Callable[[], None], cancel: Callable[[], None]) -> None:
        self.messages: asyncio.Queue[bytes | Answer] = asyncio.Queue()
        self.credit = credit
        self._cancel = cancel
        self.received = 0  # chunks so far
        self.ended: Answer | None = None

    def put(self, message: bytes | Answer) -> None:
        """From the event loop: a chunk, or the last answer (anything after that is dropped)."""
        if self.ended is not None:
            return
        if isinstance(message, Answer):
            self.ended = message
        else:
            self.received += 1
        self.messages.put_nowait(message)

    def cancel(self) -> None:
        if self.ended is None:
            self._cancel()


@dataclass
class Streamed:
    """An answer too long to hold: its first chunks, and the exchange that brings the rest."""

    head: list[bytes]
    exchange: Exchange

    async def chunks(self) -> AsyncIterator[bytes]:
        """The answer's bytes; :class:`AnswerAborted` if it ends badly (the response must then be aborted)."""
        ended = False
        try:
            for chunk in self.head:
                yield chunk
            self.head = []
            while True:
                message = await self.exchange.messages.get()
                if isinstance(message, Answer):
                    ended = True
                    if message.status != 200:
                        raise AnswerAborted(message.error or f"the answer ended with status {message.status}")
                    if message.body:
                        yield message.body
                    return
                yield message
                self.exchange.credit()
        finally:
            if not ended:
                self.exchange.cancel()


async def collect(exchange: Exchange, job: Job) -> Answer | Streamed:
    """Read ``exchange`` until its answer ends (whole) or passes :data:`WHOLE_BYTES` (streamed).

    A ``whole`` job reads up to ``max_bytes``. If the caller is cancelled, the job is told to stop.
    """
    limit = job.max_bytes if job.whole else min(job.max_bytes, WHOLE_BYTES)
    chunks: list[bytes] = []
    size = 0
    try:
        while True:
            message = await exchange.messages.get()
            if isinstance(message, Answer):
                if message.status != 200:
                    return message
                if not chunks:  # a small answer comes whole with its last message
                    return message
                return Answer(200, b"".join([*chunks, message.body]), generation=message.generation)
            chunks.append(message)
            size += len(message)
            exchange.credit()
            if size > limit and not job.whole:
                return Streamed(chunks, exchange)
    except BaseException:
        exchange.cancel()
        raise


class ChunkWriter:
    """Where a result is written (a binary file object for pyoxigraph's serialiser): sends it on in chunks.

    ``send`` passes a chunk on, waiting for credit; it raises :class:`OSError` when the reader cancelled.
    Past ``max_bytes`` writing fails: ``stopped`` then holds the answer to give.
    """

    def __init__(self, send: Callable[[bytes], None], max_bytes: int) -> None:
        self._send = send
        self.max_bytes = max_bytes
        self.written = 0
        self._buffer = bytearray()
        self.sent = 0  # chunks passed on
        self.stopped: Answer | None = None

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self.written += len(data)
        if self.written > self.max_bytes:
            self.stopped = too_large(self.max_bytes)
            raise OSError(self.stopped.error)
        self._buffer += data
        if len(self._buffer) >= CHUNK_BYTES:
            self.flush()
        return len(data)

    def finish(self) -> bytes:
        """The answer is written: what is left to go with its last message.

        An answer that never filled a chunk is returned whole (one message for it, no credit asked);
        otherwise the rest is sent as a chunk, and nothing is left.
        """
        if not self.sent:
            body, self._buffer = bytes(self._buffer), bytearray()
            return body
        self.flush()
        return b""

    def flush(self) -> None:
        if self._buffer:
            chunk, self._buffer = bytes(self._buffer), bytearray()
            self.sent += 1
            try:
                self._send(chunk)
            except OSError as exc:
                self.stopped = self.stopped or Answer(503, error=f"the answer was not completed: {exc}")
                raise


class Credit:
    """A writer's side of the window: ``take`` blocks until the reader has room (or cancelled the job)."""

    def __init__(self) -> None:
        self._room = threading.Semaphore(WINDOW)
        self.cancelled = False

    def take(self) -> None:
        self._room.acquire()
        if self.cancelled:
            self._room.release()  # wake any other waiter too
            raise OSError("the answer's reader went away")

    def give(self) -> None:
        self._room.release()

    def cancel(self) -> None:
        self.cancelled = True
        self._room.release()
