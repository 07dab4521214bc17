"""Parsing: a source text → typed :class:`~kgbuild.records.ProjectRecord` values.

Input: the bytes of one source file (a text, an HTML page, a PDF or a DOCX: :mod:`kgbuild.inputs` reads
each into the text the engine reads), or a decoded text. Output: a :class:`ParseResult` with the
records, the detected format and what the reader noticed. The format is detected from the labels
the text uses; a text of no known format is a :class:`~kgbuild.errors.SourceError` naming the file.
This stage imports no RDF library.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from kgbuild.errors import SourceError
from kgbuild.extract import extract
from kgbuild.inputs import InputText, read_input
from kgbuild.records import Evidence, Origin, ParseResult, ProjectRecord, SourceFormat

__all__ = ["parse_text", "parse_bytes", "parse_file", "detect_format", "PARSER_VERSION", "MAX_SOURCE_BYTES"]

# Bumped whenever a parser reads some text differently; recorded in each source's provenance.
PARSER_VERSION = "2"
# A project page is a few kB; anything this large is not one (nor the text of a PDF or a DOCX this long).
MAX_SOURCE_BYTES = 5 * 1024 * 1024
# A PDF or a DOCX carries images and fonts besides its text.
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024

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
    """Read and parse the content of one source file: a text, an HTML page, a PDF or a DOCX, told by its
    content (see :func:`kgbuild.inputs.read_input` and :func:`parse_text`).

    The evidence of a value read from an HTML page, a PDF or a DOCX names where its text is in the file
    (:class:`~kgbuild.records.Origin`): the page's source offsets, the PDF's page, the DOCX's paragraph.

    >>> page = "<html><body><nav>Start</nav><h1>Exempel</h1><dl><dt>Berörd fond:</dt><dd>ESF+</dd></dl>"
    >>> evidence = [e for e in parse_bytes(page.encode(), "x.html").records[0].evidence if e.key == "fund"][0]
    >>> evidence.quote, page[evidence.origin.start:evidence.origin.end]
    ('ESF+', 'ESF+')
    """
    limit = MAX_DOCUMENT_BYTES if b"%PDF-" in data[:1024] or data.startswith(b"PK\x03\x04") else MAX_SOURCE_BYTES
    if len(data) > limit:
        raise SourceError(source, f"too large for a project page ({len(data)} bytes, limit {limit})")
    read = read_input(data, source)
    if len(read.text) > MAX_SOURCE_BYTES:
        raise SourceError(source, f"too much text for a project page ({len(read.text)} characters, "
                                  f"limit {MAX_SOURCE_BYTES})")
    result = parse_text(read.text, source)
    records = result.records if read.positions is None else tuple(_with_origins(r, read) for r in result.records)
    return ParseResult(result.source, result.source_format, records, read.warnings + result.warnings)


def _with_origins(record: ProjectRecord, read: InputText) -> ProjectRecord:
    """The record with each value's evidence naming where its text is in the file."""
    kind = read.kind
    assert read.positions is not None and kind != "text"
    evidence: list[Evidence] = []
    for seen in record.evidence:
        start, end = read.positions.span(seen.start, seen.end)
        evidence.append(dataclasses.replace(seen, origin=Origin(kind, start, end)))
    return dataclasses.replace(record, evidence=tuple(evidence))


def parse_file(path: str | Path) -> ParseResult:
    """Read and parse one source file (see :func:`parse_bytes`).

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
