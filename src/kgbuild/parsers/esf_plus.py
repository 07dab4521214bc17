"""Parser for ESF+ 2021–2027 project records: a label line, then its value line.

Input: the text of a record page (``Berörd fond:`` / ``ESF+`` ...), with or without a title line
(``22-010-S04 - Värmlands Skolsamverkan``), a cookie banner, or trailing fields; fields in any order;
a free-text summary below. Output: one :class:`ProjectRecord` per record on the page.
"""

from __future__ import annotations

from kgbuild.parsers.common import RecordBuilder, is_chrome, paragraphs
from kgbuild.parsers.labels_sv import read_field_block, split_records, title_from_header
from kgbuild.records import ProjectRecord

__all__ = ["parse_esf_plus"]


def parse_esf_plus(text: str) -> tuple[list[ProjectRecord], list[str]]:
    """Read every ESF+ record in ``text``; return the records and what was noticed on the way."""
    lines = text.split("\n")
    records: list[ProjectRecord] = []
    warnings: list[str] = []
    for span in split_records(lines, glued=False):
        builder = RecordBuilder("esf_plus_2021", "sv")
        read_field_block(lines, span.block_start, builder, glued=False)
        number, title = title_from_header(span.header)
        if title and not builder.has("title"):
            builder.set("title", title)
        if number and not builder.has("project_number"):
            builder.set("project_number", number)
        summary = paragraphs(line for line in span.body if not is_chrome(line))
        if summary:
            builder.extra["summary"] = summary
        records.append(builder.build())
        warnings.extend(builder.warnings)
    return records, warnings
