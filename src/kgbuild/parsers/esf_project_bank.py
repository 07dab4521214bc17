"""Parser for ESF project-bank pages (2007–2013, and the 2014–2020 pages laid out alike).

Input: a page whose fields have the label glued to the value (``ProjektägareKlarälvdalens
Samordningsförbund``) or separated by a colon or a line break, then text sections (Sammanfattning,
Bakgrund, Syfte, ...) and bullet lists (Medfinansiärer, Samarbetspartners, Kommun). Page chrome
(print logo, event banners, "In English") is ignored. Output: one :class:`ProjectRecord` per project.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from kgbuild import normalise as n
from kgbuild.parsers.common import MAX_FIELD_LINE, RecordBuilder, bullet_item, is_chrome, paragraphs
from kgbuild.parsers.labels_sv import read_field_block, split_records, title_from_header
from kgbuild.records import ProjectRecord

__all__ = ["parse_esf_project_bank"]

# Bullet-list headings → record key.
LIST_HEADINGS = {
    "medfinansiärer": "co_financiers",
    "medfinansiär": "co_financiers",
    "samarbetspartners": "partners",
    "samarbetspartner": "partners",
    "samverkanspartners": "partners",
    "samverkanspartner": "partners",
    "kommun": "municipalities",
    "kommuner": "municipalities",
    "berörda kommuner": "municipalities",
    "deltagande kommuner": "municipalities",
}

# Text-section headings; the text under each is kept under ``extra`` by its heading as written.
SECTION_HEADINGS = {
    "sammanfattning", "bakgrund", "syfte", "målsättning", "mål", "målgrupp", "metod", "metoder",
    "aktiviteter", "resultat", "projektresultat", "förväntade resultat", "lärdomar", "erfarenheter",
    "slutsatser", "organisation", "tillgänglighet", "tillgänglighet för personer med funktionsnedsättning",
    "jämställdhet", "jämställdhetsintegrering", "likabehandling", "transnationellt samarbete",
    "transnationalitet", "samverkan", "spridning", "implementering", "projektbeskrivning", "beskrivning",
    "summary",
}
SUMMARY_HEADING = "sammanfattning"
_FUND_IN_LABEL_RE = re.compile(r"^\s*Beviljat\s+(?P<fund>ESF\+?)-stöd", re.I)


def parse_esf_project_bank(text: str) -> tuple[list[ProjectRecord], list[str]]:
    """Read every project on an ESF project-bank page; return the records and what was noticed."""
    lines = text.split("\n")
    records: list[ProjectRecord] = []
    warnings: list[str] = []
    for span in split_records(lines, glued=True):
        builder = RecordBuilder("esf_2007", "sv")
        block = read_field_block(lines, span.block_start, builder, glued=True)
        number, title = title_from_header(span.header)
        if title and not builder.has("title"):
            builder.set("title", title)
        if number and not builder.has("project_number"):
            builder.set("project_number", number)
        if not builder.has("fund"):
            _fund_from_labels(builder, lines[block.start:block.end])
        _read_body(builder, span.body)
        records.append(builder.build())
        warnings.extend(builder.warnings)
    return records, warnings


def _fund_from_labels(builder: RecordBuilder, block: Sequence[str]) -> None:
    """The fund is stated by the grant's label: ``Beviljat ESF-stöd`` is support from the ESF."""
    for line in block:
        match = _FUND_IN_LABEL_RE.match(line)
        if match:
            builder.set("fund", match.group("fund").upper())
            return


def _read_body(builder: RecordBuilder, body: Sequence[str]) -> None:
    sections: dict[str, list[str]] = {}
    lists: dict[str, list[str]] = {}
    trailing: list[str] = []
    current_text: list[str] | None = None
    current_list: list[str] | None = None
    list_has_bullets = False
    previous_blank = True
    for line in body:
        if len(line) > MAX_FIELD_LINE:  # prose: no heading, list item or chrome is this long
            if current_list is not None and list_has_bullets:
                current_list, current_text = None, trailing
            if current_text is None:
                current_text = sections.setdefault("Text", []) if current_list is None else None
            if current_text is not None:
                current_text.append(line)
            else:
                current_list.append(n.clean_text(line))  # type: ignore[union-attr]
            previous_blank = False
            continue
        text = n.clean_text(line)
        key = text.rstrip(":").casefold()
        if not text:
            previous_blank = True
            if current_text is not None:
                current_text.append("")
            continue
        if is_chrome(text):
            continue
        if key in LIST_HEADINGS:
            current_list, current_text, list_has_bullets = lists.setdefault(LIST_HEADINGS[key], []), None, False
        elif key in SECTION_HEADINGS and previous_blank and text not in sections:
            current_text, current_list = sections.setdefault(text, []), None
        elif current_list is not None:
            item = bullet_item(line)
            if item is not None:
                current_list.append(item)
                list_has_bullets = True
            elif not list_has_bullets:
                current_list.append(text)
            else:
                # Prose after a bullet list ends the list; keep it, never drop it.
                current_list, current_text = None, trailing
                trailing.append(line)
        else:
            if current_text is None:
                current_text = sections.setdefault("Text", [])
            current_text.append(line)
        previous_blank = False
    for heading, text_lines in sections.items():
        prose = paragraphs(text_lines)
        if not prose:
            continue
        builder.extra["summary" if heading.casefold() == SUMMARY_HEADING else heading] = prose
    if trailing:
        builder.extra["trailing_text"] = paragraphs(trailing)
    for key, items in lists.items():
        builder.set_list(key, items)
