"""A remote triple store: any server that speaks the SPARQL 1.1 Query protocol and the Graph Store HTTP Protocol.

Input: the URL of the store's query endpoint (and, where it cannot be derived, of its Graph Store
endpoint) and credentials from the environment. Output: graphs written with one ``PUT`` each (the
remote replaces a graph in one request, so each graph is wholly old or wholly new), graphs deleted,
graphs read, and query answers streamed back. Oxigraph server, Virtuoso, Apache Jena Fuseki, GraphDB,
QLever and Amazon Neptune all speak both protocols.

Requests that fail for a reason that may pass (no connection, a dropped connection, 429, 5xx) are
retried with exponential back-off, a bounded number of times; then, and on any other refusal, a
:class:`RemoteError` names the store (never its credentials) and the status. Credentials come only
from the environment (``KGBUILD_STORE_USER`` + ``KGBUILD_STORE_PASSWORD``, or ``KGBUILD_STORE_TOKEN``):
never from the command line, and they never appear in a message or a log.
"""

from __future__ import annotations

import contextlib
import io
import os
import time
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, cast
from urllib.parse import urlsplit

import httpx

from kgbuild.errors import KgbuildError

if TYPE_CHECKING:
    from pyoxigraph import Quad, QuerySolutions, Triple

    from kgbuild.settings import Settings

__all__ = ["Credentials", "Remote", "RemoteError", "graph_store_for", "is_remote", "open_remote", "copy_graphs"]

USER_AGENT = "kgbuild (remote store client)"
# Retried: the remote may come back. Anything else (400, 401, 403, 404 on a PUT, 413 ...) is an answer.
_TRANSIENT_STATUS = {429, 500, 502, 503, 504}
_MAX_BACKOFF = 30.0


class RemoteError(KgbuildError):
    """A remote store refused a request or could not be reached; names the store and the status."""

    def __init__(self, message: str, status: int | None = None) -> None:
        self.status = status
        super().__init__(message)


@dataclass(frozen=True)
class Credentials:
    """User and password (Basic or Digest, as the remote asks), or a bearer token. ``repr`` hides them."""

    user: str = ""
    password: str = ""
    token: str = ""

    def __repr__(self) -> str:
        return f"Credentials(user={self.user!r}, password={'***' if self.password else ''!r}, token=***)"

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Credentials | None:
        """``KGBUILD_STORE_USER``/``KGBUILD_STORE_PASSWORD`` or ``KGBUILD_STORE_TOKEN``; ``None`` if unset.

        >>> Credentials.from_environment({"KGBUILD_STORE_TOKEN": "t"}).token
        't'
        >>> Credentials.from_environment({}) is None
        True
        """
        environ = os.environ if environ is None else environ
        user, password = environ.get("KGBUILD_STORE_USER", ""), environ.get("KGBUILD_STORE_PASSWORD", "")
        token = environ.get("KGBUILD_STORE_TOKEN", "")
        if not (user or password or token):
            return None
        if token and (user or password):
            raise KgbuildError("set either KGBUILD_STORE_TOKEN or KGBUILD_STORE_USER/KGBUILD_STORE_PASSWORD, not both")
        if password and not user:
            raise KgbuildError("KGBUILD_STORE_PASSWORD is set but KGBUILD_STORE_USER is not")
        return cls(user, password, token)


class _ChallengeAuth(httpx.Auth):
    """Answer the remote's challenge: Digest (Virtuoso's ``-auth`` endpoints) or Basic, as it asks.

    Nothing is sent before the first challenge, so a password never travels to a store that did not ask
    for it; the scheme learnt is then used from the first request on.
    """

    requires_request_body = True

    def __init__(self, user: str, password: str) -> None:
        self._basic = httpx.BasicAuth(user, password)
        self._digest = httpx.DigestAuth(user, password)
        self._scheme = ""

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._scheme == "digest":
            yield from self._digest.auth_flow(request)
            return
        if self._scheme == "basic":
            yield from self._basic.auth_flow(request)
            return
        response = yield request
        if response.status_code != 401:
            return
        challenge = response.headers.get("www-authenticate", "").strip().lower()
        self._scheme = "digest" if challenge.startswith("digest") else "basic"
        if self._scheme == "digest":
            yield from self._digest.auth_flow(request)
        else:
            yield from self._basic.auth_flow(request)


def is_remote(location: object) -> bool:
    """Whether a ``--store`` value names a remote store.

    >>> is_remote("https://example.org/sparql"), is_remote("kgstore")
    (True, False)
    """
    return isinstance(location, str) and location.lower().startswith(("http://", "https://"))


def graph_store_for(query_url: str, authenticated: bool = False) -> str:
    """The Graph Store endpoint beside a query endpoint, where the server's convention is known.

    >>> graph_store_for("http://127.0.0.1:7878/query")
    'http://127.0.0.1:7878/store'
    >>> graph_store_for("http://127.0.0.1:8890/sparql", authenticated=True)
    'http://127.0.0.1:8890/sparql-graph-crud-auth'

    :raises KgbuildError: when the convention is unknown (set ``--graph-store``).
    """
    parts = urlsplit(query_url)
    path = parts.path.rstrip("/")
    if path.endswith("/query"):  # Oxigraph server: /query and /store
        path = path[: -len("query")] + "store"
    elif path.endswith("/sparql"):  # Virtuoso: /sparql and /sparql-graph-crud(-auth)
        path += "-graph-crud-auth" if authenticated else "-graph-crud"
    else:
        raise KgbuildError(f"cannot tell the Graph Store endpoint of {_safe(query_url)}: set --graph-store "
                           "(KGBUILD_GRAPH_STORE), e.g. http://host:3030/ds/data for Fuseki")
    return parts._replace(path=path, query="", fragment="").geturl()


def _safe(url: str) -> str:
    """A URL as it may be shown: without user information."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    return parts._replace(netloc=parts.hostname + (f":{parts.port}" if parts.port else "")).geturl()  # type: ignore[operator]


class Remote:
    """A client of one remote store: Graph Store ``PUT``/``DELETE``/``GET`` per graph, and SPARQL queries.

    :param query_url: the SPARQL 1.1 Query endpoint (``http://host:7878/query``, ``http://host:8890/sparql``).
    :param graph_store_url: the Graph Store endpoint; derived from ``query_url`` when empty.
    :param retries: how often a request that failed transiently is tried again (0: never).
    :param backoff: the first wait between tries in seconds, doubled each time.
    :param concurrency: graphs written at once by :meth:`put_graphs`.
    """

    def __init__(self, query_url: str, graph_store_url: str = "", credentials: Credentials | None = None,
                 retries: int = 5, backoff: float = 0.5, timeout: float = 120.0, concurrency: int = 4) -> None:
        if not is_remote(query_url):
            raise KgbuildError("a remote store is named by an http(s) URL")
        self.query_url = query_url
        self.name = _safe(query_url)
        self.graph_store_url = graph_store_url or graph_store_for(
            query_url, authenticated=bool(credentials and credentials.user))
        self.retries = retries
        self.backoff = backoff
        self.concurrency = max(1, concurrency)
        auth: httpx.Auth | None = None
        headers = {"User-Agent": USER_AGENT}
        if credentials is not None and credentials.token:
            headers["Authorization"] = f"Bearer {credentials.token}"
        elif credentials is not None and credentials.user:
            auth = _ChallengeAuth(credentials.user, credentials.password)
        self._client = httpx.Client(auth=auth, headers=headers, follow_redirects=False, trust_env=False,
                                    timeout=httpx.Timeout(timeout, connect=10.0),
                                    limits=httpx.Limits(max_connections=self.concurrency + 4))
        self.server = ""  # the remote's Server header, once seen (tells Virtuoso, which takes a timeout)
        self.requests = 0  # requests sent, retries included

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Remote:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Remote({self.name!r})"

    @property
    def is_virtuoso(self) -> bool:
        return self.server.lower().startswith("virtuoso")

    # --- requests ----------------------------------------------------------------------------------

    def _request(self, method: str, url: str, what: str, ok: Sequence[int] = (200, 201, 204), **kwargs: object
                 ) -> httpx.Response:
        """One request, retried while the failure may pass; the response (read) when its status is in ``ok``."""
        attempt = 0
        while True:
            attempt += 1
            self.requests += 1
            try:
                response = self._client.request(method, url, **kwargs)  # type: ignore[arg-type]
            except httpx.TransportError as exc:
                problem, status, wait_for = _transport_problem(exc), None, None
            else:
                self.server = response.headers.get("server", self.server)
                if response.status_code in ok:
                    return response
                status = response.status_code
                problem = f"answered {status} {response.reason_phrase}".rstrip() + _excerpt(response.text)
                if status not in _TRANSIENT_STATUS:
                    raise RemoteError(f"remote store {self.name}: {what}: {problem}", status)
                wait_for = _retry_after(response.headers.get("retry-after"))
            if attempt > self.retries:
                tries = f" (after {attempt} tries)" if attempt > 1 else ""
                raise RemoteError(f"remote store {self.name}: {what}: {problem}{tries}", status)
            time.sleep(min(wait_for if wait_for is not None else self.backoff * 2 ** (attempt - 1), _MAX_BACKOFF))

    def put_graph(self, graph: str, ntriples: bytes) -> None:
        """Replace one named graph with ``ntriples`` (Graph Store ``PUT``: one request, all or nothing)."""
        # N-Triples is Turtle: every Graph Store implementation reads text/turtle, not all application/n-triples.
        self._request("PUT", self.graph_store_url, f"PUT <{graph}>", params={"graph": graph}, content=ntriples,
                      headers={"Content-Type": "text/turtle; charset=utf-8"})

    def delete_graph(self, graph: str) -> None:
        """Remove one named graph; a graph that is already gone is fine."""
        self._request("DELETE", self.graph_store_url, f"DELETE <{graph}>", ok=(200, 202, 204, 404),
                      params={"graph": graph})

    def get_graph(self, graph: str) -> list[Triple]:
        """The triples of one named graph (empty if the remote has no such graph)."""
        from pyoxigraph import RdfFormat, parse

        response = self._request("GET", self.graph_store_url, f"GET <{graph}>", ok=(200, 404),
                                 params={"graph": graph},
                                 headers={"Accept": "application/n-triples, text/turtle;q=0.5"})
        if response.status_code == 404 or not response.content.strip():
            return []
        media = response.headers.get("content-type", "").split(";")[0].strip().lower()
        try:
            return [q.triple for q in parse(response.content, format=RdfFormat.from_media_type(media)
                                            or RdfFormat.TURTLE)]
        except SyntaxError as exc:
            raise RemoteError(f"remote store {self.name}: GET <{graph}>: unreadable answer ({exc})") from None

    def put_graphs(self, graphs: Sequence[tuple[str, bytes]], done: Callable[[str], None] | None = None) -> None:
        """PUT several graphs, ``concurrency`` at a time; ``done`` is called with each graph once it is confirmed.

        :raises RemoteError: for the first graph the remote refused; the others not yet sent are not sent.
        """
        if self.concurrency == 1 or len(graphs) == 1:
            for graph, body in graphs:
                self.put_graph(graph, body)
                if done:
                    done(graph)
            return
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="kgbuild-put") as pool:
            futures = {pool.submit(self.put_graph, graph, body): graph for graph, body in graphs}
            finished, pending = wait(futures, return_when=FIRST_EXCEPTION)
            for future in pending:
                future.cancel()
            for future in finished:
                if future.exception() is None and done:
                    done(futures[future])
            for future in finished:
                error = future.exception()
                if error is not None:
                    raise error

    def select(self, query: str, timeout: float | None = None) -> list[dict[str, object]]:
        """A small SELECT's rows as ``{variable: pyoxigraph term}`` (for the build's own bookkeeping)."""
        with self.query(query, timeout=timeout) as result:
            solutions = cast("QuerySolutions", result)
            rows = [{v.value: row[v] for v in solutions.variables} for row in solutions]
        return rows

    def ask(self, query: str, timeout: float | None = None) -> bool:
        with self.query(query, timeout=timeout) as result:
            return bool(result)

    @contextlib.contextmanager
    def query(self, text: str, graph: bool = False, params: Mapping[str, Sequence[str]] | None = None,
              timeout: float | None = None, deadline: float | None = None, retries: int | None = None,
              store_timeout: float | None = None) -> Iterator[object]:
        """Send a query; yield the answer parsed as it streams in (``QuerySolutions``, ``QueryBoolean``, or an
        iterator of ``Triple`` when ``graph``). Leaving the block closes the connection, so a reader that
        stops early (the deadline, the size bound) does not make the remote send the rest.

        :param deadline: a ``time.monotonic()`` instant past which reading stops with :class:`TimeoutError`.
        :param store_timeout: the time limit passed to a store known to take one (Virtuoso), in seconds;
            default 80 % of ``timeout``, so that the store stops its own work before we hang up.
        :raises RemoteError: when the remote refuses the query (its status and message) or cannot be reached.
        """
        from pyoxigraph import QueryResultsFormat, RdfFormat, parse, parse_query_results

        accept = ("application/n-triples, text/turtle;q=0.8" if graph else
                  "application/sparql-results+json, application/sparql-results+xml;q=0.8")
        form: list[tuple[str, str]] = [("query", text)]
        for key, values in (params or {}).items():
            form.extend((key, value) for value in values)
        if store_timeout is None and timeout is not None:
            store_timeout = timeout * 0.8
        if store_timeout is not None and self.is_virtuoso:
            form.append(("timeout", str(max(1, int(store_timeout * 1000)))))  # Virtuoso: milliseconds
        request = self._client.build_request(
            "POST", self.query_url, content=_urlencode(form),
            headers={"Accept": accept, "Content-Type": "application/x-www-form-urlencoded"},
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)) if timeout else None)
        response = self._send_streaming(request, retries if retries is not None else self.retries)
        try:
            media = response.headers.get("content-type", "").split(";")[0].strip().lower()
            stream = cast(IO[bytes], _ResponseReader(response, deadline))
            if graph:
                rdf_format = RdfFormat.from_media_type(media) or RdfFormat.N_TRIPLES
                yield (quad.triple for quad in parse(stream, format=rdf_format))
            else:
                results_format = QueryResultsFormat.from_media_type(media) or QueryResultsFormat.JSON
                yield parse_query_results(stream, format=results_format)
        finally:
            response.close()

    def _send_streaming(self, request: httpx.Request, retries: int) -> httpx.Response:
        attempt = 0
        while True:
            attempt += 1
            self.requests += 1
            try:
                response = self._client.send(request, stream=True)
            except httpx.TransportError as exc:
                problem, status = _transport_problem(exc), None
            else:
                self.server = response.headers.get("server", self.server)
                if response.status_code == 200 and response.headers.get("x-sql-state", "") == "S1TAT":
                    # Virtuoso at its timeout: "200 OK" with whatever it had found so far. Never pass that on.
                    response.close()
                    raise RemoteError(f"remote store {self.name}: query: stopped at the store's time limit with "
                                      "an incomplete answer", 206)
                if response.status_code == 200:
                    return response
                status = response.status_code
                try:
                    body = response.read().decode("utf-8", "replace")
                finally:
                    response.close()
                problem = f"answered {status} {response.reason_phrase}".rstrip() + _excerpt(body)
                if status not in _TRANSIENT_STATUS:
                    raise RemoteError(f"remote store {self.name}: query: {problem}", status)
            if attempt > retries:
                raise RemoteError(f"remote store {self.name}: query: {problem}", status)
            time.sleep(min(self.backoff * 2 ** (attempt - 1), _MAX_BACKOFF))

    def graphs_under(self, prefix: str) -> list[str]:
        """The named graphs whose IRI starts with ``prefix``."""
        rows = self.select("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } FILTER(STRSTARTS(STR(?g), "
                           f"{_string(prefix)})) }}")
        return sorted(str(getattr(row["g"], "value", "")) for row in rows if row.get("g") is not None)


def copy_graphs(remote: Remote, prefix: str, exclude: str, add: Callable[[Sequence[Quad]], None],
                batch: int = 50_000) -> int:
    """Stream every quad of the graphs under ``prefix`` (and not under ``exclude``) from ``remote`` into ``add``.

    One streamed SELECT; a count first, so that an answer the remote cut short (Virtuoso's
    ``ResultSetMaxRows``) is an error, never a silently partial copy.

    :return: the number of quads copied.
    :raises RemoteError: when the remote cannot be read or sends fewer quads than it counts.
    """
    from pyoxigraph import NamedNode, Quad, QuerySolutions

    where = (f"GRAPH ?g {{ ?s ?p ?o }} FILTER(STRSTARTS(STR(?g), {_string(prefix)})"
             + (f" && !STRSTARTS(STR(?g), {_string(exclude)})" if exclude else "") + ")")
    rows = remote.select(f"SELECT (COUNT(*) AS ?n) WHERE {{ {where} }}")
    expected = int(str(getattr(rows[0].get("n"), "value", "0"))) if rows else 0
    copied = 0
    pending: list[Quad] = []
    with remote.query(f"SELECT ?g ?s ?p ?o WHERE {{ {where} }}") as result:
        for row in cast(QuerySolutions, result):
            graph, subject, predicate, obj = row["g"], row["s"], row["p"], row["o"]
            if not isinstance(graph, NamedNode) or not isinstance(predicate, NamedNode) or subject is None \
                    or obj is None:
                continue
            pending.append(Quad(subject, predicate, obj, graph))
            if len(pending) >= batch:
                add(pending)
                copied += len(pending)
                pending = []
    add(pending)
    copied += len(pending)
    if copied < expected:
        raise RemoteError(f"remote store {remote.name}: sent {copied} of {expected} quads: it cuts answers short "
                          "(Virtuoso: raise ResultSetMaxRows in the [SPARQL] section of virtuoso.ini)")
    return copied


def open_remote(settings: Settings, timeout: float = 120.0) -> Remote:
    """The remote store named by ``settings.store`` (a URL), with credentials from the environment.

    :raises KgbuildError: when ``settings.store`` is not a URL (:func:`kgbuild.stores.open_store` chooses).
    """
    return Remote(str(settings.store), settings.graph_store, Credentials.from_environment(),
                  retries=settings.store_retries, timeout=timeout)


class _ResponseReader(io.RawIOBase):
    """A streamed response body as a file, for pyoxigraph's incremental parsers; stops at a deadline."""

    def __init__(self, response: httpx.Response, deadline: float | None) -> None:
        self._chunks = response.iter_raw() if _identity(response) else response.iter_bytes()
        self._pending = b""
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._deadline is not None and time.monotonic() > self._deadline:
            raise TimeoutError("the query passed its deadline")
        if not self._pending:
            try:
                self._pending = next(self._chunks, b"")
            except httpx.TransportError as exc:
                raise OSError(_transport_problem(exc)) from None
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def _identity(response: httpx.Response) -> bool:
    return response.headers.get("content-encoding", "identity").lower() in ("", "identity")


def _urlencode(pairs: Sequence[tuple[str, str]]) -> bytes:
    from urllib.parse import urlencode

    return urlencode(pairs).encode("ascii")


def _string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _transport_problem(exc: httpx.TransportError) -> str:
    kind = {httpx.ConnectError: "cannot connect", httpx.ConnectTimeout: "no connection in time",
            httpx.ReadTimeout: "no answer in time", httpx.WriteTimeout: "could not send in time",
            httpx.RemoteProtocolError: "the connection was dropped"}.get(type(exc), "the connection failed")
    detail = str(exc).strip()
    return f"{kind} ({detail})" if detail and detail.lower() not in kind else kind


def _excerpt(text: str) -> str:
    line = " ".join(text.split())[:300]
    return f": {line}" if line else ""


def _retry_after(value: str | None) -> float | None:
    if value and value.strip().isdigit():
        return float(value.strip())
    return None
