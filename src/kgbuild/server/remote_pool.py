"""Query jobs answered by a remote store: the same interface as :class:`~kgbuild.server.workers.WorkerPool`.

The server checks every query (read-only, SERVICE allow-list, size) before a job exists, so nothing
refused ever reaches the remote. A job is sent to the remote as it came (relative IRIs resolved against
our endpoint, as in the embedded store; ``default-graph-uri``/``named-graph-uri`` passed on), with the
deadline passed where the remote is known to take one (Virtuoso's ``timeout``, in milliseconds) and
enforced here whatever the remote does: the answer is read as it streams in and written on, in the
format the client asked for, as the client takes it (:mod:`kgbuild.server.answers`); at the deadline or
the size bound the reading stops (closing the connection, so the remote stops sending) and the answer
fails visibly. Remote answers are cached per *remote generation*: a token read from the
remote's build graph every few seconds, which every ``kgbuild build`` changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from concurrent.futures import ThreadPoolExecutor

from pyoxigraph import RdfFormat

from kgbuild.errors import KgbuildError
from kgbuild.iris import Iris
from kgbuild.remote import Remote, RemoteError
from kgbuild.server.answers import Answer, ChunkWriter, Credit, Exchange, Job, Streamed, collect
from kgbuild.server.results import write_result
from kgbuild.vocab import PROV

__all__ = ["RemotePool", "RemoteGeneration", "check_serving"]

log = logging.getLogger("kgbuild.server")
_GRAPH_FORMATS = {f.name for f in (RdfFormat.TURTLE, RdfFormat.N_TRIPLES, RdfFormat.JSON_LD, RdfFormat.RDF_XML,
                                   RdfFormat.N_QUADS, RdfFormat.TRIG)}
GENERATION_SECONDS = 2.0  # how often the remote's build graph is looked at


class RemoteGeneration:
    """A token that changes whenever a build changes the remote (``""`` while the remote cannot be read)."""

    def __init__(self, remote: Remote, iris: Iris, include_personal: bool = False) -> None:
        self.remote = remote
        self.iris = iris
        self.include_personal = include_personal
        self._name = ""
        # Set when a build put personal graphs on the remote while this server did not opt in: then every
        # query is refused (the check at start-up cannot see a build that comes later).
        self.refusal = ""

    def __call__(self) -> str:
        return self._name

    def refresh(self) -> str:
        query = (f"SELECT (COUNT(?t) AS ?n) (MAX(STR(?t)) AS ?m) WHERE {{ GRAPH <{self.iris.build_graph.value}> "
                 f"{{ ?g <{PROV}generatedAtTime> ?t }} }}")
        try:
            rows = self.remote.select(query, timeout=10.0)
        except (KgbuildError, OSError, SyntaxError, TimeoutError) as exc:
            log.warning("cannot read the remote store's build graph: %s", exc)
            self._name = ""
            return ""
        row = rows[0] if rows else {}
        stamp = "|".join(str(getattr(row.get(k), "value", "")) for k in ("n", "m"))
        name = "remote-" + hashlib.sha256(stamp.encode()).hexdigest()[:12]
        if name != self._name and not self.include_personal:
            try:
                personal = self.remote.graphs_under(self.iris.graph("personal").value + "/")
            except (KgbuildError, OSError, SyntaxError, TimeoutError) as exc:
                log.warning("cannot read the remote store's graph list: %s", exc)
                self._name = ""
                return ""
            self.refusal = (f"the remote store now holds personal-data graphs ({len(personal)}), which this "
                            "server was not started to serve (--include-personal-data): every query is refused "
                            "until a build without that option removes them") if personal else ""
            if personal:
                log.error("%s", self.refusal)
        self._name = name
        return self._name


def check_serving(remote: Remote, iris: Iris, include_personal: bool) -> None:
    """Refuse to serve a remote store that would answer differently from the embedded one, or leak.

    :raises KgbuildError: when the remote cannot be queried, its default graph is not the union of its
        graphs (Oxigraph server without ``--union-default-graph``), or it holds personal-data graphs
        while the operator did not opt in.
    """
    if not remote.ask("ASK { GRAPH ?g { ?s ?p ?o } }", timeout=30.0):
        return  # nothing built yet: served as empty until a build fills it
    if not remote.ask("ASK { ?s ?p ?o }", timeout=30.0):
        raise KgbuildError(f"remote store {remote.name}: its default graph is empty although it holds named "
                           "graphs; kgbuild's queries see the union of the graphs, so configure the store to use "
                           "the union as default graph (oxigraph serve --union-default-graph)")
    if not include_personal and remote.graphs_under(iris.graph("personal").value + "/"):
        raise KgbuildError(f"remote store {remote.name} holds personal-data graphs ({iris.graph('personal').value}/"
                           "...); serve it with --include-personal-data, or rebuild into it without that option "
                           "(which deletes them)")


class RemotePool:
    """Runs jobs on a remote store, at most ``size`` at once, each within ``timeout`` seconds."""

    def __init__(self, remote: Remote, size: int, timeout: float, generation: RemoteGeneration) -> None:
        self.remote = remote
        self.size = size
        self.timeout = timeout
        self.generation = generation
        self._executor = ThreadPoolExecutor(size, thread_name_prefix="kgbuild-remote-query")
        self._refresher: asyncio.Task[None] | None = None
        self.killed = 0  # queries stopped at the deadline since start
        self.restarted = 0  # never: a remote query is stopped on its own

    async def start(self) -> None:
        await asyncio.to_thread(self.generation.refresh)
        self._refresher = asyncio.create_task(self._follow())

    async def _follow(self) -> None:
        while True:
            await asyncio.sleep(GENERATION_SECONDS)
            await asyncio.to_thread(self.generation.refresh)

    async def close(self) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
        self._executor.shutdown(wait=False, cancel_futures=True)
        self.remote.close()

    async def run(self, job: Job) -> Answer | Streamed:
        """The remote's answer to ``job``, whole or streamed; 503 past the deadline before it starts (the
        remote's reading is stopped too), an aborted answer past it after."""
        deadline = time.monotonic() + self.timeout
        loop = asyncio.get_running_loop()
        credit = Credit()
        exchange = Exchange(credit.give, credit.cancel)

        def send(chunk: bytes) -> None:  # in the reading thread
            credit.take()
            loop.call_soon_threadsafe(exchange.put, chunk)

        def answer() -> None:
            result = self._answer(job, deadline, ChunkWriter(send, job.max_bytes))
            loop.call_soon_threadsafe(exchange.put, result)

        loop.run_in_executor(self._executor, answer)
        expiry = loop.call_later(self.timeout, self._expire, exchange)
        try:
            outcome = await collect(exchange, job)
        finally:
            if exchange.ended is not None:
                expiry.cancel()
        return outcome

    def _expire(self, exchange: Exchange) -> None:
        if exchange.ended is None:
            self.killed += 1
            exchange.cancel()
            exchange.put(Answer(503, error=f"the query was stopped at the {self.timeout:g} s deadline"))

    def _answer(self, job: Job, deadline: float, writer: ChunkWriter) -> Answer:
        """Runs in a thread of its own: a parsed answer is consumed where it was made, as pyoxigraph requires."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:  # waited for a free thread past the deadline
            return Answer(503, error=f"every query slot stayed busy for {self.timeout:g} s; try again later")
        if self.generation.refusal:
            return Answer(503, error=self.generation.refusal)
        generation = self.generation() or "-"  # never cached under an unknown generation
        params = {"default-graph-uri": job.default_graph_uris, "named-graph-uri": job.named_graph_uris}
        # Relative IRIs resolve against our endpoint, as the embedded store does (a later BASE still wins).
        text = f"BASE <{job.base_iri}sparql>\n{job.query}" if job.base_iri else job.query
        try:
            with self.remote.query(text, graph=job.format_name in _GRAPH_FORMATS,
                                   params={k: v for k, v in params.items() if v}, timeout=remaining,
                                   deadline=deadline, retries=0) as result:
                write_result(result, job.format_name, writer)  # type: ignore[arg-type]
                writer.flush()
        except RemoteError as exc:
            return _refused(exc, job)
        except TimeoutError:
            return Answer(503, error=f"the query was stopped at the {self.timeout:g} s deadline")
        except SyntaxError as exc:
            return Answer(502, error=f"the remote store sent an answer that cannot be read: {exc}")
        except OSError as exc:
            if writer.stopped is not None:  # too large, or its reader went away
                return writer.stopped
            return Answer(503, error=f"the remote store stopped answering: {exc}")
        return Answer(200, generation=generation)


def _refused(exc: RemoteError, job: Job) -> Answer:
    status = exc.status
    if status is None:
        return Answer(503, error=f"{exc}")
    if status == 206:  # Virtuoso's "anytime" answer: partial results at its limit; never passed on silently
        return Answer(503, error=f"the remote store stopped the query at its limit and sent a partial answer: {exc}")
    if status == 400:
        return Answer(400, error=f"the query could not be evaluated: {exc}")
    if job.federated and status >= 500:
        return Answer(502, error=f"a federated endpoint or the remote store failed: {exc}")
    if status in (503, 504):
        return Answer(503, error=f"{exc}")
    return Answer(502, error=f"{exc}")
