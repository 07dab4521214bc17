"""The extraction engine: a text → the records it states, every value with its evidence.

Stages: the language (stop words), the layout readers (labels, lists, headings; see
:mod:`kgbuild.extract.reading`), what kind of document it is (project, call, partner search), the
records in it (a new record where a label states a second, different value), the title, the facts
stated in prose, and the record with each value's evidence. Every value is read from a span of the
text by a finder of its kind; :func:`supports` checks that span again before a value is kept.
"""

from __future__ import annotations

import bisect
import codecs
import collections
import datetime as dt
import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from kgbuild.extract import values as v
from kgbuild.extract.lexicon import Lexicon, label_key, lexicon
from kgbuild.extract.reading import (
    Candidate,
    Reading,
    casefolded,
    clean,
    fund_name,
    is_chrome,
    label_name,
    read_layout,
    sentences,
)
from kgbuild.records import DocumentKind, Evidence, ProjectRecord, SourceFormat

__all__ = ["Extraction", "extract", "detect_language", "split_title_line", "supports"]

# Keys whose second, different value starts a new record (a page listing several projects).
_RECORD_KEYS = {"title", "project_number", "owner_name", "start_date", "granted_amount", "total_budget",
                "participants", "programme_area", "region_name", "nuts_code", "owner_org_number"}
# Labels only ESF+ 2021–2027 records have; labels of the older project banks.
_ESF_PLUS_FIELDS = {"fund", "child_poverty_theme", "strategic_importance", "nuts_code", "owner_org_number",
                    "country", "postal_code", "city"}
_PROJECT_BANK_FIELDS = {"project_phase", "contact_name", "contact_phone", "granted_fund", "total_budget", "period"}
_LIST_KEYS = {"co_financiers", "partners", "municipalities", "keywords"}


@dataclass(frozen=True, slots=True)
class Extraction:
    """The records read from one text, what kind of text it was, and what was noticed."""

    records: tuple[ProjectRecord, ...]
    source_format: SourceFormat
    document_kind: DocumentKind | None
    warnings: tuple[str, ...]


_LANGUAGE_SAMPLE = 4000
_WORD_RE = re.compile(r"[^\W\d_]+")


def _words(text: str) -> Iterator[str]:
    """The words of ``text`` (runs of letters, ``_WORD_RE``), in some order: a token between spaces that
    is all letters is one word, and only the other tokens go through the pattern (20% faster)."""
    tokens = text.split()
    others = " ".join(itertools.filterfalse(str.isalpha, tokens))
    return itertools.chain(filter(str.isalpha, tokens), _WORD_RE.findall(others))


# Each Latin-1 byte that _WORD_RE reads as a letter, itself; every other byte a space.
_LATIN1_LETTERS = bytes(byte if _WORD_RE.fullmatch(chr(byte)) else 0x20 for byte in range(256))


class _LetterOutsideLatin1(Exception):
    pass


def _outside_latin1(error: UnicodeError) -> tuple[str, int]:
    """Encoding a text to Latin-1, a character it does not hold is a space where it is no letter."""
    assert isinstance(error, UnicodeEncodeError)
    if _WORD_RE.search(error.object, error.start, error.end):
        raise _LetterOutsideLatin1
    return " ", error.end


codecs.register_error("kgbuild-word-separator", _outside_latin1)


def _stop_words(lex: Lexicon, folded: str) -> Iterator[tuple[tuple[str, ...], int]]:
    """Each stop word in ``folded`` (a casefolded text) as the languages it is one of, and how often.

    A text of Latin-1 letters is split into words as bytes, by one table translating every other byte
    to a space: half the time of splitting it as a string, the same words.
    """
    try:
        data = folded.encode("latin-1", "kgbuild-word-separator")
    except _LetterOutsideLatin1:
        words = collections.Counter(filter(lex.stop_languages.__contains__, _words(folded)))
        return ((lex.stop_languages[word], count) for word, count in words.items())
    table = lex.stop_languages_latin1
    encoded = collections.Counter(filter(table.__contains__, data.translate(_LATIN1_LETTERS).split()))
    return ((table[word], count) for word, count in encoded.items())


def detect_language(lex: Lexicon, text: str, folded: str | None = None) -> str:
    """The language most of the text's words belong to: its stop words, and the labels it uses (a label
    counts as three words); Swedish when nothing tells.

    >>> detect_language(lexicon(), "The project will be led by Region Gävleborg and the municipalities.")
    'en'
    """
    # The first few thousand characters tell a page's language as well as all of it.
    sample = text[:_LANGUAGE_SAMPLE]
    scores = dict.fromkeys(lex.stopwords, 0)
    folded_sample = folded[:_LANGUAGE_SAMPLE] if folded is not None else sample.casefold()
    for languages, count in _stop_words(lex, folded_sample):
        for language in languages:
            scores[language] += count
    first, second = sorted(scores.values(), reverse=True)[:2]
    if first >= 20 and first >= 2 * second:
        return max(scores, key=scores.__getitem__)  # the words alone tell
    for line in sample.split("\n"):
        match = lex.label_at_start(line) if len(line) < 300 else None
        voted = lex.label_language.get(label_key(match.group("label"))) if match else None
        if voted in scores:
            scores[voted] += 3
    best = max(scores, key=scores.__getitem__)
    return best if scores[best] else "sv"


def extract(text: str) -> Extraction:
    """Read every record ``text`` states.

    >>> result = extract("Projektnummer:\\n22-010-S04\\nNamn:\\nExempel\\n")
    >>> result.records[0].title, result.records[0].project_number
    ('Exempel', '22-010-S04')
    """
    lex = lexicon()
    folded = casefolded(text)
    language = detect_language(lex, text, folded)
    reading = read_layout(lex, text, language)
    reading.folded = folded
    kind = _document_kind(lex, text, reading)
    groups = _split_records(reading, kind)
    records: list[ProjectRecord] = []
    warnings = list(reading.warnings)
    line_starts = [line.start for line in reading.lines]
    for number, (first_line, last_line, candidates) in enumerate(groups):
        region = (reading.lines[first_line].start, reading.lines[last_line].end)
        builder = _Builder(text, language, kind, warnings, line_starts)
        builder.add_all(candidates)
        if len(groups) == 1:
            for candidate in _heading_title(lex, reading, kind):
                builder.add(candidate)
        _prose_facts(lex, reading, builder, region, kind, several=len(groups) > 1)
        _text_sections(lex, reading, builder, (first_line, last_line))
        record = builder.build(_source_format(reading, kind, language))
        if record is not None:
            records.append(record)
        elif len(groups) > 1:
            warnings.append(f"record {number + 1}: nothing stated")
    return Extraction(tuple(records), _source_format(reading, kind, language), kind, tuple(warnings))


# --- the kind of document ---------------------------------------------------------------------------


def _document_kind(lex: Lexicon, text: str, reading: Reading) -> DocumentKind:
    keys = {c.key for c in reading.candidates}
    folded = reading.fold(0, len(text))
    owner_labelled = any(c.key == "owner_name" and c.label not in ("prose", "heading") and
                         not c.label.casefold().startswith(("di", "ente", "proponente")) for c in reading.candidates)
    project_facts = bool(keys & {"project_number", "granted_amount"}) or owner_labelled and "total_budget" in keys
    if not project_facts and _says(lex.partner_search_re, lex.partner_search_words, text, folded):
        return "partner_search"
    if not (keys & {"owner_name", "project_number"}) and _says(lex.call_re, lex.call_words, text, folded):
        return "call"
    return "project"


def _says(pattern: re.Pattern[str], words: tuple[str, ...], text: str, folded: str) -> bool:
    """Whether ``pattern`` occurs in ``text``, looked for only around the words every match contains
    (a search of the whole page for every phrase cost more than the rest of the page's reading)."""
    for word in words:
        at = folded.find(word)
        while at != -1:
            start = max(0, at - 60)
            line_start = text.rfind("\n", 0, at) + 1
            if pattern.search(text, max(start, line_start) if pattern.flags & re.M else start, at + 80):
                return True
            at = folded.find(word, at + 1)
    return False


def _source_format(reading: Reading, kind: DocumentKind, language: str) -> SourceFormat:
    """The layout seen, for the record's provenance: it names, it never decides what is read."""
    seen = set(reading.fields_seen)
    if kind == "partner_search":
        return "partner_search"
    if language == "sv" and len(seen & _ESF_PLUS_FIELDS) >= 3 and "project_phase" not in seen:
        return "esf_plus_2021"
    if language == "sv" and len(seen & _PROJECT_BANK_FIELDS) >= 2:
        return "esf_2007"
    return "other"


# --- records ------------------------------------------------------------------------------------------


def _split_records(reading: Reading, kind: DocumentKind) -> list[tuple[int, int, list[Candidate]]]:
    """Cut the candidates into records: a record ends where a label it has already had comes again (on a
    page of projects or calls; a partner search's form repeats "Organisation" in its contact and as a
    heading), or a key it has comes with another value. The title line just above the label that starts a record
    belongs to it; a stretch that states no fact of a project of its own stays with the record before."""
    candidates = sorted(reading.candidates, key=lambda c: c.start)
    groups: list[tuple[int, int, list[Candidate]]] = []
    current: list[Candidate] = []
    seen: dict[str, Any] = {}
    labels: set[str] = set()
    first_line = 0
    for candidate in candidates:
        key, label = candidate.key, label_key(candidate.label)
        labelled = candidate.label not in ("list", "prose", "heading") and not key.startswith("extra:")
        # A label met again starts a record, unless it names a list ("Partner: A", "Partner: B").
        again = kind != "partner_search" and labelled and label in labels and key not in _LIST_KEYS and \
            not any(c.label == candidate.label and c.line == candidate.line for c in current)
        if again or (key in _RECORD_KEYS and key in seen and seen[key] != candidate.value and labelled):
            boundary = _record_start(reading, candidate.line, current)
            groups.append((first_line, boundary - 1, [c for c in current if c.line < boundary]))
            current = [c for c in current if c.line >= boundary]
            seen = {c.key: c.value for c in current}
            labels = {label_key(c.label) for c in current
                      if c.label not in ("list", "prose", "heading") and not c.key.startswith("extra:")}
            first_line = boundary
        current.append(candidate)
        seen.setdefault(key, candidate.value)
        if labelled:
            labels.add(label)
    groups.append((first_line, len(reading.lines) - 1, current))
    merged: list[tuple[int, int, list[Candidate]]] = []
    for group in groups:
        if merged and not any(c.key in _RECORD_KEYS for c in group[2]):
            first, _, previous = merged[-1]
            merged[-1] = (first, group[1], previous + group[2])
        elif group[2]:
            merged.append(group)
    return merged or [(0, len(reading.lines) - 1, [])]


def _record_start(reading: Reading, line: int, current: list[Candidate]) -> int:
    """The first line of the record whose first label is on ``line``: its title line, if one stands above."""
    first = min((c.line for c in current if c.line >= 0), default=line)
    boundary = line
    # The labels of a record's block come together: the new record starts at the first label line after
    # the last line the current record's previous labels took, counting back from the repeated one.
    taken = sorted({c.line for c in current if 0 <= c.line < line})
    previous = line - 1
    while previous >= first and previous in reading.label_lines and previous not in taken:
        boundary = previous
        previous -= 1
    while previous >= 0 and not reading.lines[previous].text.strip():
        previous -= 1
    if previous >= 0 and previous not in reading.label_lines and any(h.index == previous for h in reading.headings):
        boundary = previous
    return boundary


# --- the title --------------------------------------------------------------------------------------

_TITLE_LINE_RE = re.compile(r"^(?P<number>[0-9][0-9A-Za-z/\-]{3,}[0-9A-Za-z])\s+[-–—]\s+(?P<title>\S.*)$")


def split_title_line(line: str) -> tuple[str | None, str]:
    """``"22-010-S04 - Värmlands Skolsamverkan"`` → ``("22-010-S04", "Värmlands Skolsamverkan")``.

    >>> split_title_line('Förprojekt "Utvecklad Samverkan i Klarälvdalen"')
    (None, 'Förprojekt "Utvecklad Samverkan i Klarälvdalen"')
    """
    text = clean(line)
    match = _TITLE_LINE_RE.match(text)
    return (match.group("number"), match.group("title")) if match else (None, text)


def _heading_title(lex: Lexicon, reading: Reading, kind: DocumentKind) -> list[Candidate]:
    """The page's title: its first heading that is not chrome, a fund's name, a date or an amount.

    A partner search's title is only ever read from its label ("Working title:"): its headings name
    the site, the programme or the organisation.
    """
    if kind == "partner_search":
        return []
    first_prose = next((line.index for line in reading.lines if len(line.text.strip()) > 150), len(reading.lines))
    for line in reading.headings:
        if line.index > first_prose:
            break
        if line.index in reading.label_lines:
            continue
        text = line.text
        found = v.find_text(text)
        if found is None:
            continue
        value, start, end = found
        amount = v.find_amount(value)
        if _is_fund_name(lex, value) or v.find_date(value) or (amount and amount.value.currency):
            continue
        if lex.org_re.fullmatch(value) or value in lex.municipalities:
            continue  # a site's name in its header ("Region Västerbotten", "Umeå"), not a project's title
        title_line = _TITLE_LINE_RE.match(value)
        if title_line:
            at = line.start + start
            out = [Candidate("title", title_line.group("title"), at + title_line.start("title"), line.start + end,
                             "heading", line.index, 0.8)]
            number = v.find_project_number(title_line.group("number"))
            if number:
                out.append(Candidate("project_number", number.value, at + number.start, at + number.end, "heading",
                                     line.index, 0.8))
            return out
        prefix = lex.title_prefix_re.match(value)
        if prefix:
            value, start = value[prefix.end():], start + prefix.end()
        return [Candidate("title", value, line.start + start, line.start + end, "heading", line.index, 0.7)]
    return []


def _is_fund_name(lex: Lexicon, text: str) -> bool:
    stripped = re.sub(r"\s+(?:programme|program|programmet)$", "", text.strip(), flags=re.I)
    return any(pattern.fullmatch(stripped) for _, _, pattern in lex.funds)


# --- prose ------------------------------------------------------------------------------------------


def _prose_facts(lex: Lexicon, reading: Reading, builder: _Builder, region: tuple[int, int],
                 kind: DocumentKind, *, several: bool) -> None:
    """Facts a sentence states, for the keys no label gave."""
    text = reading.text
    readers = [reader for reader, kinds, done in _PROSE_READERS
               if kind in kinds and not any(all(map(builder.has, keys)) for keys in done)]
    paragraphs = _paragraphs(reading, region) if readers else []
    # Most paragraphs state none of these facts: a reader runs only where its cue words occur.
    folded = [f" {clean(reading.fold(start, start + len(paragraph)))} " for start, paragraph in paragraphs]
    for (paragraph_start, paragraph), cued in zip(paragraphs, lex.prose_readers_cued(folded), strict=True):
        wanted = [reader for reader in readers if reader.__name__ in cued] if cued else None
        if not wanted:
            continue
        for start, sentence in sentences(paragraph, paragraph_start):
            for reader in wanted:
                reader(lex, builder, sentence, start)
    if kind == "partner_search" and not builder.has("owner_name"):
        segment = text[region[0]:region[1]]
        match = lex.org_re.search(segment)
        if match:
            name = re.sub(r"^The\s+", "", match.group(0))
            offset = region[0] + match.end() - len(name)
            builder.add(Candidate("owner_name", name, offset, region[0] + match.end(), "prose",
                                  _line_of(reading, offset), 0.6))
    if kind == "partner_search" and builder.has("owner_name") and not builder.has("city"):
        owner = builder.first("owner_name")
        city = lex.org_city_re.search(text[owner.start:owner.end]) if owner else None
        if owner and city:
            builder.add(Candidate("city", city.group("city"), owner.start + city.start("city"),
                                  owner.start + city.end("city"), owner.label, owner.line, 0.7))
    if kind == "project" and "kohesio" in reading.fold(region[0], region[1] + 1):
        item = _KOHESIO_ITEM_RE.search(text, region[0], region[1] + 1)
        if item:
            builder.add(Candidate("kohesio_item", item.group(0), item.start(), item.end(), "heading",
                                  _line_of(reading, item.start()), 0.8))
    if kind in ("project", "call") and not builder.has("region_name") and builder.language == "sv":
        found = lex.esf_regions_in(text, region[0], region[1] + 1, reading.fold(region[0], region[1] + 1))
        regions = {clean(m.group(0)).casefold(): m for m in found
                   if not re.match(r"[a-zåäö0-9-]", text[m.end():m.end() + 1])}
        if len(regions) == 1:
            match = next(iter(regions.values()))
            builder.add(Candidate("region_name", match.group(0), match.start(), match.end(), "prose",
                                  _line_of(reading, match.start()), 0.6))
    builder.settle_fund_from_prose()


# Sections whose text is kept under a name of its own; a text section keeps its heading as its name.
_SECTION_EXTRA = {"idea": "summary", "organisation": "organisation_description", "partners_searched":
                  "partners_searched", "other": "other_information", "more": "more_information",
                  "contact": "contact_other"}
_ENDED_BY_LABELS = {"other_information", "more_information", "contact_other", "partners_searched"}
_SUMMARY_HEADINGS = {"sammanfattning", "summary", "projektbeskrivning", "beskrivning", "project description"}


def _text_sections(lex: Lexicon, reading: Reading, builder: _Builder, lines: tuple[int, int]) -> None:
    """The record's running text, kept under ``extra`` by the heading it stands under ("summary" first)."""
    name, blocks = "summary", {}  # type: ignore[var-annotated]
    first_label = min(reading.label_lines, default=len(reading.lines))
    # Above the fields: a title line, a site's name or address; not the project's text.
    headings = {line.index for line in reading.lines[:first_label]
                if len(line.text) <= 150 and not line.text.rstrip().endswith((".", "!", "?"))}
    label_lines, sections = reading.label_lines, lex.sections
    for line in itertools.islice(reading.lines, lines[0], lines[1] + 1):
        text = line.text
        key = label_key(text) if len(text) <= 150 else ""
        if key in sections:
            group = sections[key]
            written = label_name(text)
            heading = "summary" if key in _SUMMARY_HEADINGS else _SECTION_EXTRA.get(group, written)
            if heading not in blocks or heading == name:  # a heading met again is a sub-heading of the text
                name = heading
                continue
        if line.index in label_lines:
            if name in _ENDED_BY_LABELS and blocks.get(name):
                name = "summary"  # a contact's or a note's text ends at the next label
            continue
        if line.index in headings or is_chrome(lex, text) or (not text.strip() and name not in blocks):
            continue
        blocks.setdefault(name, []).append(text.rstrip())
    for name, text_lines in blocks.items():
        if name in builder.extra:
            continue  # already read (an unknown label of that name)
        text = "\n".join(text_lines)
        text = (_BLANK_LINES_RE.sub("\n\n", text) if "\n\n\n" in text else text).strip()
        if text:
            start = reading.text.find(text_lines[0]) if text_lines else 0
            builder.extra[name] = Candidate(f"extra:{name}", text, start, start + len(text), "text", -1, 1.0)


_BLANK_LINES_RE = re.compile(r"\n{3,}")

# A Kohesio page names its project's item in Kohesio's Wikibase ("KOHESIO · Q4038989 · SE", ".../Q7362480").
_KOHESIO_ITEM_RE = re.compile(r"(?<![\w-])Q[1-9][0-9]{3,9}(?![\w-])")


def _paragraphs(reading: Reading, region: tuple[int, int]) -> list[tuple[int, str]]:
    """The prose of a region as paragraphs: runs of lines that are not labels, values or blank, with
    their offsets (a sentence re-wrapped over several lines is one sentence)."""
    out: list[tuple[int, str]] = []
    low, high = region
    label_lines, text = reading.label_lines, reading.text
    start = end = -1  # the run of lines being gathered
    for line in reading.lines:
        if low <= line.start <= high and line.index not in label_lines and line.text.strip():
            if start < 0:
                start = line.start
            end = line.end
        elif start >= 0:
            out.append((start, text[start:end]))
            start = -1
    if start >= 0:
        out.append((start, text[start:end]))
    return out


def _line_of(reading: Reading, offset: int) -> int:
    for line in reading.lines:
        if line.start <= offset <= line.end:
            return line.index
    return len(reading.lines) - 1


# Where a list of names starts after its cue ("kommuner i Värmland: Eda, ..."), and what ends the cue's reach.
_LEAD_RE = re.compile(r"(?:[:–—-]\s*|\s)(?=[A-ZÅÄÖ])")
_STOP_RE = re.compile(r"[.;()]")


def _municipalities(lex: Lexicon, builder: _Builder, sentence: str, start: int) -> None:
    """"i nio kommuner i Värmland: Eda, Filipstad, ... och Årjäng"; "Forshaga och Munkfors kommuner"."""
    run, tail_run = lex.municipality_list_re, lex.municipality_list_at_end_re
    for cue in lex.municipality_cue_re.finditer(sentence):
        after = sentence[cue.end():cue.end() + 400]
        names = None
        for lead in _LEAD_RE.finditer(after[:80]):
            if _STOP_RE.search(after[:lead.start()]):
                break
            names = run.match(after, lead.end())
            if names:
                break
        if names is None:
            before = sentence[max(0, cue.start() - 300):cue.start()]
            tail = tail_run.search(before)
            if tail is None:
                continue
            names_start = start + max(0, cue.start() - 300) + tail.start()
            found = tail.group(0)
        else:
            names_start = start + cue.end() + names.start()
            found = names.group(0)
        cofinancing = bool(lex.cofinancing_cue_re.search(sentence[:cue.start()]))
        for item in lex.municipality_re.finditer(found):
            for key in ("municipalities", "co_financiers") if cofinancing else ("municipalities",):
                builder.add(Candidate(key, item.group(0), names_start + item.start(), names_start + item.end(),
                                      "prose", -1, 0.7))


def _owner_in_prose(lex: Lexicon, builder: _Builder, sentence: str, start: int) -> None:
    """"will be led by Region Gävleborg"; "Projektägare är Region Värmland"."""
    if builder.has("owner_name"):
        return
    for cue in lex.owner_cue_re.finditer(sentence):
        # A name of a known form, else the run of capitalised words the cue introduces when a word of it
        # names an organisation ("Samordningsförbundet Västra Mälardalen"; not "Johan Svensson").
        match = lex.org_re.match(sentence, cue.end())
        if match is None:
            run = _NAME_RUN_RE.match(sentence, cue.end())
            match = run if run and lex.org_word_re.search(run.group(0)) else None
        if match:
            builder.add(Candidate("owner_name", match.group(0), start + match.start(), start + match.end(),
                                  "prose", -1, 0.6))
            return


# "Samordningsförbundet Västra Mälardalen", "Region Gävleborg", "Arbetsförmedlingen": capitalised words.
_NAME_RUN_RE = re.compile(r"[A-ZÅÄÖ][\w’'-]+(?:[^\S\n]+(?:i[^\S\n]+|of[^\S\n]+)?[A-ZÅÄÖ][\w’'-]+){0,5}")


def _period_in_prose(lex: Lexicon, builder: _Builder, sentence: str, start: int) -> None:
    """"Projektet pågår från 1 januari 2024 till 31 december 2026"; "runs between ... and ends on ..."."""
    if builder.has("start_date") or builder.has("period_text") or not lex.period_cue_re.search(sentence):
        return
    period = v.find_period(sentence)
    if period is not None:
        first, last = period.value
        quote = clean(sentence[period.start:period.end])
        for key, value in (("start_date", first), ("end_date", last), ("period_text", quote)):
            builder.add(Candidate(key, value, start + period.start, start + period.end, "prose", -1, 0.6))
        return
    years = v.find_years(sentence)
    if years is not None:
        builder.add(Candidate("period_text", clean(sentence[years.start:years.end]), start + years.start,
                              start + years.end, "prose", -1, 0.6))


def _amounts_in_prose(lex: Lexicon, builder: _Builder, sentence: str, start: int) -> None:
    """"beviljas 3,2 miljoner kronor"; "Den totala budgeten är 12 miljoner kronor varav 5,5 miljoner kronor
    är stöd från ESF+". An amount the sentence gives as approximate ("ca", "cirka", "about") is not read:
    a sum of them would not be the sum of what was granted. Nor is an amount a sentence gives for several
    projects ("beviljar 500 miljoner kronor till 45 projekt")."""
    if _SEVERAL_PROJECTS_RE.search(sentence):
        return
    offset = 0
    while (found := v.find_amount(sentence[offset:])) is not None:
        at, end = offset + found.start, offset + found.end
        offset = end
        amount: v.Amount = found.value
        before = sentence[max(0, at - 60):at]
        if amount.currency is None or lex.approximate_re.search(before[-12:]):
            continue
        grant, total = lex.grant_cue_re.search(before), lex.total_cue_re.search(before)
        after = sentence[end:end + 40]
        if grant is None and total is None and lex.grant_cue_re.match(after.lstrip(" ,")):
            grant = lex.grant_cue_re.match(after.lstrip(" ,"))  # "5,5 miljoner kronor är stöd från ESF+"
        if grant is None and total is None:
            continue
        # The nearer cue decides: "budgeten är 12 miljoner kronor varav 5,5 miljoner" is a total, then a grant.
        key = "granted_amount" if total is None or (grant is not None and grant.start() > total.start()) else \
            "total_budget"
        if "varav" in before[-20:].casefold() or "of which" in before[-20:].casefold():
            key = "granted_amount"
        if not builder.has(key):
            builder.add(Candidate(key, amount, start + at, start + end, "prose", -1, 0.6))


_SEVERAL_PROJECTS_RE = re.compile(r"\b\d+\s+(?:nya\s+|new\s+)?(?:projekt|projects)\b|\bprojekten\b|\bprojects\b|"
                                  r"\butlysning", re.I)
_QUOTED_TITLE_RE = re.compile(r"\b(?:[Pp]rojektet|[Tt]he\s+project|[Pp]roject)\s+[“\"”«]([^“\"”»\n]{2,100})[”\"»]")


def _quoted_title(lex: Lexicon, builder: _Builder, sentence: str, start: int) -> None:
    """'Projektet "Framtidsspåret" beviljas ...': a project named in quotes, where no label names it."""
    if builder.has("title"):
        return
    match = _QUOTED_TITLE_RE.search(sentence)
    if match:
        builder.add(Candidate("title", match.group(1).strip(), start + match.start(1), start + match.end(1), "prose",
                              -1, 0.65))


def _coordinator(lex: Lexicon, builder: _Builder, sentence: str, start: int) -> None:
    """"The EU office Skåne Nordost will be the project coordinator"."""
    if builder.has("owner_name"):
        return
    cue = lex.coordinator_cue_re.search(sentence)
    if not cue:
        return
    subject = re.search(r"(?:^|\s)(?:The\s+)?(?P<name>[A-ZÅÄÖ][\w-]*(?:\s+[\w-]+){0,5})$", sentence[:cue.start()])
    if subject and sum(w[:1].isupper() for w in subject.group("name").split()) >= 2:
        builder.add(Candidate("owner_name", subject.group("name"), start + subject.start("name"),
                              start + subject.end("name"), "prose", -1, 0.5))


def _strand(lex: Lexicon, builder: _Builder, sentence: str, start: int) -> None:
    """'under the strand "Network of Towns"'; 'Call Strand 2: “Democratic engagement ...”'."""
    if builder.has("programme_area"):
        return
    match = lex.strand_re.search(sentence)
    if match:
        builder.add(Candidate("programme_area", match.group("value").strip(), start + match.start("value"),
                              start + match.end("value"), "prose", -1, 0.6))


def _deadline_in_prose(lex: Lexicon, builder: _Builder, sentence: str, start: int) -> None:
    """"The deadline for the partner search is 31st December 2014"; "(deadline September 1st of 2017)"."""
    for cue in lex.deadline_cue_re.finditer(sentence):
        window = sentence[cue.end():cue.end() + 80]
        date = v.find_date(window)
        if date is None:
            continue
        between = window[:date.start]
        partner = bool(lex.partner_deadline_re.search(between)) or bool(
            lex.partner_deadline_re.search(sentence[max(0, cue.start() - 30):cue.start()]))
        builder.add(Candidate("deadline_partner" if partner else "deadline_application", date.value,
                              start + cue.end() + date.start, start + cue.end() + date.end, "prose", -1, 0.6))


def _rate_in_prose(lex: Lexicon, builder: _Builder, sentence: str, start: int) -> None:
    if builder.has("eu_cofinancing_rate"):
        return
    for cue in lex.rate_cue_re.finditer(sentence):
        percent = v.find_percent(sentence[cue.end():cue.end() + 12])
        if percent and percent.start <= 2:
            builder.add(Candidate("eu_cofinancing_rate", percent.value, start + cue.end() + percent.start,
                                  start + cue.end() + percent.end, "prose", -1, 0.6))
            return


def _fund_in_prose(lex: Lexicon, builder: _Builder, sentence: str, start: int) -> None:
    """The fund named right after "stöd ur", "support from", "funded by": a candidate; only one fund may be.

    A sentence that names several funds ("co-financed by the ERDF, the ESF+ and the JTF") says nothing
    about which one supports this project.
    """
    if not lex.fund_cue_anywhere_re.search(sentence):
        return
    named = [(short, pattern) for _, short, pattern in lex.funds if pattern.search(sentence)]
    if len(named) > 1:
        return
    for short, pattern in named:  # the funds not named have nothing to find
        for match in pattern.finditer(sentence):
            if lex.fund_cue_re.search(sentence[max(0, match.start() - 40):match.start()]):
                name, at, end = fund_name(sentence, match, short, pattern, builder.language)
                builder.prose_funds.append(Candidate("fund", name, start + at, start + end, "prose", -1, 0.6))


# Each prose reader, the kinds of document it reads, and the keys that, all known, leave it nothing to
# read (any one set of them): a reader a record's labels have answered is not run on its sentences.
_ProseReader = Callable[[Lexicon, "_Builder", str, int], None]
_PROSE_READERS: tuple[tuple[_ProseReader, set[str], tuple[tuple[str, ...], ...]], ...] = (
    (_municipalities, {"project"}, ()),
    (_owner_in_prose, {"project"}, (("owner_name",),)),
    (_period_in_prose, {"project"}, (("start_date",), ("period_text",))),
    (_amounts_in_prose, {"project"}, (("granted_amount", "total_budget"),)),
    (_quoted_title, {"project"}, (("title",),)),
    (_coordinator, {"partner_search"}, (("owner_name",),)),
    (_strand, {"partner_search"}, (("programme_area",),)),
    (_deadline_in_prose, {"partner_search", "call"}, ()),
    (_rate_in_prose, {"project", "call", "partner_search"}, (("eu_cofinancing_rate",),)),
    (_fund_in_prose, {"project", "call", "partner_search"}, (("fund",),)),  # a labelled fund is kept over them
)


# --- the record ---------------------------------------------------------------------------------------


class _Builder:
    """Collects one record's candidates; the first value of a key is kept, a different later one reported."""

    def __init__(self, text: str, language: str, kind: DocumentKind, warnings: list[str],
                 line_starts: list[int]) -> None:
        self.text = text
        self.line_starts = line_starts  # where each line of ``text`` starts: a value's line is a bisection
        self.language = language
        self.kind = kind
        self.warnings = warnings
        self.values: dict[str, Candidate] = {}
        self.lists: dict[str, list[Candidate]] = {}
        self.list_items: dict[str, set[str]] = {}
        self.extra: dict[str, Candidate] = {}
        self.prose_funds: list[Candidate] = []

    def has(self, key: str) -> bool:
        return key in self.values or key in self.lists

    def first(self, key: str) -> Candidate | None:
        return self.values.get(key)

    def add_all(self, candidates: list[Candidate]) -> None:
        for candidate in candidates:
            self.add(candidate)

    def add(self, candidate: Candidate) -> None:
        if not supports(self.text[candidate.start:candidate.end], candidate.value, candidate.key):
            self.warnings.append(f"{candidate.key}: {candidate.value!r} is not what "
                                 f"{self.text[candidate.start:candidate.end]!r} says; not kept")
            return
        key = candidate.key
        if key.startswith("extra:"):
            self.extra.setdefault(key[6:], candidate)
        elif key in _LIST_KEYS:
            # An item is kept once however often it is written: a set of the items as written, not a
            # comparison with every item before (quadratic: 125 clean() calls a page on the benchmark corpus).
            written = clean(str(candidate.value)).casefold()
            seen = self.list_items.setdefault(key, set())
            if written not in seen:
                seen.add(written)
                self.lists.setdefault(key, []).append(candidate)
        elif key in self.values and candidate.confidence > 0.5 >= self.values[key].confidence:
            self.values[key] = candidate  # a value a label states beats one a label implies
        elif key in self.values:
            kept = self.values[key]
            if kept.value != candidate.value and min(candidate.confidence, kept.confidence) >= 0.9:
                self.warnings.append(f"{_where(self.text, candidate.start)}: {key} stated twice with different "
                                     f"values ({kept.value!r}, {candidate.value!r}); the first is kept")
        else:
            self.values[key] = candidate

    def settle_fund_from_prose(self) -> None:
        if "fund" in self.values or not self.prose_funds:
            return
        if len({c.value for c in self.prose_funds}) == 1:
            self.values["fund"] = self.prose_funds[0]

    def build(self, source_format: SourceFormat) -> ProjectRecord | None:
        values = dict(self.values)
        self._resolve_amounts(values)
        self._resolve_deadline(values)
        if self.kind == "call":
            for key, name in (("start_date", "call_opens"), ("granted_amount_sek", "call_amount")):
                if key in values:
                    self.extra.setdefault(name, values.pop(key))
            if "end_date" in values:
                values.setdefault("deadline", values.pop("end_date"))
        if self.kind != "project":
            self.lists.pop("municipalities", None) if self.kind == "partner_search" else None
        fields: dict[str, Any] = {}
        evidence: list[Evidence] = []
        for key, candidate in values.items():
            if key not in _RECORD_FIELDS:
                continue
            fields[key] = candidate.value
            evidence.append(self._evidence(key, candidate))
        for key, items in self.lists.items():
            fields[key] = tuple(c.value for c in items)
            evidence += [self._evidence(key, c) for c in items]
        if not fields:
            return None
        extra = tuple((k, str(c.value)) for k, c in self.extra.items())
        return ProjectRecord(source_format=source_format, language=self.language, document_kind=self.kind,
                             extra=extra, evidence=tuple(sorted(evidence, key=lambda e: (e.start, e.key))),
                             **fields)

    def _evidence(self, key: str, candidate: Candidate) -> Evidence:
        line = bisect.bisect_right(self.line_starts, candidate.start)
        column = candidate.start - self.line_starts[line - 1] + 1
        return Evidence(key, candidate.start, candidate.end, self.text[candidate.start:candidate.end], line, column,
                        label_name(candidate.label), candidate.confidence)

    def _resolve_amounts(self, values: dict[str, Candidate]) -> None:
        """An amount's key follows its currency: SEK, or none named on a Swedish page, or EUR."""
        for base, sek, eur in (("granted_amount", "granted_amount_sek", "eu_contribution_eur"),
                               ("total_budget", "total_budget_sek", "total_budget_eur")):
            candidate = values.pop(base, None)
            if candidate is None:
                continue
            amount: v.Amount = candidate.value
            if amount.currency == "EUR":
                key = eur
            elif amount.currency == "SEK" or (amount.currency is None and self.language == "sv"):
                key = sek
            else:
                self.warnings.append(f"{_where(self.text, candidate.start)}: {candidate.label}: an amount with no "
                                     "currency on a page that is not Swedish; not read")
                continue
            values[key] = _with(candidate, key, amount.value)

    def _resolve_deadline(self, values: dict[str, Candidate]) -> None:
        """The application deadline when the text states one, else the deadline for partners' replies."""
        application = values.pop("deadline_application", None)
        partner = values.pop("deadline_partner", None)
        chosen = application or partner
        if chosen is not None:
            values["deadline"] = _with(chosen, "deadline", chosen.value)


def _with(candidate: Candidate, key: str, value: Any) -> Candidate:
    return Candidate(key, value, candidate.start, candidate.end, candidate.label, candidate.line,
                     candidate.confidence)




def _where(text: str, offset: int) -> str:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"line {line}, column {column}"


_RECORD_FIELDS = {f for f in ProjectRecord.__dataclass_fields__ if f not in ("source_format", "extra", "evidence")}


def supports(span: str, value: Any, key: str = "") -> bool:
    """Whether the text of ``span`` states ``value``: the check every value passes before it is kept.

    A fund is stated by any of its names; a telephone number in its national form.

    >>> supports("1 feb 2024", dt.date(2024, 2, 1)), supports("Sandvikens kommun", "Sandvikens kommun")
    (True, True)
    >>> supports("4 892 717 kronor", Decimal("4892718"))
    False
    """
    if key == "fund":
        return any(value in short.values() and pattern.search(span) for _, short, pattern in lexicon().funds) \
            or _loose(value) in _loose(span)
    if key == "contact_phone" and isinstance(value, str):
        digits = _NOT_DIGIT_RE.sub("", span)
        return value[1:] in digits or (value.startswith("+46") and "0" + value[3:] in digits)
    if isinstance(value, v.Amount):
        found = v.find_amount(span)
        return found is not None and found.value == value
    if isinstance(value, bool):
        return v.find_bool(span) is not None and v.find_bool(span).value == value  # type: ignore[union-attr]
    if isinstance(value, dt.date):
        return any(f.value == value for f in v.find_dates(span))
    if isinstance(value, Decimal):
        digits = _NOT_DIGIT_RE.sub("", span)
        amount = v.find_amount(span)
        percent = v.find_percent(span)
        return (amount is not None and amount.value.value == value) or \
            (percent is not None and percent.value == value) or (bool(digits) and str(value.normalize()) in digits)
    if isinstance(value, int):
        return str(value) in _SPACE_RE.sub("", span)
    if isinstance(value, str):
        if value in span:
            return True  # the loose comparison below keeps whatever the span holds as written
        wanted = _loose(value)
        loose = _loose(span)
        return wanted in loose or wanted in _NOT_PLAIN_RE.sub("", loose)
    return False


# Compiled once: supports() checks every value kept (re's own cache of patterns costs a look-up a call).
_NOT_DIGIT_RE = re.compile(r"[^0-9]")
_SPACE_RE = re.compile(r"\s")
_NOT_PLAIN_RE = re.compile(r"[^0-9a-z+]")
_LOOSE_RE = re.compile(r"[\s\-–—./]+")


def _loose(text: str) -> str:
    return _LOOSE_RE.sub("", text.casefold())
