"""Property-based tests of the source-text stages: decoding, format detection and the three parsers.

Inputs are real texts (``data/sources/*.txt``) and generated ones (``benchmarks.corpus``), mutated the
way scraped pages get damaged: lines deleted, duplicated, swapped or truncated; random characters and
bytes inserted; look-alikes of digits, spaces and colons; mixed line endings; every encoding the README
promises (and bytes that are none). Two properties hold for every input:

1. Reading it either succeeds or raises the project's own clear error (a :class:`KgbuildError`), never
   anything else.
2. Every value in every record is stated by the text (see :mod:`tests.robustness.oracle`).
"""

from __future__ import annotations

import codecs
import re
from functools import cache

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from benchmarks.corpus import generate_texts
from kgbuild.decoding import decode_source
from kgbuild.errors import KgbuildError, SourceError
from kgbuild.parsers import detect_format, parse_bytes, parse_text
from kgbuild.records import ParseResult
from tests.conftest import SOURCES
from tests.robustness.conftest import examples
from tests.robustness.oracle import problems

# Look-alikes a page or a copy-paste brings in: digits of other scripts, full-width and superscript digits,
# letters for digits, odd spaces (no-break, narrow, thin, zero-width, ideographic), dashes, colons, BOMs,
# combining marks, line and paragraph separators, and Swedish letters in both normal forms.
LOOKALIKES = ("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹०१२३४५६७८९０１２３４５６７８９¹²³⁴½ⅡⅫOolI"
              "\u00a0\u202f\u2009\u200b\u3000\ufeff–—−‐‑:：∶;ÅÄÖåäöéA\u030aa\u0308\u2028\u2029\x85\t\r\x0b\x0c")
CHARACTERS = st.one_of(st.characters(codec="utf-8"), st.sampled_from(LOOKALIKES))
DIGIT_SWAPS = {str(d): f"{chr(0x0660 + d)}{chr(0xFF10 + d)}{chr(0x06F0 + d)}{'OlZEASGTBg'[d]}" for d in range(10)}
ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "latin-1", "cp1252")
LINE_ENDINGS = ("\n", "\r\n", "\r")


@cache
def seeds() -> tuple[str, ...]:
    """The bundled texts and forty generated ones (all three formats, every trap the generator draws)."""
    bundled = tuple(path.read_text(encoding="utf-8") for path in sorted(SOURCES.glob("*.txt")))
    return bundled + tuple(text for _, text in generate_texts(40, seed=6))


def test_the_seeds_cover_every_format() -> None:
    assert {detect_format(text) for text in seeds()} == {"esf_plus_2021", "esf_2007", "partner_search"}


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """A seed text after up to eight random damages."""
    lines = draw(st.sampled_from(seeds())).split("\n")
    for _ in range(draw(st.integers(0, 8))):
        if not lines:
            lines = [""]
        at = draw(st.integers(0, len(lines) - 1))
        damage = draw(st.sampled_from(["delete", "duplicate", "swap", "truncate", "insert-line", "insert-chars",
                                       "digits", "spaces", "colons", "line-ending", "cut-line"]))
        if damage == "delete":
            del lines[at:at + draw(st.integers(1, 5))]
        elif damage == "duplicate":
            lines[at:at] = lines[at:at + draw(st.integers(1, 5))]
        elif damage == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[at], lines[other] = lines[other], lines[at]
        elif damage == "truncate":
            text = "\n".join(lines)
            lines = text[:draw(st.integers(0, len(text)))].split("\n")
        elif damage == "insert-line":
            lines.insert(at, draw(st.text(CHARACTERS, max_size=60)))
        elif damage == "insert-chars":
            line, cut = lines[at], draw(st.integers(0, len(lines[at])))
            lines[at] = line[:cut] + draw(st.text(CHARACTERS, min_size=1, max_size=8)) + line[cut:]
        elif damage == "digits":
            lines[at] = re.sub("[0-9]", lambda m: draw(st.sampled_from(DIGIT_SWAPS[m.group()] + m.group())), lines[at])
        elif damage == "spaces":
            lines[at] = lines[at].replace(" ", draw(st.sampled_from(["\u00a0", "\u202f", "\u2009", "\u200b", "  ",
                                                                    "\t", "\u3000"])))
        elif damage == "colons":
            lines[at] = lines[at].replace(":", draw(st.sampled_from(["：", "∶", ";", "", " :"])))
        elif damage == "line-ending":
            lines[at] += draw(st.sampled_from(["\r", "\u2028", "\x85", "\x0c", " ", "\t"]))
        else:
            lines[at] = lines[at][:draw(st.integers(0, len(lines[at])))]
    return "\n".join(lines)


@st.composite
def encoded(draw: st.DrawFn) -> bytes:
    """A mutated text as the bytes of a file: any promised encoding, any line endings, maybe damaged bytes."""
    text = draw(mutated())
    newline = draw(st.sampled_from(LINE_ENDINGS + ("mixed",)))
    if newline == "mixed":
        parts = text.split("\n")
        text = "".join(part + draw(st.sampled_from(LINE_ENDINGS)) for part in parts)
    else:
        text = text.replace("\n", newline)
    encoding = draw(st.sampled_from(ENCODINGS))
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        data = text.encode("utf-8")
    if draw(st.booleans()):
        data = draw(st.sampled_from([codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, b""])) + data
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=4)) + data[at:]
    return data


def _read(data: bytes) -> tuple[ParseResult, str] | None:
    """Parse ``data``; ``None`` when it was refused with a clear error. Anything else fails the test."""
    try:
        result = parse_bytes(data, "page.txt")
    except SourceError as exc:
        assert str(exc).startswith("page.txt: ") and "\n" not in str(exc), str(exc)
        return None
    return result, decode_source(data, "page.txt").text


def _assert_stated(result: ParseResult, text: str) -> None:
    assert result.records, "a parse result without records must be an error instead"
    for number, record in enumerate(result.records):
        missing = problems(record, text)
        assert not missing, f"record {number} holds values its text does not state: {missing}"


@settings(max_examples=examples(150))
@given(text=mutated())
def test_a_damaged_text_is_read_or_refused_clearly_and_nothing_is_invented(text: str) -> None:
    try:
        result = parse_text(text, "page.txt")
    except SourceError as exc:
        assert exc.source == "page.txt" and exc.problem
        return
    _assert_stated(result, text)


@settings(max_examples=examples(150))
@given(data=encoded())
def test_damaged_bytes_in_any_encoding_are_read_or_refused_clearly(data: bytes) -> None:
    outcome = _read(data)
    if outcome is not None:
        _assert_stated(*outcome)


@settings(max_examples=examples(60))
@given(text=mutated(), encoding=st.sampled_from(ENCODINGS), newline=st.sampled_from(LINE_ENDINGS))
def test_the_encoding_and_line_endings_do_not_change_what_is_read(text: str, encoding: str, newline: str) -> None:
    """A text that survives its encoding reads the same in every encoding and with every line ending."""
    # Characters the decoder rightly refuses (controls) or repairs (mojibake-like pairs), or that
    # turn into line breaks, are left out: this property is about faithful decoding.
    text = re.sub("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeffÃÂ]", "", text)
    try:
        data = text.replace("\n", newline).encode(encoding)
    except UnicodeEncodeError:
        return
    try:
        expected = parse_text(text, "page.txt")
    except SourceError:
        with pytest.raises(KgbuildError):
            parse_bytes(data, "page.txt")
        return
    got = parse_bytes(data, "page.txt")
    assert [r.to_json() for r in got.records] == [r.to_json() for r in expected.records]


@settings(max_examples=examples(300))
@given(data=st.one_of(st.binary(max_size=2000), st.text(CHARACTERS, max_size=400).map(lambda t: t.encode("utf-8"))))
@example(b"")
@example(b"\xef\xbb\xbf")
@example(b"\xff\xfe")
@example(b"\xff\xfeA")
@example("Berörd fond:\nESF+\nNUTS-2 kod:\n".encode("utf-16"))
@example(b"Projektfas\x00Genomf\xf6rande\nProjektperiod")
def test_random_bytes_are_refused_clearly_or_read_faithfully(data: bytes) -> None:
    try:
        decoded = decode_source(data, "page.txt")
    except SourceError as exc:
        assert exc.problem and "\n" not in exc.problem
        return
    # Decoding never inserts replacement characters (one already there is reported) nor lets controls through.
    assert "\ufffd" not in decoded.text or any("U+FFFD" in w for w in decoded.warnings)
    assert not re.search("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\r]", decoded.text)
    outcome = _read(data)
    if outcome is not None:
        _assert_stated(*outcome)


@settings(max_examples=examples(60))
@given(seed=st.sampled_from(range(len(seeds()))), cut=st.floats(0, 1))
def test_a_truncated_file_is_read_or_refused_clearly(seed: int, cut: float) -> None:
    """A download cut short anywhere, even inside a multi-byte character."""
    data = seeds()[seed].encode("utf-8")
    outcome = _read(data[:int(len(data) * cut)])
    if outcome is not None:
        _assert_stated(*outcome)


@pytest.mark.parametrize("index", range(45))
def test_every_seed_itself_satisfies_the_oracle(index: int) -> None:
    """The oracle's control: the undamaged texts pass it (so a failure above is the damage's doing)."""
    text = seeds()[index]
    _assert_stated(parse_text(text, "page.txt"), text)
