"""What the three parsers share: label tables, a label/value line reader, and a record builder.

A *label table* says which labels a format knows, under which spellings, and how each value is
normalised. The line reader finds ``label``/``value`` pairs whatever the layout: the label glued to
its value (``ProjektfasGenomförande``), on one line with a colon (``Region: Stockholm``), or the
value on the next line (``Region:`` then ``Stockholm``). A label whose value line is empty never
swallows the next label.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from kgbuild import normalise as n
from kgbuild.errors import NormaliseError
from kgbuild.records import ProjectRecord, RawValue, SourceFormat

__all__ = [
    "Field",
    "LabelTable",
    "LabelMatch",
    "RecordBuilder",
    "is_chrome",
    "bullet_item",
    "label_key",
    "paragraphs",
]

Convert = Callable[[str], Any]
# Label lines, headings and chrome are short; a longer line is prose, and is not inspected as one.
MAX_FIELD_LINE = 300


@functools.lru_cache(maxsize=4096)
def label_key(label: str) -> str:
    """The comparison key of a label: case, spacing, a trailing colon and dash styles ignored.

    >>> label_key("  NUTS-2 kod: ")
    'nuts-2 kod'
    """
    key = n.clean_text(label).rstrip(":").strip().casefold()
    return re.sub(r"\s*[–—]\s*", " - ", key).replace("  ", " ")


@dataclass(frozen=True, slots=True)
class Field:
    """A known label: the record key it fills and the normaliser for its value.

    ``key`` is a :class:`ProjectRecord` field, or ``extra:NAME`` for a known fact without a key.
    """

    key: str
    convert: Convert = n.clean_text


@dataclass(frozen=True, slots=True)
class LabelMatch:
    label: str  # as written
    field: Field
    inline_value: str  # what follows the label on the same line ('' when the value is on the next line)


class LabelTable:
    """Known labels of one format, matched longest first."""

    def __init__(self, fields: dict[str, Field]) -> None:
        self._fields = {label_key(label): spec for label, spec in fields.items()}
        # Longest first, so "Projektägare organisationsnummer" wins over "Projektägare".
        self._labels = sorted(fields, key=len, reverse=True)
        alternatives = "|".join(
            re.escape(label).replace(r"\ ", r"\s+").replace(r"\-", "[-–—]") for label in self._labels
        )
        # Most lines start with no label at all: a three-letter prefix check skips the big regex for them.
        self._starts = {label_key(label)[:3] for label in fields}
        self._glued = re.compile(rf"^(?P<label>{alternatives})\s*:?\s*(?P<value>.*)$", re.I)
        self._separated = re.compile(rf"^(?P<label>{alternatives})\s*(?::\s*(?P<value>.*))?$", re.I)

    def __contains__(self, label: str) -> bool:
        return label_key(label) in self._fields

    def match(self, line: str, *, glued: bool) -> LabelMatch | None:
        """The label that starts ``line``, if any.

        With ``glued`` the value may follow the label directly (``ProjektfasGenomförande``);
        without it the label must stand alone or be followed by a colon.
        """
        if len(line) > MAX_FIELD_LINE or line.lstrip()[:3].casefold() not in self._starts:
            return None
        text = n.clean_text(line)
        found = (self._glued if glued else self._separated).match(text)
        if not found:
            return None
        label = found.group("label")
        spec = self._fields.get(label_key(label))
        if spec is None:
            return None
        return LabelMatch(label, spec, (found.group("value") or "").strip())


_UNKNOWN_LABEL_RE = re.compile(r"^[A-ZÅÄÖ][\wÅÄÖåäö/()&+\- ]{1,58}:$")


def looks_like_label(line: str) -> bool:
    """A short line ending in a colon (``Målgrupp:``): a label we may not know yet.

    >>> looks_like_label("Målgrupp:"), looks_like_label("Vi vill: göra mer.")
    (True, False)
    """
    if len(line) > 80:
        return False
    text = n.clean_text(line)
    return bool(_UNKNOWN_LABEL_RE.match(text)) and len(text.split()) <= 7


# Page chrome: navigation, cookie banners, print logos, event banners. Matched on whole lines.
_CHROME_RE = re.compile(
    r"^(?:information \(\d+\)|cookies?|läs mer|godkänn(?: alla)?(?: cookies)?|acceptera(?: alla)?(?: cookies)?"
    r"|neka|stäng|logotyp på utskrifter|in english|skriv ut|dela|tillbaka|till toppen|meny|sök"
    r"|mer information och anmälan\.?|hoppa till innehållet|print|share|back)$"
    r"|cookies?\b.*\b(?:webbplats|hemsida|webb)|\bwebbinari|\bwebinar\b",
    re.I,
)


def is_chrome(line: str) -> bool:
    """Whether a line is page chrome rather than content.

    >>> is_chrome("Logotyp på utskrifter"), is_chrome("3 december - Webbinarium om fattigdom"), is_chrome("merit.nu")
    (True, True, False)
    """
    return len(line) <= MAX_FIELD_LINE and bool(_CHROME_RE.search(n.clean_text(line)))


_BULLET_RE = re.compile(r"^\s*(?:[•·▪◦●∙*]|[-–—](?=\s))\s*(?P<item>\S.*)$")


def bullet_item(line: str) -> str | None:
    """The item of a bullet line (``" • AMO Sthlm"`` → ``"AMO Sthlm"``), or ``None``.

    >>> bullet_item(" • AMO Sthlm"), bullet_item("- unga arbetslösa"), bullet_item("Kommun")
    ('AMO Sthlm', 'unga arbetslösa', None)
    """
    match = _BULLET_RE.match(line)
    return n.clean_text(match.group("item")) if match else None


def paragraphs(lines: Iterable[str]) -> str:
    """Lines of prose → paragraphs separated by one blank line, trimmed.

    >>> paragraphs(["", "a", "b", "", "", "c", ""])
    'a\\nb\\n\\nc'
    """
    text = "\n".join(line.rstrip() for line in lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


@dataclass
class RecordBuilder:
    """Collects the fields of one record; a value that does not normalise is kept raw and reported."""

    source_format: SourceFormat
    language: str
    values: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, RawValue] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def has(self, key: str) -> bool:
        return key in self.values or key.removeprefix("extra:") in self.extra

    def set(self, key: str, raw: str, convert: Convert = n.clean_text, *, label: str | None = None) -> None:
        """Normalise ``raw`` and store it under ``key``; keep it raw under ``extra`` if it does not read."""
        raw = n.clean_text(raw)
        if not raw:
            return
        name = label or key
        try:
            value = convert(raw)
        except NormaliseError as exc:
            self.warnings.append(f"{name}: {exc}; kept as written under extra")
            self.extra[name] = raw
            return
        if key.startswith("extra:"):
            self.extra[key.removeprefix("extra:")] = value
        elif key in self.values and self.values[key] != value:
            self.warnings.append(f"{name}: stated twice with different values ({self.values[key]!r}, "
                                 f"{value!r}); the first is kept, the second under extra")
            self.extra[name] = raw
        else:
            self.values[key] = value

    def set_match(self, match: LabelMatch, value: str) -> None:
        self.set(match.field.key, value, match.field.convert, label=match.label)

    def set_list(self, key: str, items: Sequence[str]) -> None:
        cleaned = tuple(dict.fromkeys(n.clean_text(item) for item in items if n.clean_text(item)))
        if cleaned:
            self.values[key] = cleaned

    def unknown(self, label: str, value: str) -> None:
        """A label the format's table does not know: reported, and kept under ``extra`` as written."""
        label = n.clean_text(label).rstrip(":").strip()
        self.warnings.append(f"unknown label {label!r}: kept under extra")
        self.extra[label] = n.clean_text(value)

    def set_period(self, label: str, value: str) -> None:
        """A project period: kept as written, and read as two dates (or two years) where it can be."""
        self.set("period_text", value)
        try:
            start, end = n.parse_period(value)
        except NormaliseError:
            try:
                n.parse_year_range(value)
            except NormaliseError as exc:
                self.warnings.append(f"{label}: {exc}; kept as period text only")
            return
        self.values.setdefault("start_date", start)
        self.values.setdefault("end_date", end)

    def build(self) -> ProjectRecord:
        return ProjectRecord(
            source_format=self.source_format,
            language=self.language,
            extra=tuple(self.extra.items()),
            **self.values,
        )


def split_postal_city(text: str) -> tuple[str | None, str | None]:
    """``"651 84 Karlstad"`` → ``("65184", "Karlstad")``; either part may be missing.

    >>> split_postal_city("65184 KARLSTAD")
    ('65184', 'KARLSTAD')
    """
    match = re.match(r"^\s*(?:SE-?\s*)?([0-9]{3}\s?[0-9]{2})\b\s*(.*)$", text)
    if not match:
        return None, n.clean_text(text) or None
    return match.group(1).replace(" ", ""), n.clean_text(match.group(2)) or None
