"""Parsing: a source text → typed :class:`~kgbuild.records.ProjectRecord` values.

Input: the bytes (or decoded text) of one source file. Output: a :class:`ParseResult` with the
records, the detected format and what the reader noticed. The format is detected from the labels
the text uses; a text of no known format is a :class:`~kgbuild.errors.SourceError` naming the file.
This stage imports no RDF library.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from kgbuild.decoding import decode_source
from kgbuild.errors import SourceError
from kgbuild.parsers.detect import detect_format
from kgbuild.parsers.esf_plus import parse_esf_plus
from kgbuild.parsers.esf_project_bank import parse_esf_project_bank
from kgbuild.parsers.partner_search import parse_partner_search
from kgbuild.records import ParseResult, ProjectRecord, SourceFormat

__all__ = ["parse_text", "parse_bytes", "parse_file", "detect_format", "PARSER_VERSION", "MAX_SOURCE_BYTES"]

# Bumped whenever a parser reads some text differently; recorded in each source's provenance.
PARSER_VERSION = "1"
# A project page is a few kB; anything this large is not one.
MAX_SOURCE_BYTES = 5 * 1024 * 1024

_PARSERS: dict[SourceFormat, Callable[[str], tuple[list[ProjectRecord], list[str]]]] = {
    "esf_plus_2021": parse_esf_plus,
    "esf_2007": parse_esf_project_bank,
    "partner_search": parse_partner_search,
}


def parse_text(text: str, source: str) -> ParseResult:
    """Detect the format of ``text`` and read its records.

    :param text: the decoded text, lines separated by ``\\n``.
    :param source: the file name, for messages.
    :raises SourceError: when the format is not recognised or no record can be read.

    >>> text = "Berörd fond:\\nESF+\\nNUTS-2 kod:\\nSE31\\nNamn:\\nExempel\\n"
    >>> result = parse_text(text, "x.txt")
    >>> result.source_format, result.records[0].title
    ('esf_plus_2021', 'Exempel')
    """
    source_format = detect_format(text)
    if source_format is None:
        raise SourceError(source, "not a recognised format: expected an ESF+ 2021–2027 record, an ESF "
                                  "project-bank page or an EU partner-search call")
    records, warnings = _PARSERS[source_format](text)
    records = [r for r in records if _has_content(r)]
    if not records:
        raise SourceError(source, f"looks like {source_format} but no project could be read from it")
    return ParseResult(source, source_format, tuple(records), tuple(warnings))


def parse_bytes(data: bytes, source: str) -> ParseResult:
    """Decode and parse the content of one source file (see :func:`parse_text`)."""
    if len(data) > MAX_SOURCE_BYTES:
        raise SourceError(source, f"too large for a project page ({len(data)} bytes, limit {MAX_SOURCE_BYTES})")
    decoded = decode_source(data, source)
    result = parse_text(decoded.text, source)
    if decoded.warnings:
        result = ParseResult(result.source, result.source_format, result.records,
                             decoded.warnings + result.warnings)
    return result


def parse_file(path: str | Path) -> ParseResult:
    """Read, decode and parse one source file.

    :raises SourceError: when the file cannot be read, decoded or parsed.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(str(path), exc.strerror or str(exc)) from None
    return parse_bytes(data, str(path))


def _has_content(record: ProjectRecord) -> bool:
    """Whether the record states anything besides its format and language."""
    return any(getattr(record, name) not in (None, ()) for name in _CONTENT_FIELDS)


_CONTENT_FIELDS = tuple(f.name for f in dataclasses.fields(ProjectRecord)
                        if f.name not in ("source_format", "language"))
