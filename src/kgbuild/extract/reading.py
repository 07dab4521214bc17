"""The layout readers: label/value pairs, lists and headings found in a text, each with its span.

One pass over the lines finds every value a label announces, in any of the layouts the lexicon's
header describes, and keeps the rest (headings, prose) for the title and prose readers. Each value
is read by the finder of its field's kind from the text right after its label; a value a finder
cannot read is reported, never guessed.
"""

from __future__ import annotations

import functools
import itertools
import operator
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from kgbuild import normalise as n
from kgbuild.errors import NormaliseError
from kgbuild.extract import values as v
from kgbuild.extract.lexicon import FieldSpec, Lexicon, label_key

__all__ = ["Candidate", "Line", "Reading", "fund_name", "label_name", "read_layout", "read_value", "split_lines",
           "is_heading"]

# Label lines, headings and list items are short; longer lines are prose.
MAX_FIELD_LINE = 300
_BULLET_RE = re.compile(r"^[ \t\u00a0]*(?:[•·▪◦●∙*]|[-–—](?=\s)|\d{1,2}[.)](?=\s))[ \t\u00a0]*")
_TYPED = {"date", "period", "amount", "percent", "int", "email", "phone", "org_number", "postal_code",
          "project_number", "bool", "nuts", "deadline", "area"}
# What every telephone number holds: a line without it and without an "@" has no contact detail after a
# label such as "Tel" or "E-post". Looked for faster than the labels themselves: a pattern that starts
# with a digit is found by a fast scan.
_PHONE_DIGITS_RE = re.compile(v.PHONE_DIGITS)
# A line that is only a web address or a file name names a site or an attachment, not a project.
_WEB_ADDRESS_RE = re.compile(r"(?:https?://)?[\w.-]+\.(?:nu|se|com|org|eu|net|pdf|docx?)/?\S*", re.I)
_GLUED_UNKNOWN_RE = re.compile(r"^(?P<label>[A-ZÅÄÖ][a-zåäöé\- ]{3,40}[a-zåäö])(?P<value>[A-ZÅÄÖ0-9].*)$")
# A label is a few words; a longer line ending in a colon introduces a list in prose.
_UNKNOWN_LABEL_WORDS = 4
_UNKNOWN_LABEL_RE = re.compile(r"^[ \t]*[A-ZÅÄÖ][\wÅÄÖåäö/()&+\- ]{1,58}:[ \t]*$")


# Line and Candidate are named tuples, not frozen dataclasses: a page makes some 70 lines and 30
# candidates, and a frozen dataclass sets each field through object.__setattr__ (2-4x the time).
class Line(NamedTuple):
    index: int  # type: ignore[assignment]  # the line's number, over tuple.index (not used on a Line)
    start: int
    end: int
    text: str


class Candidate(NamedTuple):
    """A value read from the text: its key, the value, where it was read, and how."""

    key: str
    value: Any
    start: int
    end: int
    label: str  # the label as written, or "heading", "list", "prose"
    line: int
    confidence: float = 0.9


@dataclass
class Reading:
    """What the layout readers found in one text."""

    text: str
    lines: list[Line]
    candidates: list[Candidate] = field(default_factory=list)
    label_lines: set[int] = field(default_factory=set)  # lines holding a label or a value read
    headings: list[Line] = field(default_factory=list)
    fields_seen: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # The text casefolded once, when folding moves no offset (see casefolded): several readers look for
    # words in it, and casefolding a page costs about 30 µs each time.
    folded: str | None = None

    def fold(self, start: int, end: int) -> str:
        """``text[start:end].casefold()``."""
        return self.folded[start:end] if self.folded is not None else self.text[start:end].casefold()


def casefolded(text: str) -> str | None:
    """``text.casefold()`` when every character folds to one ("ß" folds to two): a slice of it is then the
    casefolded slice of ``text``; else None."""
    folded = text.casefold()
    return folded if len(folded) == len(text) else None


def split_lines(text: str) -> list[Line]:
    """The lines of ``text`` with their offsets, built without a Python-level call a line (a third faster)."""
    lines = text.split("\n")
    lengths = list(map(len, lines))
    starts = list(itertools.accumulate(map((1).__add__, lengths), initial=0))  # one more than lines
    ends = map(operator.add, starts, lengths)
    return list(map(tuple.__new__, itertools.repeat(Line), zip(itertools.count(), starts, ends, lines)))


def clean(text: str) -> str:
    """Runs of white space (no-break spaces too) as one space, trimmed.

    A text of printable characters and single spaces is only trimmed: no white space but the space is
    printable, and the test is a fraction of splitting it into words.
    """
    return text.strip(" ") if text.isprintable() and "  " not in text else " ".join(text.split())


@functools.lru_cache(maxsize=1024)
def label_name(label: str) -> str:
    """A label as it is named in evidence, warnings and extra keys: "Projektägare" for " Projektägare: "
    (cached: one site's labels, page after page)."""
    return clean(label).rstrip(":").strip()


def is_chrome(lex: Lexicon, line: str) -> bool:
    return len(line) <= MAX_FIELD_LINE and _is_chrome(lex, line)


@functools.lru_cache(maxsize=4096)
def _is_chrome(lex: Lexicon, line: str) -> bool:
    # Cached: the same banners and buttons open page after page of one site.
    return lex.is_chrome_line(clean(line))  # clean() leaves no "\n"


def is_heading(lex: Lexicon, line: Line) -> bool:
    """A short line standing for a title or a heading: no sentence, no label, no chrome, no list item."""
    stripped = line.text.strip()
    if not stripped or stripped.endswith((".", ":", ",", ";")):
        return False  # told before the line is cleaned: most lines of prose end so
    text = clean(stripped)
    if len(text) > 150 or len(text.split()) > 20:
        return False
    if _BULLET_RE.match(line.text) or is_chrome(lex, text) or not re.search(r"[^\W\d_]", text) or \
            _WEB_ADDRESS_RE.fullmatch(text):
        return False
    return not (label_key(text) in lex.sections or label_key(text) in lex.lists)


def _fund(lex: Lexicon, text: str, language: str = "en") -> v.Found | None:
    """The fund a text names (the lexicon's first, the most specific, where it names several)."""
    for _, short, pattern in lex.funds:
        match = pattern.search(text)
        if match:
            return fund_name(text, match, short, pattern, language)
    return None


def fund_name(text: str, match: re.Match[str], short: dict[str, str], pattern: re.Pattern[str],
              language: str) -> v.Found:
    """A fund found in ``text`` as the short name the text gives it in brackets ("Europeiska regionala
    utvecklingsfonden (ERUF)"), else the lexicon's short name in the text's language."""
    bracket = re.match(r"\s*\(([^()\s]{2,10})\)", text[match.end():])
    if bracket and pattern.fullmatch(bracket.group(1)):
        return v.Found(bracket.group(1), match.start(), match.end() + bracket.end())
    return v.Found(short.get(language, short["en"]), match.start(), match.end())


def _org(lex: Lexicon, text: str) -> v.Found | None:
    """An organisation's name: the value as written when it is one, else the first name of a known form.

    "X, X" is one owner X; "212000-1850, X" is an organisation number and the name X.
    """
    found = v.find_text(text)
    if found is None:
        return None
    value, start, end = found
    number = v.find_org_number(value)
    if number and number.start == 0:
        rest = re.match(r"[\s,;:–-]*", value[number.end:])
        offset = number.end + (rest.end() if rest else 0)
        value, start = value[offset:], start + offset
    halves = [h.strip() for h in value.split(",")]
    if len(halves) == 2 and halves[0].casefold() == halves[1].casefold():
        value, end = halves[0], start + len(halves[0])
    if len(value) > 120 or (len(value) > 80 and re.search(r"[.!?]\s+[A-ZÅÄÖ]", value)) or " is " in value or \
            " är " in value:
        # A description: the organisation it starts with ("University of Gothenburg is located in ..."),
        # else the first name of a known form in it.
        subject = _SUBJECT_RE.match(text)
        if subject:
            name = re.sub(r"^The\s+", "", subject.group("name"))
            return v.Found(name, subject.end("name") - len(name), subject.end("name"))
        match = lex.org_re.search(text)
        if not match:
            return None
        name = re.sub(r"^The\s+", "", match.group(0))
        return v.Found(name, match.end() - len(name), match.end())
    if value.startswith("The "):
        value, start = value[4:], start + 4
    return v.Found(value, start, end) if value else None


# The organisation a description starts with: "Stadt Musterstadt is a municipality in Germany."
_SUBJECT_RE = re.compile(r"^\s*(?:The\s+)?(?P<name>[A-ZÅÄÖ][\w'’&.-]*"
                         r"(?:\s+(?:(?:of|de|di|da|del|für|för|i|och|and)\s+)?[A-ZÅÄÖ0-9][\w'’&.-]*){0,6})\s+"
                         r"(?:is|are|was|has|have|works|represents|consists|operates|comprises|är|arbetar)\b")
_PERSON_RE = re.compile(r"^[A-ZÅÄÖÉÜØÆ][\w’'.-]+(?:\s+(?:[a-z]{1,3}\s+)?[A-ZÅÄÖÉÜØÆ][\w’'.-]+){1,4}$")


def _person(lex: Lexicon, text: str) -> v.Found | None:
    """A person's name, without a role before or after it ("Projektledare Anna X", "Anna X, Projektledare")."""
    found = v.find_text(text)
    if found is None:
        return None
    value, start, end = found
    role = lex.role_re.match(value)
    if role:
        value, start = value[role.end():], start + role.end()
    trailing = lex.trailing_role_re.search(value) or re.search(r",.*$", value)
    if trailing:
        value = value[:trailing.start()]
    value = value.strip()
    if not _PERSON_RE.match(value) or len(value) > 60:
        return None
    return v.Found(value, start, start + len(value))


def read_value(lex: Lexicon, spec: FieldSpec, text: str, offset: int, label: str, line: int,
               language: str = "sv", label_at: int | None = None) -> list[Candidate]:
    """The candidates one labelled value gives (``text`` starts at ``offset`` in the document, its label
    at ``label_at``)."""

    def one(key: str, found: v.Found | None, confidence: float = 0.9) -> list[Candidate]:
        if found is None:
            return []
        return [Candidate(key, found.value, offset + found.start, offset + found.end, label, line, confidence)]

    kind, key = spec.kind, spec.key
    out: list[Candidate] = []
    if kind == "text":
        out = one(key, v.find_text(text))
    elif kind == "org":
        out = one(key, _org(lex, text))
    elif kind == "person":
        out = one(key, _person(lex, text))
    elif kind == "fund":
        out = one(key, _fund(lex, text, language))
    elif kind == "area":
        code = v.find_code(text)
        out = one(key, v.Found(code.value.split(".")[0], code.start, code.end) if code else v.find_text(text))
        if code and "." in code.value:
            out += one("specific_objective", code)
    elif kind == "period":
        period = v.find_period(text)
        if period:
            out = one("start_date", v.Found(period.value[0], period.start, period.end))
            out += one("end_date", v.Found(period.value[1], period.start, period.end))
            out += one("period_text", v.Found(clean(text[period.start:period.end]), period.start, period.end))
        else:
            years = v.find_years(text)
            out = one("period_text", v.Found(clean(text[years.start:years.end]), years.start, years.end)
                      if years else v.find_text(text))
    elif kind == "deadline":
        date = v.find_date(text)
        partner = bool(lex.partner_deadline_re.search(label))
        out = one("deadline_partner" if partner else "deadline_application", date)
    elif kind == "list":
        for item in re.finditer(r"[^,;\n]+", text):
            out += one(key, _shift(v.find_text(item.group(0)), item.start()))
    elif kind == "postal_code":
        found = v.find_postal_city(text)
        out = one("postal_code", v.Found(found.value[0], found.start, found.end) if found else None)
    elif kind == "postal_city":
        found = v.find_postal_city(text)
        if found:
            out = one("postal_code", v.Found(found.value[0], found.start, found.end))
            if found.value[1]:
                out += one("city", v.Found(found.value[1], found.start, found.end))
    else:
        out = one(key, v.FINDERS[kind](text))
    for also in spec.also:
        if kind == "area" and also == "specific_objective":
            continue  # read with the area's code above ("1.1 Kompetensförsörjning")
        out += read_value(lex, lex.fields_alone[also], text, offset, label, line, language)
    if spec.names_fund and label_at is not None:
        fund = _fund(lex, label, language)
        if fund:
            # Implied by the grant's label: a fund stated by its own label wins over it.
            out.append(Candidate("fund", fund.value, label_at + fund.start, label_at + fund.end, label, line, 0.5))
    return out


def _shift(found: v.Found | None, by: int) -> v.Found | None:
    return v.Found(found.value, found.start + by, found.end + by) if found else None


def _accepts(spec: FieldSpec, written: str, rest: str, section: str | None) -> str | None:
    """How a label at a line's start is followed, if that layout is one it may be read in."""
    if spec.section and spec.section != section:
        return None
    stripped = rest.lstrip(" \t\u00a0")
    if stripped.startswith(":") and not stripped.startswith("://"):
        return "colon"
    if spec.colon:
        return None
    if not stripped:
        return "alone"
    if rest[0] in " \t\u00a0":
        # "SVENSK PROJEKTÄGARE Åre kommun": a label in capitals before its value; "REGION SKÅNE" is a
        # value in capitals (a name), unless what follows is a value of the label's kind.
        if written.isupper() and len(written) > 2 and (not stripped.isupper() or (
                spec.kind in _TYPED and _finder_matches_at_start(spec, stripped))):
            return "spaced"
        if spec.kind in _TYPED and (written.endswith(".") or _finder_matches_at_start(spec, stripped)):
            return "spaced"
        return None
    if written[-1].isupper() and rest[0].isalpha():
        return None  # a word in capitals goes on ("LÄNSSTYRELSEN" is not "Län" glued to a value)
    if rest[0].isupper() or rest[0].isdigit() or rest[0] in "#\"“€" or \
            (spec.kind in _TYPED and _finder_matches_at_start(spec, stripped)):
        return "glued"
    return None


@functools.lru_cache(maxsize=4096)
def _known_label(lex: Lexicon, line: str, section: str | None) -> tuple[FieldSpec, str, int, str] | None:
    """The known label ``line`` starts with, in a layout its field may be read in: (its field, the label as
    written, where it ends, the layout). Cached: a site writes its labels alike on every page."""
    match = lex.label_at_start(line)
    if match is None:
        return None
    written, rest = match.group("label"), match.group("rest")
    for spec in lex.fields_for(written):
        layout = _accepts(spec, written, rest, section)
        if layout is not None:
            return spec, written, match.end("label"), layout
    return None


def _finder_matches_at_start(spec: FieldSpec, value: str) -> bool:
    if spec.kind not in v.FINDERS and spec.kind not in ("deadline", "period", "postal_code", "area"):
        return False
    finder = {"deadline": v.find_date, "period": v.find_period, "postal_code": v.find_postal_city,
              "area": v.find_code}.get(spec.kind) or v.FINDERS[spec.kind]
    found = finder(value)
    return found is not None and found.start <= 2


class _Reader:
    def __init__(self, lex: Lexicon, text: str, language: str) -> None:
        self.lex = lex
        self.language = language
        self.reading = Reading(text, split_lines(text))
        self.section: str | None = None

    def run(self) -> Reading:
        lines = self.reading.lines
        index = 0
        while index < len(lines):
            line = lines[index]
            if not line.text.strip() or is_chrome(self.lex, line.text):
                index += 1
                continue
            index = self._line(index)
        return self.reading

    # --- one line ---------------------------------------------------------------------------------

    def _line(self, index: int) -> int:
        line = self.reading.lines[index]
        text = line.text
        if len(text) <= MAX_FIELD_LINE:
            key = label_key(text)
            if key in self.lex.sections:
                # A section's heading may also be a label ("Contact person:" over "Name: ...").
                self.section = self.lex.sections[key]
            match = self._label_at_start(line)
            if match is not None:
                return match
            list_key = self._list_heading(text)
            if list_key is not None:
                return self._list(index, list_key)
            if key in self.lex.sections:
                return index + 1
        if self.section == "contact" and self._bare_contact(line):
            return index + 1
        self._inline(line, 0)
        if index not in self.reading.label_lines and is_heading(self.lex, line):
            self.reading.headings.append(line)
        return index + 1

    def _label_at_start(self, line: Line) -> int | None:
        known = _known_label(self.lex, line.text, self.section)
        if known is not None:
            return self._take(line, *known)
        # A label written in many ways is read only before a colon: a line without one has none.
        for pattern, spec in self.lex.pattern_fields if ":" in line.text else ():
            found = pattern.match(line.text.lstrip(" \t"))
            if found:
                offset = len(line.text) - len(line.text.lstrip(" \t"))
                end = offset + found.end()
                if line.text[end:].lstrip(" \t").startswith(":"):
                    return self._take(line, spec, line.text[offset:end], end, "colon")
        glued = _GLUED_UNKNOWN_RE.match(line.text) if len(line.text) <= 200 else None
        if glued and self._after_label_line(line.index):
            # An unknown label glued to its value among known ones ("SamverkansformNätverk").
            written = glued.group("label")
            self.reading.label_lines.add(line.index)
            self.reading.warnings.append(f"line {line.index + 1}: unknown label {written!r}: kept under extra")
            self._add(read_value(self.lex, _extra(written), glued.group("value"), line.start + glued.start("value"),
                                 written, line.index, self.language))
            return line.index + 1
        if _UNKNOWN_LABEL_RE.match(line.text) and len(line.text.split()) <= _UNKNOWN_LABEL_WORDS and \
                label_key(line.text) not in self.lex.sections and self._list_heading(line.text) is None:
            value_line = self._value_line(line.index)
            self.reading.label_lines.add(line.index)
            if value_line is not None:
                self.reading.label_lines.add(value_line.index)
                self.reading.warnings.append(f"line {line.index + 1}: unknown label {clean(line.text)!r}: "
                                             "kept under extra")
                written = label_name(line.text)
                self._add(read_value(self.lex, _extra(written), value_line.text, value_line.start, written,
                                     value_line.index, self.language))
                return value_line.index + 1
            return line.index + 1
        return None

    def _after_label_line(self, index: int) -> bool:
        previous = index - 1
        while previous >= 0 and not self.reading.lines[previous].text.strip():
            previous -= 1
        return previous >= 0 and previous in self.reading.label_lines

    def _take(self, line: Line, spec: FieldSpec, written: str, label_end: int, layout: str) -> int:
        """Read the value a label at the start of ``line`` announces; return the next line to read."""
        self.reading.label_lines.add(line.index)
        self.reading.fields_seen.append(spec.name)
        rest_start = label_end
        if layout == "colon":
            rest_start = line.text.index(":", label_end) + 1
        value = line.text[rest_start:]
        if value.strip():
            self._inline(line, rest_start, first=(spec, written))
            return line.index + 1
        value_line = self._value_line(line.index)
        if value_line is None:
            if label_key(written) not in self.lex.sections and not self._same_field_follows(line.index, spec):
                self.reading.warnings.append(f"line {line.index + 1}: {clean(written)}: no value")
            return line.index + 1
        if len(value_line.text.strip()) <= 150:  # a longer value is prose, kept as the section's text too
            self.reading.label_lines.add(value_line.index)
        self._read(spec, value_line.text, value_line.start, written, value_line.index,
                   line.start + label_end - len(written))
        return value_line.index + 1

    def _bare_contact(self, line: Line) -> bool:
        """Under a contact heading, a line that is only an e-mail address or a telephone number is one."""
        text = line.text.strip()
        for key, finder in (("contact_email", v.find_email), ("contact_phone", v.find_phone)):
            found = finder(text)
            if found is not None and found.start == 0 and found.end == len(text):
                offset = line.start + line.text.index(text)
                self.reading.label_lines.add(line.index)
                self._add([Candidate(key, found.value, offset, offset + found.end, "contact", line.index, 0.8)])
                return True
        return False

    def _same_field_follows(self, index: int, spec: FieldSpec) -> bool:
        """Whether the next line states the same field ("Deadline:" over "Deadline for proposals: 1 May"):
        the label above is then a heading, not a label missing its value."""
        following = next((line for line in self.reading.lines[index + 1:index + 4] if line.text.strip()), None)
        if following is None:
            return False
        text = following.text.lstrip(" \t")
        match = self.lex.label_at_start(text)
        keys = {s.key for s in self.lex.fields_for(match.group("label"))} if match else set()
        keys |= {s.key for p, s in self.lex.pattern_fields if p.match(text)}
        return spec.key in keys

    def _value_line(self, index: int) -> Line | None:
        """The line after a label alone on its own: the next non-blank line, unless that is a label too."""
        lines = self.reading.lines
        following = index + 1
        while following < len(lines) and not lines[following].text.strip():
            following += 1
            if following - index > 3:
                return None
        if following >= len(lines):
            return None
        candidate = lines[following]
        if self._is_label_line(candidate.text) or is_chrome(self.lex, candidate.text):
            return None
        return candidate

    def _is_label_line(self, text: str) -> bool:
        if len(text) > MAX_FIELD_LINE:
            return False
        match = self.lex.label_at_start(text)
        if match:
            for spec in self.lex.fields_for(match.group("label")):
                if _accepts(spec, match.group("label"), match.group("rest"), self.section):
                    return True
        stripped = text.lstrip()
        for pattern, _ in self.lex.pattern_fields if ":" in stripped else ():
            found = pattern.match(stripped)
            if found and stripped[found.end():].lstrip().startswith(":"):
                return True
        return bool(_UNKNOWN_LABEL_RE.match(text)) and len(text.split()) <= _UNKNOWN_LABEL_WORDS or \
            label_key(text) in self.lex.sections

    def _inline(self, line: Line, start: int, first: tuple[FieldSpec, str] | None = None) -> None:
        """Values after labels inside a line: ``Projekt: X. Projektägare: Y.``; ``first`` starts at ``start``."""
        text = line.text
        contact = "@" in text or _PHONE_DIGITS_RE.search(text, start) is not None
        if first is None and not contact and text.find(":", start) == -1:
            return  # no label ends before a colon and no contact detail: most lines of prose
        pieces: list[tuple[FieldSpec | None, str, int, int]] = []  # spec, label, value start, label start
        if first is not None:
            pieces.append((first[0], first[1], start, text.find(first[1])))
        for label_start, written, value_start in self.lex.labels_before_colons(text, start):
            if not _may_start_inline(text, label_start, written, blank_after=not text[value_start:].strip()):
                continue
            specs = [s for s in self.lex.fields_for(written) if not s.section or s.section == self.section]
            if not specs:
                specs = [s for p, s in self.lex.pattern_fields if p.fullmatch(written)]
            if not specs:
                continue
            if first is not None and label_start == start:
                continue
            pieces.append((specs[0], written, value_start, label_start))
        contacts = self.lex.spaced_contact_re.finditer(text, start) if contact else ()
        for match in contacts:
            specs = [s for s in self.lex.fields_for(match.group("label")) if s.kind in ("email", "phone")]
            if specs and _finder_matches_at_start(specs[0], text[match.end():]) and \
                    all(p[3] != match.start() for p in pieces) and match.start() > start:
                pieces.append((specs[0], match.group("label"), match.end(), match.start()))
        if first is None and not pieces:
            return
        if len(pieces) > 1:
            pieces.sort(key=lambda p: p[3])
        for number, (spec, written, value_start, label_start) in enumerate(pieces):
            value_end = pieces[number + 1][3] if number + 1 < len(pieces) else len(text)
            value = text[value_start:value_end]
            assert spec is not None
            self.reading.label_lines.add(line.index)
            if first is None or number:
                self.reading.fields_seen.append(spec.name)
            if not value.strip():
                value_line = self._value_line(line.index) if number + 1 == len(pieces) else None
                if value_line is not None:
                    self.reading.label_lines.add(value_line.index)
                    self._read(spec, value_line.text, value_line.start, written, value_line.index,
                               line.start + label_start)
                continue
            self._read(spec, value, line.start + value_start, written, line.index, line.start + label_start)

    # --- lists --------------------------------------------------------------------------------------

    def _list_heading(self, text: str) -> str | None:
        key = label_key(text)
        words = key.split()
        if key not in self.lex.lists and text.rstrip().endswith(":") and 1 < len(words) <= 8:
            key = words[-1]  # "Ett urval av externa samverkanspartners:"
        found: str | None = self.lex.lists.get(key)
        return found

    def _list(self, index: int, key: str) -> int:
        """Items under a list heading: bullet lines, or short lines, until the list ends."""
        lines = self.reading.lines
        self.reading.label_lines.add(index)
        following, bullets = index + 1, False
        while following < len(lines):
            line = lines[following]
            if not line.text.strip():
                following += 1
                continue
            bullet = _BULLET_RE.match(line.text)
            if bullet:
                bullets = True
            elif bullets or len(line.text) > 80 or self._is_label_line(line.text) or self._list_heading(line.text) \
                    or label_key(line.text) in self.lex.sections or clean(line.text).endswith("."):
                break
            start = bullet.end() if bullet else 0
            found = v.find_text(line.text[start:])
            if found:
                self.reading.label_lines.add(following)
                item, at = found.value.rstrip("."), line.start + start + found.start
                self.reading.candidates.append(Candidate(key, item, at, at + len(item), "list", following))
            following += 1
        return following

    def _add(self, candidates: list[Candidate]) -> None:
        self.reading.candidates.extend(candidates)

    def _read(self, spec: FieldSpec, text: str, offset: int, written: str, line: int, label_at: int) -> None:
        """Read one labelled value; a value its kind's finder cannot read is reported and kept as written."""
        candidates = read_value(self.lex, spec, text, offset, written, line, self.language, label_at)
        self._add(candidates)
        if candidates or not text.strip() or spec.key.startswith("extra:"):
            return
        why = _why_unread(spec.kind, clean(text))
        name = label_name(written)
        self.reading.warnings.append(f"line {line + 1}: {name}: {why}; kept as written under extra")
        found = v.find_text(text)
        if found:
            self._add([Candidate(f"extra:{name}", found.value, offset + found.start, offset + found.end, written,
                                 line, 0.5)])


_NORMALISERS = {"date": n.parse_date, "amount": n.parse_amount, "percent": n.parse_percent, "int": n.parse_int,
                "email": n.parse_email, "phone": n.parse_phone, "org_number": n.parse_org_number,
                "postal_code": n.parse_postal_code, "bool": n.parse_bool, "period": n.parse_period}


def _why_unread(kind: str, value: str) -> str:
    """Why a value was not read as its kind, in the normaliser's words where it has some."""
    try:
        _NORMALISERS.get(kind, lambda _: None)(value)
    except NormaliseError as exc:
        return str(exc)
    return f"not a valid {kind.replace('_', ' ')}: {value!r}"


def _may_start_inline(text: str, at: int, written: str, *, blank_after: bool) -> bool:
    """Whether a label found at ``at`` inside a line starts a field there.

    At a sentence's start ("... verkstadsindustrin. Projektägare: ..."), after a tab or a wide gap, or
    glued to the end of the word before it ("MellansverigeDnr:"). In the middle of a sentence, only a
    label that ends its line ("... to the following contact person:", the value on the next line).
    """
    if at == 0:
        return True
    before = text[:at]
    if before[-1].isalpha():
        return before[-1].islower() and written[:1].isupper()
    if re.search(r"(?:[.;!?|]\s+|\t|\s{2,}|^\s+)$", before):
        return True
    return blank_after


def _extra(label: str) -> FieldSpec:
    return FieldSpec(f"extra:{label}", f"extra:{label}", "text")


def read_layout(lex: Lexicon, text: str, language: str) -> Reading:
    """Every labelled value, list and heading in ``text``."""
    return _Reader(lex, text, language).run()


# The run of a sentence's characters is atomic: giving some back can never end it at a full stop or at
# the text's end sooner, and backtracking made a text without a full stop cost time quadratic in its length.
_SENTENCE_RE = re.compile(r"(?>(?:[^.!?\n]+|\n(?!\s*\n))+)(?:[.!?]+(?=\s|$)|$)")


def sentences(text: str, start: int = 0) -> Iterator[tuple[int, str]]:
    """The sentences of a text with their offsets (a sentence ends at . ! ? followed by a space or a line end)."""
    for match in _SENTENCE_RE.finditer(text):
        if match.group(0).strip():
            yield start + match.start(), match.group(0)
