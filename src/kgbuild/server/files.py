"""Serving a dump file the way harvesters and download tools expect it.

Input: an open file, its validator (the dump's SHA-256) and the request. Output: a response with
``Content-Length``, ``ETag``, ``Last-Modified`` and ``Accept-Ranges``; ``206`` for a ``Range``
(``416`` when unsatisfiable), ``304`` for a matching ``If-None-Match`` or ``If-Modified-Since``, and
the same headers without a body for ``HEAD``. Starlette's ``FileResponse`` does the ranges, ``If-Range``
and ``HEAD``; this module adds the conditional requests and serves the file *as it was opened*: the
dumps directory may be swapped for the next generation between the request and the transfer, and an
open file stays the file whose length and checksum the headers state.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from email.utils import parsedate_to_datetime
from typing import Any, BinaryIO

import anyio
from starlette.datastructures import Headers
from starlette.responses import FileResponse, Response
from starlette.staticfiles import NotModifiedResponse
from starlette.types import Receive, Scope, Send

__all__ = ["OpenFileResponse", "not_modified", "file_response"]


class OpenFileResponse(FileResponse):
    """A ``FileResponse`` over a file already open: its headers come from ``fstat``, its bytes from the handle.

    The handle is closed when the response has been sent (or the client went away).
    """

    def __init__(self, handle: BinaryIO, **options: Any) -> None:
        self._handle = handle
        super().__init__(handle.name, stat_result=os.fstat(handle.fileno()), **options)

    @contextlib.asynccontextmanager
    async def _open_file(self) -> AsyncIterator[anyio.AsyncFile[bytes]]:
        yield anyio.wrap_file(self._handle)  # not closed here: a multi-range answer reads it once per range

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # A server offering "pathsend" would be handed the path (which may name the next generation's file).
        extensions = {k: v for k, v in scope.get("extensions", {}).items() if k != "http.response.pathsend"}
        try:
            await super().__call__({**scope, "extensions": extensions}, receive, send)
        finally:
            self._handle.close()


def not_modified(request_headers: Headers, response_headers: Headers) -> bool:
    """Whether a ``GET``/``HEAD`` with these headers gets ``304`` (RFC 9110, 13.1.2 and 13.1.3).

    ``If-None-Match`` decides when present (weak comparison, ``*`` matches); otherwise
    ``If-Modified-Since``, compared with ``Last-Modified`` to the second.
    """
    if_none_match = request_headers.get("if-none-match")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or response_headers.get("etag", "").removeprefix("W/") in tags
    since, modified = request_headers.get("if-modified-since"), response_headers.get("last-modified")
    if not since or not modified:
        return False
    try:
        return parsedate_to_datetime(modified) <= parsedate_to_datetime(since)
    except (TypeError, ValueError):  # not an HTTP date: the condition is ignored, as RFC 9110 says
        return False


def file_response(handle: BinaryIO, request_headers: Headers, media_type: str, filename: str,
                  sha256: str | None) -> Response:
    """The answer for an open dump file: the file (whole or a range), or ``304``; the handle is always closed.

    :param sha256: the file's SHA-256, its strong ``ETag``; without it Starlette's (modification time and size).
    """
    headers = {"ETag": f'"{sha256}"'} if sha256 else {}
    try:
        response = OpenFileResponse(handle, media_type=media_type, filename=filename, headers=headers)
    except BaseException:
        handle.close()
        raise
    if not_modified(request_headers, response.headers):
        handle.close()
        return NotModifiedResponse(response.headers)
    return response
