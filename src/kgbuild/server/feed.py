"""Serving the change feed: ``/ldes`` (the event stream) and ``/ldes/N`` (its pages), from :mod:`kgbuild.ldes`.

Input: the request and the store's change log (read-only, reopened when the store's generation changes).
Output: Turtle, N-Triples, JSON-LD or RDF/XML by ``Accept`` (or ``?format=``), with a strong ``ETag``
(``304`` for a matching ``If-None-Match``) and ``Cache-Control``: a closed page never changes again, so
it is cacheable for a year and ``immutable``; the stream document and the last page must be revalidated.
``HEAD`` answers the same without the body. A remote store, or a store whose generation has no log
(built before kgbuild kept one), has no feed: ``404``, saying why.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import Response
from pyoxigraph import RdfFormat, Store
from starlette.datastructures import MutableHeaders
from starlette.staticfiles import NotModifiedResponse

from kgbuild.errors import KgbuildError
from kgbuild.ldes import PREFIXES as FEED_PREFIXES
from kgbuild.ldes import FeedIndex, page_triples, page_url, stream_triples
from kgbuild.server.files import not_modified
from kgbuild.server.negotiation import GRAPH_FORMATS, NotAcceptable, choose
from kgbuild.server.results import graph_body
from kgbuild.settings import Settings
from kgbuild.store import GraphStore
from kgbuild.vocab import PREFIXES

__all__ = ["IMMUTABLE", "REVALIDATE", "event_stream", "event_stream_page"]

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "public, no-cache"  # may be stored, but asked again (a 304 when nothing changed)


@dataclass(frozen=True)
class _Log:
    generation: str
    store: Store
    index: FeedIndex


class _Logs:
    """The current generation's log and its index, opened once per generation (by one thread at a time)."""

    def __init__(self, settings: Settings, store: GraphStore) -> None:
        self.settings = settings
        self.store = store
        self._lock = threading.Lock()
        self._log: _Log | None = None

    def current(self) -> _Log | None:
        with self._lock:
            served = self.store.generation()
            if self._log is not None and served is not None and served == self._log.generation:
                return self._log
            opened = self.store.open_changes()
            self._log = None if opened is None else _Log(opened[0], opened[1],
                                                         FeedIndex.of(opened[1], self.settings.base_iri))
            return self._log


def _logs(request: Request) -> _Logs:
    logs: _Logs | None = getattr(request.app.state, "feed_logs", None)
    if logs is None:
        logs = request.app.state.feed_logs = _Logs(request.app.state.kg.settings, request.app.state.kg.store)
    return logs


def _text(status: int, message: str) -> Response:
    return Response(message + "\n", status_code=status, media_type="text/plain; charset=utf-8")


async def _answer(request: Request, page: str | None) -> Response:
    settings: Settings = request.app.state.kg.settings
    if not request.app.state.kg.store.keeps_change_log:
        return _text(404, "no change feed: this server reads a remote store, whose builds keep no change log")
    try:
        choice = choose(request.headers.get("accept"), GRAPH_FORMATS, request.query_params.get("format"))
    except NotAcceptable as exc:
        return _text(406, str(exc))
    here = str(request.base_url)
    try:
        log = await asyncio.to_thread(_logs(request).current)
    except KgbuildError as exc:
        return _text(503, str(exc))
    if log is None:
        return _text(404, "no change feed: the store has not been built since kgbuild began keeping a change log; "
                          "build it again (any build that changes something starts the log)")
    if page is None:
        triples, cache = stream_triples(log.index, here), REVALIDATE
    else:
        number = int(page) if page.isascii() and page.isdigit() and len(page) < 10 else -1
        found = await asyncio.to_thread(page_triples, log.store, log.index, here, number) if number >= 0 else None
        if found is None:
            return _text(404, f"no page {page!r}: the feed has pages 0 to {log.index.last_page}")
        triples, cache = found, IMMUTABLE if log.index.closed(number) else REVALIDATE
    fmt = choice.format
    assert isinstance(fmt, RdfFormat)
    first = log.index.stream.value if page is None else page_url(here, int(page)).value
    body = graph_body(triples, fmt, settings.base_iri, first, PREFIXES | FEED_PREFIXES)
    headers = MutableHeaders({"ETag": '"' + hashlib.sha256(body).hexdigest()[:32] + '"', "Cache-Control": cache,
                              "Vary": "Accept"})
    if not_modified(request.headers, headers):
        return NotModifiedResponse(headers)
    return Response(body, media_type=fmt.media_type, headers=dict(headers))


async def event_stream(request: Request) -> Response:
    """The change feed: a Linked Data Event Stream of every version of every project and source graph."""
    return await _answer(request, None)


async def event_stream_page(page: str, request: Request) -> Response:
    """One page of the change feed (closed pages are immutable)."""
    return await _answer(request, page)
