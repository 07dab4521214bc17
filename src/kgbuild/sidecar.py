"""The record of a fetched page: the JSON file beside it that says where and when it came from.

``kgbuild fetch`` (:mod:`kgbuild.fetch`) saves a page as ``NAME.EXT`` and this record as
``NAME.meta.json``. Its extension is none a build reads as a source, so a directory given to a build
stands for the pages and never for their records. The pipeline reads only the URL from it
(:func:`fetched_url`): the page's other facts (validators, retrieval time) stay out of the graph, so
refreshing them never makes a build see a changed source.

Imports no RDF library: it is read next to the parsers.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from kgbuild.errors import SourceError

__all__ = ["SIDECAR_SUFFIX", "PageRecord", "sidecar_path", "read_sidecar", "write_sidecar", "fetched_url"]

SIDECAR_SUFFIX = ".meta.json"
# Characters an IRI may not hold (RFC 3987): a URL with one is not written as an IRI in the graph.
_NOT_IN_IRI = re.compile(r"[\x00-\x20<>\"{}|\\^`\x7f]")


@dataclass(frozen=True, slots=True)
class PageRecord:
    """What was fetched: the URL asked for, the URL answered (after redirects), when, and the answer's
    validators, content type, SHA-256 and size.

    ``retrieved`` is when these bytes were first retrieved (ISO 8601, UTC): a later fetch that gets the
    same bytes (a 304, or a 200 with identical content) keeps it.
    """

    url: str
    final_url: str
    retrieved: str
    status: int
    etag: str | None
    last_modified: str | None
    content_type: str
    sha256: str
    bytes: int
    file: str  # the page's file name, beside this record

    def to_json(self) -> str:
        """The record as the sidecar's text: one key a line, in field order, ending in a newline.

        >>> PageRecord("http://x.test/", "http://x.test/", "2026-01-01T00:00:00Z", 200, None, None,
        ...            "text/plain", "0" * 64, 0, "x.txt").to_json().splitlines()[:3]
        ['{', '  "url": "http://x.test/",', '  "final_url": "http://x.test/",']
        """
        return json.dumps(dataclasses.asdict(self), ensure_ascii=False, indent=2) + "\n"


def sidecar_path(page: Path) -> Path:
    """The record of the page at ``page``: its name with ``.meta.json`` for its extension.

    >>> sidecar_path(Path("pages/example-org-a-1f2e3d4c.html")).as_posix()
    'pages/example-org-a-1f2e3d4c.meta.json'
    """
    return page.with_name(page.name.rsplit(".", 1)[0] + SIDECAR_SUFFIX) if "." in page.name else \
        page.with_name(page.name + SIDECAR_SUFFIX)


def _check(data: Any, where: str) -> PageRecord:
    if not isinstance(data, dict):
        raise SourceError(where, "not a fetch record (expected a JSON object)")
    fields = {f.name: f for f in dataclasses.fields(PageRecord)}
    values: dict[str, Any] = {}
    for name in fields:
        value = data.get(name)
        if name in ("etag", "last_modified"):
            ok = value is None or isinstance(value, str)
        elif name in ("status", "bytes"):
            ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
        else:
            ok = isinstance(value, str)
        if not ok:
            raise SourceError(where, f"not a fetch record: {name!r} missing or of the wrong type")
        values[name] = value
    for name in ("url", "final_url"):
        try:
            parts = urlsplit(values[name])
        except ValueError:  # an unclosed [IPv6 address
            raise SourceError(where, f"not a fetch record: {name} is not an http(s) URL") from None
        if parts.scheme not in ("http", "https") or not parts.netloc or _NOT_IN_IRI.search(values[name]):
            raise SourceError(where, f"not a fetch record: {name} is not an http(s) URL")
    return PageRecord(**values)


def read_sidecar(page: Path) -> PageRecord | None:
    """The record beside the page at ``page``, or ``None`` when there is none.

    :raises SourceError: when the record cannot be read or is not one.
    """
    path = sidecar_path(page)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(str(path), getattr(exc, "strerror", None) or str(exc)) from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise SourceError(str(path), f"not a fetch record: {exc}") from None
    return _check(data, str(path))


def write_sidecar(page: Path, record: PageRecord) -> None:
    """Write the record beside the page atomically (a new file renamed over the old one)."""
    path = sidecar_path(page)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(record.to_json(), encoding="utf-8")
    partial.replace(path)


def fetched_url(page: Path) -> str | None:
    """The URL the page at ``page`` was fetched from (after redirects), or ``None`` for a page not fetched.

    This is the one place the pipeline learns a source's URL: it becomes the source document's
    ``prov:wasDerivedFrom`` and each record's ``source_url``.

    :raises SourceError: when the page has a record that cannot be read.
    """
    record = read_sidecar(page)
    return record.final_url if record is not None else None
