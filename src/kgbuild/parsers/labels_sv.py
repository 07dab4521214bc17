"""The labels of Swedish ESF and ESF+ project pages, and the reader of a block of label/value lines.

One table serves every period (2007–2013, 2014–2020, 2021–2027): the labels overlap, and a page
of one period that borrows a label of another is still read right. Spelling variants map to one key.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from kgbuild import normalise as n
from kgbuild.errors import NormaliseError
from kgbuild.parsers.common import (
    Field,
    LabelMatch,
    LabelTable,
    RecordBuilder,
    is_chrome,
    looks_like_label,
    split_postal_city,
)

__all__ = [
    "SWEDISH_LABELS",
    "FieldBlock",
    "RecordSpan",
    "read_field_block",
    "find_field_blocks",
    "split_records",
    "split_title_line",
    "title_from_header",
]


def nuts_code(text: str) -> str:
    """``"se31"`` → ``"SE31"``; ``SE0`` (national) is kept as written, mapping decides what it means."""
    code = n.clean_text(text).replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{2}[0-9A-Z]{0,3}", code):
        raise NormaliseError("NUTS code", text)
    return code


def code(text: str) -> str:
    """A short code such as a specific objective (``A2B``) or intervention type (``140``)."""
    value = n.clean_text(text)
    if not value or len(value) > 200:
        raise NormaliseError("code", text)
    return value


_PERIOD = Field("special:period")
_POSTAL_CITY = Field("special:postal_city")

SWEDISH_LABELS = LabelTable({
    "Land som berörs": Field("extra:country"),
    "Berörd fond": Field("fund"),
    "Fond": Field("fund"),
    "Program CCI": Field("programme"),
    "CCI-nummer": Field("programme"),
    "Program": Field("programme"),
    "Diarienummer": Field("extra:case_number"),
    "Projektägare organisationsnummer": Field("owner_org_number", n.parse_org_number),
    "Projektägarens organisationsnummer": Field("owner_org_number", n.parse_org_number),
    "Organisationsnummer": Field("owner_org_number", n.parse_org_number),
    "Projektägare": Field("owner_name"),
    "Stödmottagare": Field("owner_name"),
    "Namn": Field("title"),
    "Projektnamn": Field("title"),
    "Projekttitel": Field("title"),
    "Startdatum": Field("start_date", n.parse_iso_date),
    "Slutdatum": Field("end_date", n.parse_iso_date),
    "Projektstart": Field("start_date", n.parse_iso_date),
    "Projektslut": Field("end_date", n.parse_iso_date),
    "Projektperiod": _PERIOD,
    "Unionens medfinansieringsgrad": Field("eu_cofinancing_rate", n.parse_percent),
    "EU:s medfinansieringsgrad": Field("eu_cofinancing_rate", n.parse_percent),
    "Medfinansieringsgrad": Field("eu_cofinancing_rate", n.parse_percent),
    "Programområde": Field("programme_area"),
    "Specifikt mål": Field("specific_objective", code),
    "Sekundärtema - Motverka barnfattigdom": Field("child_poverty_theme", n.parse_bool),
    "Motverka barnfattigdom": Field("child_poverty_theme", n.parse_bool),
    "Region": Field("region_name"),
    "ESF-region": Field("region_name"),
    "NUTS-2 kod": Field("nuts_code", nuts_code),
    "NUTS-2-kod": Field("nuts_code", nuts_code),
    "NUTS 2 kod": Field("nuts_code", nuts_code),
    "NUTS-kod": Field("nuts_code", nuts_code),
    "Stödmottagare postnr / ort": _POSTAL_CITY,
    "Stödmottagare postnr/ort": _POSTAL_CITY,
    "Stödmottagare postnr": Field("postal_code", n.parse_postal_code),
    "Stödmottagare postnummer": Field("postal_code", n.parse_postal_code),
    "Postnummer": Field("postal_code", n.parse_postal_code),
    "Stödmottagare ort": Field("city"),
    "Ort": Field("city"),
    "Interventionstyp": Field("intervention_type", code),
    "Interventionskategori": Field("intervention_type", code),
    "Antal deltagare": Field("participants", n.parse_int),
    "Planerat antal deltagare": Field("participants", n.parse_int),
    "Beräknat antal deltagare": Field("participants", n.parse_int),
    "Insats av strategisk betydelse": Field("strategic_importance", n.parse_bool),
    "Projektnummer": Field("project_number"),
    "Beviljat ESF-stöd": Field("granted_amount_sek", n.parse_amount),
    "Beviljat ESF+-stöd": Field("granted_amount_sek", n.parse_amount),
    "Beviljat EU-stöd": Field("granted_amount_sek", n.parse_amount),
    "Beviljat stöd": Field("granted_amount_sek", n.parse_amount),
    "Total projektbudget": Field("total_budget_sek", n.parse_amount),
    "Total budget": Field("total_budget_sek", n.parse_amount),
    "Projektfas": Field("project_phase"),
    "Kontaktperson": Field("contact_name"),
    "E-post": Field("contact_email", n.parse_email),
    "E-postadress": Field("contact_email", n.parse_email),
    "Epost": Field("contact_email", n.parse_email),
    "Telefonnummer": Field("contact_phone", n.parse_phone),
    "Telefon": Field("contact_phone", n.parse_phone),
    "Län": Field("extra:county"),
})


class FieldBlock:
    """Where a run of label/value lines starts and ends in a list of lines."""

    __slots__ = ("start", "end", "fields")

    def __init__(self, start: int, end: int, fields: int) -> None:
        self.start, self.end, self.fields = start, end, fields


# An unknown label glued to its value: the label ends where a lower-case letter meets an
# upper-case letter or a digit ("ProjektledareAnna", "Beviljat stöd13 000 kr").
_GLUED_UNKNOWN_RE = re.compile(r"^(?P<label>[A-ZÅÄÖ][a-zåäöé\- ]{3,40}[a-zåäö])(?P<value>[A-ZÅÄÖ0-9].*)$")


def _is_label(line: str, *, glued: bool) -> bool:
    return SWEDISH_LABELS.match(line, glued=glued) is not None or looks_like_label(line)


def _next_nonblank(lines: Sequence[str], index: int) -> int | None:
    while index < len(lines):
        if lines[index].strip():
            return index
        index += 1
    return None


def _value_after(lines: Sequence[str], index: int, *, glued: bool) -> tuple[str, int]:
    """The value on the line after a label at ``index``, and the index after it.

    The next line is the value unless it is blank or itself a label: then the value is empty.
    """
    following = index + 1
    if following < len(lines) and lines[following].strip() and not _is_label(lines[following], glued=glued):
        return lines[following], following + 1
    return "", following


def read_field_block(lines: Sequence[str], start: int, builder: RecordBuilder | None, *, glued: bool) -> FieldBlock:
    """Read label/value lines from ``start`` into ``builder`` until the block ends.

    The block ends at a line that is not a label (after skipping blank lines), or at a label whose
    key the block already had: that is where the next record of a multi-record page begins. With
    ``builder=None`` the block is only measured (nothing is normalised).
    """
    index, fields = start, 0
    seen: set[str] = set()
    while index < len(lines):
        line = lines[index]
        if not line.strip():
            following = _next_nonblank(lines, index)
            if following is None or not _is_label(lines[following], glued=glued):
                break
            index = following
            continue
        match = SWEDISH_LABELS.match(line, glued=glued)
        if match is not None:
            key = _KEY_OF_SPECIAL.get(match.field.key, match.field.key)
            if key in seen:
                break
            seen.add(key)
            value, index = (match.inline_value, index + 1) if match.inline_value else \
                _value_after(lines, index, glued=glued)
            if builder is not None:
                _apply(builder, match, value)
            fields += 1
            continue
        if looks_like_label(line):
            value, index = _value_after(lines, index, glued=glued)
            if builder is not None:
                builder.unknown(line, value)
            fields += 1
            continue
        glued_unknown = _GLUED_UNKNOWN_RE.match(n.clean_text(line)) if glued and fields and len(line) <= 200 else None
        if glued_unknown:
            if builder is not None:
                builder.unknown(glued_unknown.group("label"), glued_unknown.group("value"))
            fields += 1
            index += 1
            continue
        break
    return FieldBlock(start, index, fields)


_KEY_OF_SPECIAL = {"special:period": "period_text", "special:postal_city": "postal_code"}


def find_field_blocks(lines: Sequence[str], *, glued: bool) -> list[FieldBlock]:
    """The blocks of at least two labels (one for the first block), in order."""
    blocks: list[FieldBlock] = []
    index = 0
    while index < len(lines):
        if SWEDISH_LABELS.match(lines[index], glued=glued) is None:
            index += 1
            continue
        block = read_field_block(lines, index, None, glued=glued)
        if block.fields >= (2 if blocks else 1):
            blocks.append(block)
            index = max(block.end, index + 1)
        else:
            index += 1
    return blocks


def _apply(builder: RecordBuilder, match: LabelMatch, value: str) -> None:
    if not n.clean_text(value):
        builder.warnings.append(f"{match.label}: no value")
        return
    key = match.field.key
    if key == "special:period":
        builder.set_period(match.label, value)
    elif key == "special:postal_city":
        postal, city = split_postal_city(value)
        if postal:
            builder.set("postal_code", postal, n.parse_postal_code, label=match.label)
        if city:
            builder.set("city", city, label=match.label)
    else:
        builder.set_match(match, value)


class RecordSpan:
    """One record's lines on a page: the header above its fields, the fields, the text below."""

    __slots__ = ("header", "block_start", "body")

    def __init__(self, header: list[str], block_start: int, body: list[str]) -> None:
        self.header, self.block_start, self.body = header, block_start, body


_TITLE_LINE_RE = re.compile(r"^(?P<number>[0-9][0-9A-Za-z/\-]{3,}[0-9A-Za-z])\s+[-–—]\s+(?P<title>\S.*)$")


def split_title_line(line: str) -> tuple[str | None, str]:
    """``"22-010-S04 - Värmlands Skolsamverkan"`` → ``("22-010-S04", "Värmlands Skolsamverkan")``.

    >>> split_title_line('Förprojekt "Utvecklad Samverkan i Klarälvdalen"')
    (None, 'Förprojekt "Utvecklad Samverkan i Klarälvdalen"')
    """
    text = n.clean_text(line)
    match = _TITLE_LINE_RE.match(text)
    if match:
        return match.group("number"), match.group("title")
    return None, text


def _could_be_title(line: str) -> bool:
    text = n.clean_text(line)
    return bool(text) and len(text) <= 200 and not is_chrome(text) and bool(re.search(r"\w", text))


def split_records(lines: Sequence[str], *, glued: bool) -> list[RecordSpan]:
    """Cut a page into records: each field block with the title line above it and the text below it."""
    blocks = find_field_blocks(lines, glued=glued)
    spans: list[RecordSpan] = []
    header_start = 0
    for position, block in enumerate(blocks):
        last = position + 1 == len(blocks)
        body_end = len(lines) if last else blocks[position + 1].start
        body = list(lines[block.end:body_end])
        if not last:
            # The next record's title line sits at the end of this record's text.
            tail = _last_nonblank(body)
            if tail is not None and _is_next_title(body[tail]):
                body_end = block.end + tail
                body = body[:tail]
        spans.append(RecordSpan(list(lines[header_start:block.start]), block.start, body))
        header_start = body_end
    return spans


def _is_next_title(line: str) -> bool:
    number, _ = split_title_line(line)
    text = n.clean_text(line)
    return number is not None or (_could_be_title(text) and len(text) <= 150 and not text.endswith("."))


def _last_nonblank(lines: Sequence[str]) -> int | None:
    for index in range(len(lines) - 1, -1, -1):
        if lines[index].strip():
            return index
    return None


def title_from_header(header: Sequence[str]) -> tuple[str | None, str | None]:
    """The project number and title stated on the title line above the fields, if there is one."""
    candidates = [line for line in header if _could_be_title(line)]
    if not candidates:
        return None, None
    return split_title_line(candidates[-1])
