"""The lexicon: labels, headings and phrases from ``data/lexicon/``, compiled once into matchers.

Everything language- or layout-specific the engine reads by lives in those TOML files; this module
only turns them into regular expressions and lookup tables.
"""

from __future__ import annotations

import bisect
import csv
import dataclasses
import functools
import itertools
import re
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import ahocorasick

from kgbuild.resources import data_path

__all__ = ["FieldSpec", "Lexicon", "lexicon", "label_key"]


@functools.lru_cache(maxsize=65536)
def label_key(label: str) -> str:
    """The comparison key of a label: case, spacing, dash style and a trailing colon ignored.

    >>> label_key("  NUTS–2 kod: ")
    'nuts-2 kod'
    """
    key = " ".join(label.split()).rstrip(":").rstrip().casefold()
    if "–" in key or "—" in key:
        key = re.sub(r"\s*[–—]\s*", "-", key) if re.search(r"\w[–—]\w", key) else re.sub(r"[–—]", "-", key)
    return key


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """What a label announces: the record key, the kind of value, and how the label may be written."""

    name: str
    key: str
    kind: str
    also: tuple[str, ...] = ()
    colon: bool = False  # a label only before a colon
    section: str | None = None  # a label only inside this section
    names_fund: bool = False  # the label itself names the fund ("Beviljat ESF-stöd")


# Letters re.IGNORECASE matches as casefold() does (checked over all of Unicode), but for an i: it also
# takes a dotless ı and a dotted İ for one.
_PLAIN_WORD_RE = re.compile(r"[a-zåäöéü]+")
_ODD_CASE = "ıİ"


def _label_regex(label: str) -> str:
    """A label as a regex: any run of spaces for a space, any dash for a dash."""
    out = []
    for char in label:
        if char.isspace():
            out.append(r"\s+")
        elif char in "-–—":
            out.append(r"\s*[-–—]\s*")
        else:
            out.append(re.escape(char))
    return "".join(out)


def _any_of(alternatives: list[str], before: str = "", after: str = "") -> str:
    """A pattern of any of ``alternatives``, between ``before`` and ``after``, led by the lookahead of
    :func:`starts_with_lookahead`."""
    return f"{starts_with_lookahead(alternatives)}{before}(?:{'|'.join(alternatives)}){after}"


def starts_with_lookahead(alternatives: list[str]) -> str:
    """A lookahead for the letters the alternatives start with (``"(?=[fsu])"``), or ``""`` where one may
    start otherwise. A pattern of many alternatives is tried at every character; the lookahead rules out
    most characters at once (3.5x faster on sentences). It matches nothing the alternatives would not.
    """
    letters = set()
    for alternative in alternatives:
        alternative = alternative.removeprefix("\\b")
        first, after = alternative[:1], alternative[1:2]
        if first not in _PLAIN_LETTERS or after in ("?", "*", "{") or _top_level_bar(alternative):
            return ""
        letters.add(first)
    return f"(?=[{''.join(sorted(letters))}])" if letters else ""


def _top_level_bar(pattern: str) -> bool:
    """Whether ``pattern`` has a "|" outside its groups and classes (``"a|b"``: two alternatives)."""
    depth, escaped, in_class = 0, False, False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            return True
    return False


# Letters a class [x] matches, under re.IGNORECASE too, exactly as the letter x itself does (checked over
# all of Unicode).
_PLAIN_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzåäöéüABCDEFGHIJKLMNOPQRSTUVWXYZÅÄÖÉÜ")


def _stands_anywhere(phrase: str) -> bool:
    """A chrome phrase of the form ``.*X.*``: a line holding X anywhere (X with no "|": ".*a|b.*" is not one)."""
    return len(phrase) > 4 and phrase.startswith(".*") and phrase.endswith(".*") and not phrase.endswith("\\.*") \
        and "|" not in phrase


def _line_label_re(labels: list[str]) -> re.Pattern[str]:
    """A line starting with one of ``labels`` (tried in their order): groups ``label`` and ``rest``."""
    alternatives = "|".join(_label_regex(label) for label in labels)
    return re.compile(rf"^[ \t\u00a0]*(?P<label>{alternatives})(?P<rest>.*)$", re.I)


class Lexicon:
    """The compiled lexicon."""

    def __init__(self, labels: dict[str, Any], phrases: dict[str, Any], municipalities: list[str],
                 esf_regions: list[str]) -> None:
        self.fields: dict[str, FieldSpec] = {}
        self.by_label: dict[str, list[FieldSpec]] = {}
        # Each field without the others its value also states: how a value is read for an "also" field.
        self.fields_alone: dict[str, FieldSpec] = {}
        self.label_language: dict[str, str] = {}
        written: list[str] = []
        patterns: list[tuple[str, FieldSpec]] = []
        for name, spec in labels["fields"].items():
            field = FieldSpec(name, spec.get("key", name), spec["kind"], tuple(spec.get("also", ())),
                              spec.get("colon", False), spec.get("section"), spec.get("names_fund", False))
            self.fields[name] = field
            self.fields_alone[name] = dataclasses.replace(field, also=())
            for language, values in spec.items():
                if len(language) != 2 or not isinstance(values, list):
                    continue
                for label in values:
                    self.by_label.setdefault(label_key(label), []).append(field)
                    self.label_language.setdefault(label_key(label), language)
                    written.append(label)
            patterns += [(pattern, field) for pattern in spec.get("patterns", ())]
        # Longest first, so "Projektägare organisationsnummer" wins over "Projektägare".
        ordered = sorted(set(written), key=len, reverse=True)
        alternatives = "|".join(_label_regex(label) for label in ordered)
        self.label_alternatives = alternatives
        self.pattern_fields = [(re.compile(p, re.I), f) for p, f in patterns]
        # Any of them in one pattern: tried at every word before a colon, where one call a pattern cost 5%
        # of a page's reading. Joined only when none has a group (a back-reference's number would move).
        joinable = patterns and all(pattern.groups == 0 for pattern, _ in self.pattern_fields)
        self.any_label_pattern = re.compile("|".join(f"(?:{p})" for p, _ in patterns), re.I) if joinable else None
        # A label at the start of a line: "Label:", "Label" alone, "LabelValue", "LABEL value". Most lines
        # start with no label, and a line's first two letters leave only the few labels that start with
        # them (every label starts with two letters, or "E-"): one small pattern per pair, not all labels.
        by_start: dict[str, list[str]] = {}
        for label in ordered:
            by_start.setdefault(label_key(label)[:2], []).append(label)
        self._line_label_res = {start: _line_label_re(labels) for start, labels in by_start.items()}
        # Where a label before a colon may start: a word's start, or a capital glued to the word before.
        self._word_start_re = re.compile(r"(?<![\w’'-])[^\W\d_]|(?<=[a-zåäö])[A-ZÅÄÖ]")
        self._colon_re = re.compile(r"[ \t\u00a0]*:(?!//)")
        contact_labels = [label for name in ("contact_email", "contact_phone") for lang, labels_ in
                          labels["fields"][name].items() if len(lang) == 2 for label in labels_]
        contact_alternatives = "|".join(_label_regex(x) for x in sorted(set(contact_labels), key=len, reverse=True))
        self.spaced_contact_re = re.compile(
            rf"{starts_with_lookahead(contact_labels)}(?<=\s)(?P<label>{contact_alternatives})[ \t\u00a0]+(?=\S)", re.I)
        self.lists = {label_key(h): key for key, headings in labels["lists"].items() for h in headings}
        self.sections = {label_key(h): name for name, headings in labels["sections"].items() for h in headings}

        self.chrome_re = re.compile(rf"^(?:{'|'.join(phrases['chrome'])})$", re.I)
        # The same test on a line of one line's text (no "\n"), 4x faster: a phrase that may stand
        # anywhere (".*\bcookies?\b.*") is looked for once by search(); as one of the whole line's
        # alternatives the pattern backtracked over the line for each such phrase.
        anywhere = [p[2:-2] for p in phrases["chrome"] if _stands_anywhere(p)]
        whole = [p for p in phrases["chrome"] if not _stands_anywhere(p)]
        self.chrome_line_re = re.compile(rf"^(?:{'|'.join(whole)})$", re.I)
        self.chrome_anywhere_re = re.compile(_any_of(anywhere), re.I) if anywhere else None
        # Names stay on one line: a page's next line is another thing.
        space = r"[^\S\n]+"
        word, joiners = phrases["name_word"], "|".join(phrases["name_joiners"])
        name = rf"{word}(?:{space}(?:(?:{joiners}){space})?{word})*"
        self.org_re = re.compile("|".join(f"(?:{form.replace(chr(92) + 's+', space).replace('NAME', name)})"
                                          for form in phrases["org_forms"]))
        self.org_city_re = re.compile(
            rf"(?:Municipality|City|Town|Comune|Città|Ayuntamiento|Câmara\s+Municipal|Município|Commune|Concello"
            rf"|Gemeinde|Stadt|Kommune)"
            rf"{space}(?:(?:of|di|de|da|do|del){space})?(?P<city>{name})")
        self.funds = [
            (fund["id"], fund["short"], re.compile(rf"(?<![\w+])(?:{'|'.join(fund['names'])})(?![\w+])",
                                                     re.I if fund["id"] not in ("esf", "cerv") else 0))
            for fund in phrases["funds"]
        ]
        self.fund_concepts = [
            (fund["id"], fund["short"], fund["labels"],
             re.compile(rf"(?:{'|'.join(fund['names'])})(?:\s*\((?:{'|'.join(fund['names'])})\))?", re.I))
            for fund in phrases["funds"]
        ]
        self.fund_cue_re = re.compile(_any_of(phrases["fund_cues"], "", r"\s+(?:the\s+|den\s+)?$"), re.I)
        self.fund_cue_anywhere_re = re.compile(_any_of(phrases["fund_cues"], "", r"\s"), re.I)
        self.owner_cue_re = re.compile(rf"(?:{'|'.join(phrases['owner_cues'])})\s+", re.I)
        self.coordinator_cue_re = re.compile(rf"\s+(?:{'|'.join(phrases['coordinator_cues'])})\b", re.I)
        self.municipality_cue_re = re.compile(_any_of(phrases["municipality_cues"], r"\b", r"\b"), re.I)
        self.cofinancing_cue_re = re.compile(rf"(?:{'|'.join(phrases['cofinancing_cues'])})\s*$", re.I)
        self.org_word_re = re.compile(_any_of(phrases["org_words"]), re.I)
        self.period_cue_re = re.compile(_any_of(phrases["period_cues"]), re.I)
        self.grant_cue_re = re.compile(_any_of(phrases["grant_cues"]), re.I)
        self.total_cue_re = re.compile(_any_of(phrases["total_cues"]), re.I)
        self.approximate_re = re.compile(rf"(?:{'|'.join(phrases['approximate'])})\s*$", re.I)
        self.rate_cue_re = re.compile(_any_of(phrases["rate_cues"], r"", r"\s+(?:of\s+|på\s+|är\s+)?"), re.I)
        self.deadline_cue_re = re.compile(_any_of(phrases["deadline_cues"], r"\b", r"\b"), re.I)
        self.partner_deadline_re = re.compile(_any_of(phrases["partner_deadline"]), re.I)
        self.role_re = re.compile(rf"^(?:{'|'.join(phrases['roles'])})\b\s*", re.I)
        self.trailing_role_re = re.compile(rf",\s*(?:{'|'.join(phrases['roles'])})\b.*$", re.I)
        self.partner_search_re = re.compile(rf"(?:{'|'.join(phrases['partner_search'])})", re.I | re.M)
        self.call_re = re.compile(rf"(?:{'|'.join(phrases['call'])})", re.I | re.M)
        self.title_prefix_re = re.compile(rf"^(?:{'|'.join(phrases['title_prefixes'])})\s+(?=\S)", re.I)
        self.strand_re = re.compile(
            rf"\b(?:{'|'.join(phrases['strand_cues'])})\s*:?\s*[\"“”«](?P<value>[^\"“”»\n]{{3,120}})[\"“”»]", re.I)
        # Words every partner-search or call phrase above contains: a cheap test before the regex.
        self.partner_search_words = tuple(phrases["partner_search_words"])
        self.call_words = tuple(phrases["call_words"])
        # The words that must occur in a paragraph for each prose reader to run (see the engine).
        self.prose_cues = {name: tuple(cues) for name, cues in phrases["prose_cues"].items()}
        self._prose_cue_automaton = _automaton(
            (cue, name) for name, cues in self.prose_cues.items() for cue in cues)
        self.stopwords: dict[str, frozenset[str]] = {
            lang: frozenset(words) for lang, words in phrases["stopwords"].items()}
        self.stop_languages: dict[str, tuple[str, ...]] = {}
        for lang, words in self.stopwords.items():
            for word in words:
                self.stop_languages[word] = (*self.stop_languages.get(word, ()), lang)
        # The same, for words read from a text encoded in Latin-1 (a word it cannot encode occurs only
        # in a text that is not read so).
        self.stop_languages_latin1 = {word.encode("latin-1"): languages
                                      for word, languages in self.stop_languages.items()
                                      if all(ord(char) < 256 for char in word)}

        self.municipalities = frozenset(municipalities)
        names = "|".join(re.escape(m) for m in sorted(municipalities, key=len, reverse=True))
        self.municipality_re = re.compile(rf"{starts_with_lookahead(municipalities)}(?<![\w-])(?:{names})(?![\w-])")
        # Two or more names in a list ("Eda, Filipstad och Årjäng"), from where it starts or up to the end.
        one, separator = self.municipality_re.pattern, r"(?:\s*,\s*|\s+(?:och|and|und|et|e|y|samt)\s+|\s*&\s*)"
        self.municipality_list_re = re.compile(rf"(?:{one})(?:{separator}(?:{one}))+")
        self.municipality_list_at_end_re = re.compile(rf"(?:{one})(?:{separator}(?:{one}))+\s*$")
        # A region glued to the next word is still read ("MellansverigeDnr: 23-059"): the engine checks
        # that no small letter follows.
        self.esf_region_re = re.compile(
            "(?<![\\w-])(?:" + "|".join(_label_regex(r) for r in esf_regions if " " in r) + ")", re.I)
        # The words these names start with ("övre", "hela"): the pattern is tried only where one starts
        # (none when a name starts otherwise than with plain letters: then everywhere).
        starts = {r.casefold().split()[0] for r in esf_regions if " " in r}
        self._esf_region_starts = sorted(starts) if all(_PLAIN_WORD_RE.fullmatch(w) for w in starts) else None

    def is_chrome_line(self, line: str) -> bool:
        """Whether ``line`` (one line, no "\\n") is page chrome: ``chrome_re`` matches it."""
        return bool(self.chrome_line_re.match(line) or
                    (self.chrome_anywhere_re is not None and self.chrome_anywhere_re.search(line)))

    def label_at_start(self, line: str) -> re.Match[str] | None:
        """The known label a line starts with (groups ``label`` and ``rest``), if any."""
        pattern = self._line_label_res.get(line.lstrip(" \t\u00a0")[:2].casefold())
        return pattern.match(line) if pattern is not None else None

    def labels_before_colons(self, text: str, start: int) -> Iterator[tuple[int, str, int]]:
        """Known labels that end right before a colon in ``text`` after ``start``: (label start, label as
        written, value start). The longest label wins: "Projektägare organisationsnummer" over
        "organisationsnummer". One dictionary look-up per word before each colon, not a regex of every
        label at every character."""
        if text.find(":", start) == -1:
            return  # most lines have no colon; the pattern would look at every character to know
        for colon in self._colon_re.finditer(text, start):
            end = colon.start()
            if end == start and end == 0:
                continue
            window = max(start, end - 160)
            for word in self._word_start_re.finditer(text, window, end):
                written = text[word.start():end]
                if label_key(written) in self.by_label or (
                        self.any_label_pattern.fullmatch(written) if self.any_label_pattern is not None else
                        any(pattern.fullmatch(written) for pattern, _ in self.pattern_fields)):
                    yield word.start(), written, colon.end()
                    break

    def prose_readers_cued(self, paragraphs: list[str]) -> list[set[str]]:
        """For each paragraph (casefolded), the prose readers (names in ``prose_cues``) one of whose cue
        words occurs in it.

        One pass of an Aho-Corasick automaton over all the paragraphs, joined by a NUL that no cue holds,
        finds every cue, overlapping ones too: testing each of some sixty cues with ``in`` cost more than
        the readers it spared, and a pass per paragraph cost more than the pass.
        """
        ends = list(itertools.accumulate(len(paragraph) + 1 for paragraph in paragraphs))
        cued: list[set[str]] = [set() for _ in paragraphs]
        for last, names in self._prose_cue_automaton.iter("\0".join(paragraphs)):
            cued[bisect.bisect_right(ends, last)].update(names)
        return cued

    def esf_regions_in(self, text: str, start: int, end: int, folded: str | None = None
                       ) -> Iterator[re.Match[str]]:
        """What ``esf_region_re.finditer(text, start, end)`` finds, some ten times faster.

        A case-insensitive pattern of many names is tried at every character; the words the names start
        with are found by ``str.find`` in the casefolded text, and the pattern is tried only there. Where
        casefolding would move characters (a text with "ß") or a letter is matched by the pattern but
        folded otherwise (dotless ı, dotted İ), every character is tried as before.
        """
        segment = text[start:end]
        folded = segment.casefold() if folded is None else folded  # ``folded``: the segment casefolded already
        if self._esf_region_starts is None or len(folded) != len(segment) or any(c in segment for c in _ODD_CASE):
            yield from self.esf_region_re.finditer(text, start, end)
            return
        at: set[int] = set()
        for word in self._esf_region_starts:
            found = folded.find(word)
            while found != -1:
                at.add(found)
                found = folded.find(word, found + 1)
        resume = start
        for offset in sorted(at):
            if start + offset < resume:
                continue
            match = self.esf_region_re.match(text, start + offset, end)
            if match:
                resume = match.end()
                yield match

    def fields_for(self, label: str) -> list[FieldSpec]:
        return self.by_label.get(label_key(label), [])


def _automaton(words: Iterable[tuple[str, str]]) -> Any:
    """An Aho-Corasick automaton of words, each giving the names it was listed under."""
    names: dict[str, list[str]] = {}
    for word, name in words:
        names.setdefault(word, []).append(name)
    automaton = ahocorasick.Automaton()
    for word, under in names.items():
        automaton.add_word(word, tuple(under))
    automaton.make_automaton()
    return automaton


def _reference_names(file: str, column: str, alt: str) -> list[str]:
    with data_path("reference", file).open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    names = [row[column] for row in rows]
    names += [a for row in rows for a in (row.get(alt) or "").split("|") if a]
    return names


@functools.cache
def lexicon() -> Lexicon:
    """The lexicon of this installation, read once."""
    with data_path("lexicon", "labels.toml").open("rb") as handle:
        labels = tomllib.load(handle)
    with data_path("lexicon", "phrases.toml").open("rb") as handle:
        phrases = tomllib.load(handle)
    return Lexicon(labels, phrases, _reference_names("municipalities.csv", "name", "alt_names"),
                   _reference_names("esf_regions.csv", "name", "alt_names"))
