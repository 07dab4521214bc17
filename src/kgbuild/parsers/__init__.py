"""Parsing: a source text → typed :class:`~kgbuild.records.ProjectRecord` values.

Input: the bytes (or decoded text) of one source file. Output: a :class:`ParseResult` with the
records, the detected format and what the reader noticed. The format is detected from the labels
the text uses; a text of no known format is a :class:`~kgbuild.errors.SourceError` naming the file.
This stage imports no RDF library.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from kgbuild.decoding import decode_source
from kgbuild.errors import SourceError
from kgbuild.extract import extract
from kgbuild.records import ParseResult, ProjectRecord, SourceFormat

__all__ = ["parse_text", "parse_bytes", "parse_file", "detect_format", "PARSER_VERSION", "MAX_SOURCE_BYTES"]

# Bumped whenever a parser reads some text differently; recorded in each source's provenance.
PARSER_VERSION = "2"
# A project page is a few kB; anything this large is not one.
MAX_SOURCE_BYTES = 5 * 1024 * 1024

def parse_text(text: str, source: str) -> ParseResult:
    """Detect the format of ``text`` and read its records.

    :param text: the decoded text, lines separated by ``\\n``.
    :param source: the file name, for messages.
    :raises SourceError: when the text states no fact of a project, a call or a partner search.

    >>> text = "Berörd fond:\\nESF+\\nNUTS-2 kod:\\nSE31\\nNamn:\\nExempel\\nLand som berörs:\\nSverige\\n"
    >>> result = parse_text(text, "x.txt")
    >>> result.source_format, result.records[0].title
    ('esf_plus_2021', 'Exempel')
    """
    extraction = extract(text)
    records = [r for r in extraction.records if _has_content(r)]
    if not records:
        raise SourceError(source, "no project, call or partner search could be read from it: no label of a "
                                  "project's facts, and no sentence stating its owner, period, amounts or places")
    warnings = list(extraction.warnings)
    if extraction.source_format == "other":
        warnings.insert(0, "a layout kgbuild has not seen before: read by its labels and sentences")
    return ParseResult(source, extraction.source_format, tuple(records), tuple(warnings))


def detect_format(text: str) -> SourceFormat | None:
    """The layout a text was seen to have, or ``None`` for one kgbuild has not seen before.

    It names what was seen; it never decides whether a text is read.

    >>> detect_format("\\tProgramme:\\n\\tErasmus+\\n\\tDeadline:\\n\\t1 March 2015\\n\\tlooking for partners\\n")
    'partner_search'
    """
    found = extract(text).source_format
    return None if found == "other" else found


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
    """Whether the record states a fact of a project, a call or a partner search: a title, a region or a
    contact alone is not one (a cookie notice has a heading; an address block has a town)."""
    return any(getattr(record, name) not in (None, ()) for name in _CONTENT_FIELDS)


_CONTENT_FIELDS = tuple(f.name for f in dataclasses.fields(ProjectRecord)
                        if f.name not in ("source_format", "language", "document_kind", "evidence", "extra", "title",
                                          "region_name", "city", "postal_code", "contact_name", "contact_email",
                                          "contact_phone", "source_url", "keywords"))
