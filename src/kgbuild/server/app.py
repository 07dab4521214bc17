"""The HTTP application: SPARQL 1.1 Protocol at ``/sparql``, linked data at ``/id/...``, dumps, VoID, query page.

Every request that touches the graph goes through the worker pool (deadline, answer size, read-only
store). Bad requests get a 4xx with a one-line message, never a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import html
import json
import logging
import os
import re
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import parse_qs, quote

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from pyoxigraph import Literal, NamedNode, QueryResultsFormat, RdfFormat, Triple, parse
from starlette.routing import Route

from kgbuild import __version__
from kgbuild.errors import KgbuildError
from kgbuild.iris import RECORDED_BASES, recorded_bases
from kgbuild.jsonld import CONTEXT_PATH, MEDIA_TYPE
from kgbuild.resources import ontology_path, queries_path
from kgbuild.server.answers import Answer, AnswerAborted, Job, QueryBackend, Streamed
from kgbuild.server.assets import STATIC, Assets, api_page
from kgbuild.server.cache import AnswerCache
from kgbuild.server.dumps import DumpKeeper
from kgbuild.server.feed import event_stream, event_stream_page
from kgbuild.server.files import file_response
from kgbuild.server.negotiation import GRAPH_FORMATS, TABLE_FORMATS, Choice, NotAcceptable, choose
from kgbuild.server.pages import LABEL_PROPERTIES, dumps_page, graph_page, resource_page
from kgbuild.server.results import graph_body
from kgbuild.settings import Settings
from kgbuild.sparql import QueryRefused, check_query
from kgbuild.vocab import DCAT, DCT, KG, OWL, RDF, SD, VOID

__all__ = ["create_app", "named_queries"]

log = logging.getLogger("kgbuild.server")
# How long a request for the dumps or the description waits for the dumps of a new generation (after
# that, the previous dumps are served, or 503 when there are none yet).
DUMPS_WAIT = 30.0
# The most a page's own query may return (a resource's description; the store's base).
PAGE_ANSWER_BYTES = 32 * 1024 * 1024
_EXTENSIONS = {"ttl": RdfFormat.TURTLE, "nt": RdfFormat.N_TRIPLES, "jsonld": RdfFormat.JSON_LD,
               "rdf": RdfFormat.RDF_XML}


def _text(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    return Response(message.rstrip() + "\n", status_code=status, media_type="text/plain; charset=utf-8",
                    headers=dict(headers or {}))


class _ClientLimiter:
    """At most ``limit`` requests in flight per client address; the rest get 429 + Retry-After."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.active: Counter[str] = Counter()

    @contextlib.contextmanager
    def slot(self, client: str) -> Iterator[bool]:
        if self.active[client] >= self.limit:
            yield False
            return
        self.active[client] += 1
        try:
            yield True
        finally:
            self.active[client] -= 1
            if not self.active[client]:
                del self.active[client]


class _State:
    """What the routes share. The store is chosen once (:func:`kgbuild.stores.open_store`): the embedded one
    (query worker processes over the store directory) or a remote one (:mod:`kgbuild.server.remote_pool`);
    the routes are the same."""

    def __init__(self, settings: Settings) -> None:
        from kgbuild.stores import open_store

        self.settings = settings
        self.limiter = _ClientLimiter(settings.max_concurrent_per_client)
        self.cache = AnswerCache()
        self.bases: dict[str, str] = {}  # store generation → the base IRI its IRIs were minted under
        self.store = open_store(settings, timeout=settings.query_timeout + 5)
        self.pool: QueryBackend = self.store.query_backend(settings)
        self.generation: Callable[[], str] = self.store.stamp
        self.dumps = DumpKeeper(settings, self.store)


def named_queries() -> list[dict[str, str]]:
    """The files in ``queries/``, with their ``# title:`` and ``# description:`` headers."""
    out = []
    for path in sorted(queries_path().glob("*.rq")):
        text = path.read_text(encoding="utf-8")
        headers = dict(re.findall(r"^#\s*(\w+):\s*(.+)$", text, flags=re.M))
        out.append({"name": path.stem, "title": headers.get("title", path.stem),
                    "description": headers.get("description", ""), "query": text})
    return out


_GRAPH_LIST = {"type": "array", "items": {"type": "string", "format": "uri"}}
_QUERY = {"type": "string", "description": "A SPARQL 1.1 query (updates are refused)",
          "examples": ["SELECT * WHERE { ?s ?p ?o } LIMIT 10"]}


def _protocol_description(method: str) -> dict[str, Any]:
    """The SPARQL 1.1 Protocol's parameters, for the OpenAPI description of ``/sparql``."""
    graphs = [{"name": name, "in": "query", "schema": _GRAPH_LIST, "style": "form", "explode": True}
              for name in ("default-graph-uri", "named-graph-uri")]
    answer_format = {"name": "format", "in": "query", "description": "json, xml, csv, tsv; for graphs ttl, nt, "
                     "jsonld, rdfxml; or a media type (instead of an Accept header)", "schema": {"type": "string"}}
    if method == "GET":
        return {"parameters": [{"name": "query", "in": "query", "required": True, "schema": _QUERY},
                               *graphs, answer_format]}
    form = {"type": "object", "required": ["query"],
            "properties": {"query": _QUERY, "default-graph-uri": _GRAPH_LIST, "named-graph-uri": _GRAPH_LIST}}
    return {"parameters": [*graphs, answer_format],
            "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": form},
                                                          "application/sparql-query": {"schema": _QUERY}}}}


def create_app(settings: Settings) -> FastAPI:
    """The application for one store; query workers start with the application and stop with it."""
    state = _State(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        logging.getLogger("uvicorn.error").addFilter(_ABORTED_ANSWERS)
        await state.pool.start()
        state.dumps.refresh()
        await _store_base(state)  # now, not in the first reader's request (kept per store generation)
        # What is made by now (modules, the application, its routes) stays: out of the garbage collector's
        # reach, so that a full collection walks only what requests made since (57,000 objects, 16 ms less).
        gc.freeze()
        try:
            yield
        finally:
            state.dumps.close()
            await state.pool.close()

    # FastAPI's native OpenTelemetry asks the global providers whether they are set up on every request
    # (28 µs each); kgbuild sets none up, so it is off.
    app = FastAPI(title="kgbuild SPARQL endpoint", version=__version__, lifespan=lifespan, docs_url=None,
                  redoc_url=None, description="Read-only SPARQL 1.1 endpoint and linked data for EU-funded projects.",
                  telemetry={"tracing": False, "metrics": False, "logs": False})
    app.state.kg = state
    app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["GET", "HEAD", "POST", "OPTIONS"],
                       allow_headers=["*"], expose_headers=["Retry-After"])
    # One handler reads the protocol's parameters itself (a form, a query string or a body), so it is
    # served by a plain Starlette route, found first: FastAPI's request machinery (dependencies, a
    # parsed query string) would only repeat that work on the busiest path. The API routes below,
    # never reached, describe the protocol's parameters per method, so that clients and fuzzers see them.
    app.router.routes.append(Route("/sparql", sparql_endpoint, methods=["GET", "HEAD", "POST"]))
    app.router.routes.append(Route("/sparql/", sparql_endpoint, methods=["GET", "HEAD", "POST"]))
    for method in ("GET", "POST"):
        app.add_api_route("/sparql", sparql_endpoint, methods=[method], operation_id=f"sparql_{method.lower()}",
                          summary="SPARQL 1.1 Protocol query endpoint (read-only)",
                          openapi_extra=_protocol_description(method))
    app.add_api_route("/sparql", sparql_endpoint, methods=["HEAD"], include_in_schema=False)
    app.add_api_route("/sparql/", sparql_endpoint, methods=["GET", "HEAD", "POST"], include_in_schema=False)
    pages: list[tuple[str, Callable[..., Any], str]] = [
        ("/id/{path:path}", linked_data, "A resource's description"),
        ("/dumps/", dumps_index, "The dumps, with checksums"),
        ("/dumps/{name}", dump_file, "One dump file (Range, ETag and conditional requests supported)"),
        ("/.well-known/void", void_description, "VoID + DCAT-AP description"),
        ("/ldes", event_stream, "The change feed, a Linked Data Event Stream (its first page is /ldes/0)"),
        ("/ldes/{page}", event_stream_page, "One page of the change feed (a closed page never changes)"),
        ("/" + CONTEXT_PATH, jsonld_context, "The JSON-LD context every JSON-LD answer names"),
        ("/ontology", ontology, "The ontology (HTML or Turtle)"),
        ("/queries", queries, "The named example queries"),
        ("/healthz", health, "Liveness and store generation"),
        ("/api", api_docs, ""),
        ("/", index, ""),
    ]
    for path, endpoint, summary in pages:
        app.add_api_route(path, endpoint, methods=["GET"], summary=summary or None, include_in_schema=bool(summary))
        # HEAD answers what GET would, without the body (harvesters check size and validators first).
        app.add_api_route(path, endpoint, methods=["HEAD"], include_in_schema=False)
    app.mount("/static", Assets(), name="static")
    return app


def _state(request: Request) -> _State:
    state: _State = request.app.state.kg
    return state


# --- SPARQL protocol -----------------------------------------------------------------------------

async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise QueryRefused(413, f"request body larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise QueryRefused(413, f"request body larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _form(data: str) -> dict[str, list[str]]:
    try:
        return parse_qs(data, keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise QueryRefused(400, "parameters are not valid UTF-8") from None


def _utf8(data: bytes, what: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise QueryRefused(400, f"{what} is not valid UTF-8 (byte {exc.start})") from None


async def _protocol_parameters(request: Request, limit: int) -> dict[str, list[str]]:
    params = _form(request.scope.get("query_string", b"").decode("latin-1"))
    if request.method != "POST":
        return params
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await _read_body(request, limit)
    if content_type == "application/x-www-form-urlencoded":
        for key, values in _form(_utf8(body, "the form body")).items():
            params.setdefault(key, []).extend(values)
    elif content_type == "application/sparql-query":
        params.setdefault("query", []).append(_utf8(body, "the query"))
    elif content_type == "application/sparql-update":
        params.setdefault("update", []).append("")
    else:
        raise QueryRefused(415, "send the query as application/sparql-query or application/x-www-form-urlencoded"
                                f" (got {content_type or 'no content type'})")
    return params


async def sparql_endpoint(request: Request) -> Response:
    """SPARQL 1.1 Protocol: GET ``?query=``, POST form or ``application/sparql-query``; updates refused."""
    state = _state(request)
    settings = state.settings
    try:
        params = await _protocol_parameters(request, settings.max_body_bytes)
        queries, updates = params.get("query", []), params.get("update", [])
        if queries and updates:
            raise QueryRefused(400, "a request carries either a query or an update, not both")
        if updates:
            raise QueryRefused(403, "this endpoint is read-only: SPARQL updates are refused")
        if not queries:
            if request.method in ("GET", "HEAD"):
                return _service_description(request, state)
            raise QueryRefused(400, "no query: send it as the 'query' parameter or an application/sparql-query body")
        if len(queries) > 1:
            raise QueryRefused(400, "more than one 'query' parameter")
        text = queries[0]
        if len(text.encode()) > settings.max_body_bytes:
            raise QueryRefused(413, f"query longer than {settings.max_body_bytes} bytes")
        # Reading a long query takes seconds of Python: off the event loop, so other clients are served meanwhile.
        info = (await asyncio.to_thread(check_query, text, settings.service_allowlist) if len(text) > 4096
                else check_query(text, settings.service_allowlist))
        offered = TABLE_FORMATS if info.form in ("SELECT", "ASK") else GRAPH_FORMATS
        formats = params.get("format")
        choice = choose(request.headers.get("accept"), offered, formats[0] if formats else None)
    except QueryRefused as exc:
        return _text(exc.status, str(exc))
    except NotAcceptable as exc:
        return _text(406, str(exc))
    job = Job(text, choice.format.name, settings.max_result_bytes, info.from_graphs, info.from_named_graphs,
              tuple(params.get("default-graph-uri", [])), tuple(params.get("named-graph-uri", [])),
              settings.include_personal_data, bool(info.services), settings.base_iri)
    return await _answer(request, state, job, choice)


async def _answer(request: Request, state: _State, job: Job, choice: Choice) -> Response:
    answer = await _run(request, state, job)
    if isinstance(answer, Streamed):
        return StreamingResponse(_streamed(answer), media_type=_media_type(choice), headers={"Vary": "Accept"})
    return answer if isinstance(answer, Response) else _response(answer, choice)


async def _streamed(answer: Streamed) -> AsyncIterator[bytes]:
    """The chunks of a long answer; if it cannot be completed, a line no results format allows (for a parser
    that ignores a broken connection), then the connection is closed before the body's end."""
    try:
        async for chunk in answer.chunks():
            yield chunk
    except AnswerAborted as exc:
        log.warning("an answer was aborted after its first bytes: %s", exc)
        yield f"\n\x00 kgbuild: this answer is incomplete and was aborted: {exc}\n".encode()
        raise


class _AbortedAnswers(logging.Filter):
    """Keeps an aborted answer's exception (the way to abort a response in ASGI) out of the server's error
    log as a traceback: it was logged above in one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], AnswerAborted))


_ABORTED_ANSWERS = _AbortedAnswers()


async def _run(request: Request, state: _State, job: Job) -> Answer | Streamed | Response:
    """A job's answer: from the cache of this store generation, or from a worker (429 when over the limit)."""
    generation = state.generation()
    key = (generation, *vars(job).values())  # plain values: an entry the garbage collector need not track
    cached = None if job.federated else state.cache.get(key)
    if cached is not None:
        return cached
    client = request.client.host if request.client else "unknown"
    with state.limiter.slot(client) as admitted:
        if not admitted:
            return _text(429, f"too many queries from {client} at once (limit "
                              f"{state.settings.max_concurrent_per_client}); try again shortly",
                         {"Retry-After": "1"})
        answer = await state.pool.run(job)
    if isinstance(answer, Answer) and not job.federated and answer.generation == generation:
        state.cache.put(key, answer)
    return answer


def _media_type(choice: Choice) -> str:
    media = choice.format.media_type
    if (media.startswith("text/") or media.endswith(("json", "xml"))) and "charset=" not in media:
        media += "; charset=utf-8"
    return media


def _response(answer: Answer, choice: Choice) -> Response:
    if answer.status != 200:
        if answer.status >= 500 and answer.status != 503 and answer.status != 502:
            log.error("query failed: %s", answer.error)
        headers = {"Retry-After": "5"} if answer.status == 503 else {}
        return _text(answer.status, answer.error or "the query failed", headers)
    return Response(answer.body, media_type=_media_type(choice), headers={"Vary": "Accept"})


def _service_description(request: Request, state: _State) -> Response:
    try:
        choice = choose(request.headers.get("accept"), GRAPH_FORMATS, request.query_params.get("format"), html=True)
    except NotAcceptable as exc:
        return _text(406, str(exc))
    base = state.settings.base_iri
    service, endpoint = NamedNode(base + "sparql#service"), NamedNode(base + "sparql")
    dataset = NamedNode(base + "sparql#dataset")
    n = NamedNode
    triples = [
        Triple(service, n(RDF + "type"), n(SD + "Service")),
        Triple(service, n(SD + "endpoint"), endpoint),
        Triple(service, n(SD + "supportedLanguage"), n(SD + "SPARQL11Query")),
        Triple(service, n(SD + "feature"), n(SD + "UnionDefaultGraph")),
        Triple(service, n(SD + "defaultEntailmentRegime"), n("http://www.w3.org/ns/entailment/Simple")),
        Triple(service, n(SD + "defaultDataset"), dataset),
        Triple(dataset, n(RDF + "type"), n(SD + "Dataset")),
        Triple(dataset, n(RDF + "type"), n(VOID + "Dataset")),
        Triple(dataset, n(VOID + "sparqlEndpoint"), endpoint),
        Triple(dataset, n(DCT + "description"), n(base + ".well-known/void")),
        Triple(service, n(DCT + "description"), Literal(
            f"Read-only. Per-query deadline {state.settings.query_timeout:g} s; answers up to "
            f"{state.settings.max_result_bytes} bytes, never cut short: a query past a bound gets an error "
            "status, or, once its answer has begun, an aborted response; SERVICE only to: "
            f"{', '.join(state.settings.service_allowlist) or 'none'}.", language="en")),
    ]
    if state.settings.service_allowlist:  # federation is off (every SERVICE refused) when the list is empty
        triples.append(Triple(service, n(SD + "feature"), n(SD + "BasicFederatedQuery")))
    for fmt in (*TABLE_FORMATS, *GRAPH_FORMATS):
        triples.append(Triple(service, n(SD + "resultFormat"), n(fmt.iri)))
    if choice.html:
        page = graph_page("SPARQL service description", triples, base, first=[service.value, dataset.value],
                          intro=_SD_INTRO, alternates=_format_links("/sparql"))
        return HTMLResponse(page, headers={"Vary": "Accept"})
    return Response(graph_body(triples, choice.format, base), media_type=choice.format.media_type,
                    headers={"Vary": "Accept"})


# --- linked data ---------------------------------------------------------------------------------

# A resource's description: its statements and the labels of what they name; the nodes minted under its
# IRI that it links to (amounts, participations), with theirs; what links to it, labelled; and, for an
# organisation, the projects whose participations name it, with the roles (for its page's list of projects).
_DESCRIBE = """
CONSTRUCT {{ <{iri}> ?p ?o . ?o ?lp ?ol . ?child ?cp ?co . ?co ?clp ?col . ?s ?sp <{iri}> . ?s ?slp ?sl .
            ?project <{has_participation}> ?s . ?s <{role}> ?role . ?role ?rlp ?rl . ?project ?plp ?pl }}
WHERE {{
  {{ <{iri}> ?p ?o .
     OPTIONAL {{ ?o ?lp ?ol . VALUES ?lp {{ {labels} }} }} }}
  UNION
  {{ <{iri}> ?link ?child . FILTER(STRSTARTS(STR(?child), "{iri}/"))
     ?child ?cp ?co .
     OPTIONAL {{ ?co ?clp ?col . VALUES ?clp {{ {labels} }} }} }}
  UNION
  {{ ?s ?sp <{iri}> . FILTER(!STRSTARTS(STR(?s), "{iri}/"))
     OPTIONAL {{ ?s ?slp ?sl . VALUES ?slp {{ {labels} }} }} }}
  UNION
  {{ ?s <{participant}> <{iri}> ; <{role}> ?role . ?project <{has_participation}> ?s .
     OPTIONAL {{ ?role ?rlp ?rl . VALUES ?rlp {{ {labels} }} }}
     OPTIONAL {{ ?project ?plp ?pl . VALUES ?plp {{ {labels} }} }} }}
}}
"""
_DESCRIBE_TERMS = {"labels": " ".join(f"<{p}>" for p in LABEL_PROPERTIES), "participant": KG + "participant",
                   "role": KG + "role", "has_participation": KG + "hasParticipation"}


async def _store_base(state: _State) -> str:
    """The base IRI the store's IRIs were minted under (its build graph's name says), once per generation.

    The IRIs are what the build minted, wherever this server listens: ``/id/PATH`` is looked up as
    ``<store base>id/PATH`` and the pages link by path, so they work on any host and port. A store with
    no build graph (or two bases, built before kgbuild checked) falls back on the ``base_iri`` setting.
    """
    generation = state.generation()
    known = state.bases.get(generation)
    if known is not None:
        return known
    # (with the server's own opt-in: a worker keeps the database its first job opened)
    answer = await state.pool.run(Job(RECORDED_BASES, QueryResultsFormat.JSON.name, PAGE_ANSWER_BYTES,
                                      include_personal=state.settings.include_personal_data, whole=True))
    if not isinstance(answer, Answer) or answer.status != 200:
        return state.settings.base_iri  # not kept: the next request asks again
    try:
        rows = json.loads(answer.body)["results"]["bindings"]
        bases = recorded_bases(row["g"]["value"] for row in rows if "g" in row)
    except (ValueError, KeyError, TypeError):  # a remote store's odd answer: not worth a 500 on every page
        return state.settings.base_iri
    base = state.settings.base_iri if not bases or state.settings.base_iri in bases else bases[0]
    if answer.generation == generation:
        state.bases = {generation: base}
    return base


async def linked_data(path: str, request: Request) -> Response:
    """Every IRI under ``<base>id/`` dereferences: HTML for browsers, RDF by Accept or extension.

    The base is the store's own (:func:`_store_base`), not the host the request came to.
    """
    state = _state(request)
    extension = path.rsplit(".", 1)[-1] if "." in path.rsplit("/", 1)[-1] else ""
    forced = _EXTENSIONS.get(extension)
    if forced is not None:
        path = path[: -len(extension) - 1]
    base = await _store_base(state)
    iri = base + "id/" + path
    if not re.fullmatch(r"[^\s<>\"{}|\\^`]+", iri):
        return _text(400, "not an IRI this server mints")
    try:
        choice = Choice(forced) if forced else choose(request.headers.get("accept"), GRAPH_FORMATS, html=True)
    except NotAcceptable as exc:
        return _text(406, str(exc))
    job = Job(_DESCRIBE.format(iri=iri, **_DESCRIBE_TERMS), RdfFormat.N_TRIPLES.name, PAGE_ANSWER_BYTES,
              include_personal=state.settings.include_personal_data, base_iri=state.settings.base_iri, whole=True)
    answer = await _run(request, state, job)
    if isinstance(answer, Response):
        return answer
    assert isinstance(answer, Answer), "a whole job's answer is never streamed"
    if answer.status != 200:
        return _response(answer, choice)
    triples = [Triple(q.subject, q.predicate, q.object) for q in parse(answer.body, format=RdfFormat.N_TRIPLES)]
    if not any(isinstance(t.subject, NamedNode) and t.subject.value == iri for t in triples):
        current = _current_iri(iri, triples, state.settings.base_iri)
        if current is not None:
            location = "/id/" + quote(current, safe="/") + (f".{extension}" if forced else "")
            return Response(status_code=301, headers={"Location": location, "Vary": "Accept"})
        return _text(404, f"nothing is known about <{iri}>")
    if choice.html:
        return HTMLResponse(resource_page(iri, triples, base), headers={"Vary": "Accept"})
    own = [t for t in triples if isinstance(t.subject, NamedNode) and (t.subject.value == iri
                                                                      or t.subject.value.startswith(iri + "/"))]
    body = graph_body(own, choice.format, state.settings.base_iri, first=iri)
    return Response(body, media_type=choice.format.media_type, headers={"Vary": "Accept"})


def _current_iri(iri: str, triples: Sequence[Triple], base_iri: str) -> str | None:
    """The path under ``id/`` of the one IRI of this server that states ``owl:sameAs <iri>``, if ``iri`` is an
    earlier name of it (one that describes nothing itself); None when none, or several, do."""
    current = {t.subject.value for t in triples if t.predicate.value == OWL + "sameAs"
               and isinstance(t.subject, NamedNode) and t.subject.value.startswith(base_iri + "id/")
               and isinstance(t.object, NamedNode) and t.object.value == iri}
    return next(iter(current)).removeprefix(base_iri + "id/") if len(current) == 1 else None


# --- files ---------------------------------------------------------------------------------------

async def _current_dumps(keeper: DumpKeeper) -> None:
    """Make sure the dumps follow the current generation; wait (a while) while they are being made.

    So ``/dumps/`` and the description are those of the current generation from the server's first
    request and from the first request after a rebuild, not the previous ones once more.
    """
    keeper.refresh()
    deadline = time.monotonic() + DUMPS_WAIT
    while keeper.making() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)


async def dumps_index(request: Request) -> Response:
    keeper = _state(request).dumps
    await _current_dumps(keeper)
    generation = keeper.generation()
    if generation is None:
        message = "the dumps are being prepared; try again in a moment"
        return _text(503, message + (f" (last attempt failed: {keeper.last_error})" if keeper.last_error else ""),
                     {"Retry-After": "5"})
    sums = _checksums(keeper.directory)
    files = []
    for name in keeper.files():
        with contextlib.suppress(FileNotFoundError):
            files.append((name, (keeper.directory / name).stat().st_size, sums.get(name, "")))
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse({"generation": generation, "files": [
            {"name": n, "bytes": size, "sha256": digest} for n, size, digest in files]})
    return HTMLResponse(dumps_page(files, generation))


def _checksums(directory: Path) -> dict[str, str]:
    """File name → SHA-256, from the dumps' ``SHA256SUMS``."""
    sums = {}
    with contextlib.suppress(FileNotFoundError):
        for line in (directory / "SHA256SUMS").read_text(encoding="utf-8").splitlines():
            digest, _, name = line.partition("  ")
            sums[name] = digest
    return sums


def _open_dump(path: Path) -> tuple[BinaryIO, str | None]:
    """The dump opened, and its SHA-256 from the same generation's ``SHA256SUMS``.

    Opened first: the open file stays what it is whatever is swapped in after. The checksum read
    next belongs to the same generation if the name still points to the opened file afterwards;
    should a swap fall in between, the pair is read again.
    """
    for _ in range(3):
        handle = path.open("rb")
        digest = _checksums(path.parent).get(path.name)
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_ino == os.fstat(handle.fileno()).st_ino:
                return handle, digest
        handle.close()
    raise FileNotFoundError(path)


_DUMP_TYPES = {".gz": "application/gzip", ".ttl": "text/turtle", "SHA256SUMS": "text/plain; charset=utf-8"}


async def dump_file(name: str, request: Request) -> Response:
    keeper = _state(request).dumps
    await _current_dumps(keeper)
    if name not in keeper.files():  # only names we listed: no path can escape the directory
        return _text(404, f"no dump called {name!r}; see /dumps/")
    path = keeper.directory / name
    media = _DUMP_TYPES.get(path.suffix) or _DUMP_TYPES.get(name, "application/octet-stream")
    try:
        handle, digest = _open_dump(path)
    except FileNotFoundError:
        return _text(503, "the dumps were just replaced; try again", {"Retry-After": "1"})
    return file_response(handle, request.headers, media, name, digest)


async def void_description(request: Request) -> Response:
    keeper = _state(request).dumps
    await _current_dumps(keeper)
    path = keeper.directory / "void.ttl"
    try:
        body = path.read_bytes()
    except FileNotFoundError:
        return _text(503, "the dataset description is being prepared; try again in a moment", {"Retry-After": "5"})
    try:
        choice = choose(request.headers.get("accept"), GRAPH_FORMATS, request.query_params.get("format"), html=True)
    except NotAcceptable as exc:
        return _text(406, str(exc))
    store_base, here = await _store_base(_state(request)), str(request.base_url)
    if choice.html:
        triples = _triples(body)
        triples += _local_urls(triples, store_base, here) if here != store_base else []
        page = graph_page("Dataset description", triples, store_base, intro=_VOID_INTRO,
                          first=[store_base + name for name in ("dataset", "catalogue", "sparql#service")],
                          alternates=_format_links("/.well-known/void"))
        return HTMLResponse(page, headers={"Vary": "Accept"})
    if here != store_base:
        # The dumps' IRIs are under the store's base; where this server answers, a harvester downloads
        # them from here too (DCAT allows several download and access URLs).
        triples = _triples(body)
        body = graph_body(triples + _local_urls(triples, store_base, here), choice.format,
                          _state(request).settings.base_iri)
    elif choice.format != RdfFormat.TURTLE:
        body = graph_body(_triples(body), choice.format, _state(request).settings.base_iri)
    return Response(body, media_type=choice.format.media_type, headers={"Vary": "Accept"})


_DOWNLOAD, _ACCESS = NamedNode(DCAT + "downloadURL"), NamedNode(DCAT + "accessURL")
_VOID_INTRO = ("The dataset this server publishes (VoID and DCAT-AP): its size, classes, licence, "
               "dumps and SPARQL endpoint.")
_SD_INTRO = ("The SPARQL 1.1 endpoint (SPARQL 1.1 Service Description): send a query as GET /sparql?query=... "
             "or POST it; the query page at / helps write one.")


def _format_links(path: str) -> list[tuple[str, str]]:
    """The same description in each RDF format, by the ``format`` parameter (for a link on its HTML page)."""
    return [(name, f"{path}?format={key}") for name, key in (("Turtle", "ttl"), ("N-Triples", "nt"),
                                                             ("JSON-LD", "jsonld"), ("RDF/XML", "rdfxml"))]


def _local_urls(triples: list[Triple], store_base: str, here: str) -> list[Triple]:
    """For each download and access URL under the store's base, the same path on this server."""
    return [Triple(t.subject, t.predicate, NamedNode(here + t.object.value[len(store_base):]))
            for t in triples if t.predicate in (_DOWNLOAD, _ACCESS) and isinstance(t.object, NamedNode)
            and t.object.value.startswith(store_base + "dumps/")]


def _triples(turtle: bytes) -> list[Triple]:
    return [Triple(q.subject, q.predicate, q.object) for q in parse(turtle, format=RdfFormat.TURTLE)]


async def jsonld_context(request: Request) -> Response:
    """The context (``ontology/context.jsonld``): the same bytes for a release, so cached for a day."""
    body = ontology_path("context.jsonld").read_bytes()
    tag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": tag, "Cache-Control": "public, max-age=86400"}
    if tag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=MEDIA_TYPE, headers=headers)


async def ontology(request: Request) -> Response:
    try:
        choice = choose(request.headers.get("accept"), GRAPH_FORMATS, request.query_params.get("format"), html=True)
    except NotAcceptable as exc:
        return _text(406, str(exc))
    if choice.html:
        return HTMLResponse(ontology_path("kgbuild.html").read_text(encoding="utf-8"), headers={"Vary": "Accept"})
    body = ontology_path("kgbuild.ttl").read_bytes()
    if choice.format != RdfFormat.TURTLE:
        body = graph_body(_triples(body), choice.format, _state(request).settings.base_iri)
    return Response(body, media_type=choice.format.media_type, headers={"Vary": "Accept"})


async def api_docs(request: Request) -> Response:
    """The OpenAPI description in Swagger UI, every asset served from here (no CDN)."""
    app: FastAPI = request.app
    return api_page(app.openapi_url or "/openapi.json", app.title + " - API")


async def queries(request: Request) -> Response:
    return JSONResponse(named_queries())


async def health(request: Request) -> Response:
    state = _state(request)
    try:
        name = state.store.served_generation()
    except KgbuildError as exc:
        return _text(503, str(exc))
    return JSONResponse({"status": "ok" if name else "no store", "generation": name or None,
                         "queries_stopped_at_deadline": state.pool.killed,
                         "queries_restarted": state.pool.restarted,
                         "answer_cache": {"hits": state.cache.hits, "misses": state.cache.misses},
                         "version": __version__})


async def index(request: Request) -> Response:
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    digest = hashlib.sha256(json.dumps(named_queries()).encode()).hexdigest()[:12]
    # The page sends result links to the store's IRIs here (see page.js): it needs the store's base.
    base = html.escape(await _store_base(_state(request)), quote=True)
    return HTMLResponse(page.replace("{{version}}", digest).replace("{{base}}", base))

