"""The extraction engine, from the outside: hand-checked cases, evidence, and records that do not change
when a page's layout does.

Each folder in tests/cases/ holds a text of one kind (written for these tests after the real pages of
that kind) and the record a reader would take from it, written by hand, not produced by the engine.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kgbuild.errors import SourceError
from kgbuild.extract import supports
from kgbuild.parsers import parse_file, parse_text
from kgbuild.records import ProjectRecord
from tests.conftest import SOURCES

CASES = sorted(p for p in (Path(__file__).parent / "cases").iterdir() if p.is_dir())
# Keys a case may leave out: what is read besides the facts the case is about.
UNCHECKED = {"source_format", "extra", "period_text", "programme"}


def _json(record: ProjectRecord) -> dict[str, Any]:
    return json.loads(json.dumps(record.to_json(), ensure_ascii=False))


def _same(got: Any, want: Any) -> bool:
    if isinstance(want, list):
        return sorted(map(str, got or [])) == sorted(map(str, want))
    if isinstance(want, float) or isinstance(got, float):
        return got is not None and abs(float(got) - float(want)) < 1e-9
    return got == want


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_case_reads_as_a_person_would(case: Path) -> None:
    expected = json.loads((case / "expected.json").read_text(encoding="utf-8"))
    expected.pop("_comment", None)  # why a value is not there, for the reader of the case
    records = [_json(r) for r in parse_file(case / "text.txt").records]
    wanted = expected.get("projects", [expected])
    assert len(records) == len(wanted)
    for got, want in zip(records, wanted, strict=True):
        wrong = {k: (got.get(k), v) for k, v in want.items() if not _same(got.get(k), v)}
        invented = {k: v for k, v in got.items() if k not in want and k not in UNCHECKED}
        assert not wrong and not invented, f"wrong (got, want)={wrong}\ninvented={invented}"


def _all_records() -> list[tuple[str, ProjectRecord]]:
    texts = [*(c / "text.txt" for c in CASES), *sorted(SOURCES.glob("*.txt"))]
    out = []
    for path in texts:
        text = path.read_text(encoding="utf-8")
        out += [(text, r) for r in parse_text(text, path.name).records]
    return out


def test_every_value_has_evidence_that_states_it() -> None:
    for text, record in _all_records():
        stated = {k for k, v in record.to_json().items() if k not in ("source_format", "language", "extra",
                                                                       "document_kind")}
        keys = {e.key for e in record.evidence}
        assert stated <= keys, f"{record.title}: no evidence for {stated - keys}"
        for evidence in record.evidence:
            value = getattr(record, evidence.key)
            values = value if isinstance(value, tuple) else (value,)
            span = text[evidence.start:evidence.end]
            assert span.strip(), evidence
            assert any(supports(span, v, evidence.key) for v in values), (evidence, span, value)


def test_evidence_check_refuses_what_the_span_does_not_say() -> None:
    assert not supports("4 892 717 kronor", Decimal("4892718"))
    assert not supports("1 feb 2024", dt.date(2024, 2, 2))
    assert not supports("Sandvikens kommun", "Gävle kommun")
    assert not supports("Europeiska socialfonden", "ERUF", "fund")
    assert supports("Europeiska socialfonden", "ESF", "fund")


@pytest.mark.parametrize("text", ["Cookies\n\nDen här webbplatsen använder kakor.\n", "Hello world\nNothing here\n"])
def test_text_without_facts_is_refused_saying_what_was_looked_for(text: str) -> None:
    with pytest.raises(SourceError, match=r"x\.txt: no project, call or partner search"):
        parse_text(text, "x.txt")


ESF_PLUS = [("Berörd fond", "ESF+"), ("Program CCI", "2021SE05SFPR"),
            ("Projektägare organisationsnummer", "2120001850"), ("Projektägare", "KARLSTADS KOMMUN"),
            ("Namn", "Testprojekt"), ("Startdatum", "2023-03-01"),
            ("Slutdatum", "2025-07-31"), ("Unionens medfinansieringsgrad", "60%"), ("Region", "Norra Mellansverige"),
            ("NUTS-2 kod", "SE31"), ("Antal deltagare", "1600"), ("Projektnummer", "22-999-S99"),
            ("Beviljat ESF-stöd", "1 234 567 kr"), ("Programområde", "A"), ("Specifikt mål", "A2B")]
CHROME = ["Cookies", "Den här hemsidan använder cookies för att säkerställa bästa möjliga upplevelse.", "Lär dig mer",
          "Logotyp på utskrifter", "Stäng", "3 december - Webbinarium om fattigdom i dagens Sverige"]


def _page(fields: list[tuple[str, str]], layout: str, case: str, chrome: list[str], prose: str) -> str:
    def label(text: str) -> str:
        return {"upper": text.upper(), "lower": text.lower(), "same": text}[case]

    if layout == "next-line":
        body = "\n".join(f"{label(k)}:\n{v}" for k, v in fields)
    elif layout == "next-line-no-colon":
        body = "\n".join(f"{label(k)}\n{v}" for k, v in fields)
    else:
        body = "\n".join(f"{label(k)}: {v}" for k, v in fields)
    return "\n\n".join([*chrome, body, prose]) + "\n"


@settings(max_examples=40, deadline=None)
@given(order=st.randoms(use_true_random=False),
       layout=st.sampled_from(["next-line", "next-line-no-colon", "colon"]),
       case=st.sampled_from(["same", "upper", "lower"]),
       chrome=st.lists(st.sampled_from(CHROME), max_size=4, unique=True),
       width=st.integers(min_value=40, max_value=200))
def test_layout_changes_leave_the_record_unchanged(order: random.Random, layout: str, case: str,
                                                   chrome: list[str], width: int) -> None:
    prose = ("Projektet samverkar med skolor och socialtjänst i kommunerna Eda, Kil och Grums för att fler "
             "unga ska fullfölja sin utbildning.")
    wrapped = "\n".join(re.findall(rf".{{1,{width}}}(?:\s|$)", prose)).replace(" \n", "\n")
    reference = _json(parse_text(_page(ESF_PLUS, "next-line", "same", [], prose), "x.txt").records[0])
    fields = list(ESF_PLUS)
    order.shuffle(fields)
    [record] = parse_text(_page(fields, layout, case, chrome, wrapped), "x.txt").records
    got = _json(record)
    for key in ("source_format", "extra"):
        got.pop(key, None), reference.pop(key, None)
    assert got == reference
    assert reference["municipalities"] == ["Eda", "Kil", "Grums"]


# Words the language is told by, joined by what pages put between words: punctuation, dashes, digits,
# the euro sign, no-break spaces; and letters Latin-1 does not hold (Polish, Greek, Turkish).
_WORDS = ["och", "att", "the", "and", "der", "und", "les", "projektet", "kommun", "łódź", "się", "και",
          "ıi", "straße", "élève", "x²", "ª"]
_BETWEEN = [" ", "\n", ", ", ". ", " – ", "-", "/", "€", "\u00a0", "2021", "_", "“", "”", ""]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_WORDS), st.sampled_from(_BETWEEN)), max_size=60))
def test_stop_words_are_the_words_of_the_text(pieces: list[tuple[str, str]]) -> None:
    """The language guess counts each stop word as often as a plain regex finds it among the text's
    words, whichever way the text is split (as Latin-1 bytes, or as a string when it has other letters)."""
    from collections import Counter

    from kgbuild.extract.engine import _stop_words
    from kgbuild.extract.lexicon import lexicon

    lex = lexicon()
    folded = "".join(word + between for word, between in pieces).casefold()
    want = Counter(lex.stop_languages[w] for w in re.findall(r"[^\W\d_]+", folded) if w in lex.stop_languages)
    got: Counter[tuple[str, ...]] = Counter()
    for languages, count in _stop_words(lex, folded):
        got[languages] += count
    assert got == want


def test_values_are_trimmed_of_every_white_space_python_knows() -> None:
    """find_text trims with a written list of white space: the list is all of it, over all of Unicode, so a
    value trims as the regex ``\\s`` it replaced did."""
    from kgbuild.extract import values

    assert set(values._SPACE_CHARS) == {chr(c) for c in range(0x110000) if chr(c).isspace()}
    assert set(values._SPACE_CHARS) == {chr(c) for c in range(0x110000) if re.fullmatch(r"\s", chr(c))}
    assert values.find_text("\u3000: Ödeshögs kommun.\u2029") == ("Ödeshögs kommun", 3, 18)


def test_label_patterns_with_a_group_are_tried_one_by_one() -> None:
    """The lexicon's label patterns are joined into one only when none has a group; a pattern with one is
    tried alone, and finds the same labels."""
    import tomllib

    from kgbuild.extract.lexicon import Lexicon, _reference_names, lexicon
    from kgbuild.resources import data_path

    labels = tomllib.loads(data_path("lexicon", "labels.toml").read_text(encoding="utf-8"))
    phrases = tomllib.loads(data_path("lexicon", "phrases.toml").read_text(encoding="utf-8"))
    labels["fields"]["deadline"]["patterns"] = [*labels["fields"]["deadline"].get("patterns", []),
                                                r"(Ansökningar)\s+tas\s+emot\s+till"]
    grouped = Lexicon(labels, phrases, _reference_names("municipalities.csv", "name", "alt_names"),
                      _reference_names("esf_regions.csv", "name", "alt_names"))
    assert grouped.any_label_pattern is None and lexicon().any_label_pattern is not None
    line = "Mer om utlysningen. Ansökningar tas emot till: 1 mars 2025. Deadline for partners: 2 May 2025"
    found = list(grouped.labels_before_colons(line, 0))
    assert [written for _, written, _ in found] == ["Ansökningar tas emot till", "Deadline for partners"]
    assert [written for _, written, _ in lexicon().labels_before_colons(line, 0)] == ["Deadline for partners"]


def test_a_list_label_met_again_does_not_start_a_record() -> None:
    """A label met again starts a new record (a page of several projects), unless it names a list: a
    partner a line is one list."""
    text = ("Projekt: Vägen in\nProjektägare: Umeå kommun\nPartner: Region Västerbotten\n"
            "Partner: Vindelns kommun\nBeviljat ESF-stöd: 3 200 000 kr\n\n"
            "Projekt: Steget\nProjektägare: Skellefteå kommun\n")
    first, second = parse_text(text, "x.txt").records
    assert (first.title, first.owner_name, first.partners, first.granted_amount_sek) == (
        "Vägen in", "Umeå kommun", ("Region Västerbotten", "Vindelns kommun"), 3200000)
    assert (second.title, second.owner_name, second.partners) == ("Steget", "Skellefteå kommun", ())
