"""Property-based tests of the value readers in :mod:`kgbuild.normalise` (and the parsers' own small ones).

For any string, each reader returns a value of its type or raises :class:`NormaliseError`, never
anything else; what it returns is stated by the string (its digits, its words); look-alikes that
Python's ``int()``/``float()``/``Decimal()`` would accept (non-ASCII digits, ``1_000``, ``nan``, ``1e3``)
are refused; and what is written in any accepted spelling reads back exactly (round trips), and reading
a reader's own output gives it back (idempotence).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import phonenumbers
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from benchmarks.corpus import org_number
from kgbuild import normalise as n
from kgbuild.errors import NormaliseError
from kgbuild.extract import values as finders
from kgbuild.extract.engine import split_title_line
from tests.robustness.conftest import examples
from tests.robustness.test_parser_properties import LOOKALIKES

# Characters values are made of, and their look-alikes: the alphabet that finds the edge cases.
VALUE_ALPHABET = "0123456789 ,.-–—:%+()/@_eEkrSEKsekJjaNnejYyoOtruf" + LOOKALIKES + "nanifty"
ANY_STRING = st.one_of(st.text(), st.text(st.sampled_from(VALUE_ALPHABET), max_size=30))
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
GROUP_SEPARATORS = (" ", "\u00a0", "\u202f", "\u2009", ".")

def _strict(kind: str, finder: Callable[[str], finders.Found | None]) -> Callable[[str], Any]:
    """A finder as a reader: its value, or NormaliseError when the text holds none."""

    def read(text: str) -> Any:
        found = finder(text)
        if found is None:
            raise NormaliseError(kind, text)
        return found.value

    return read


nuts_code = _strict("NUTS code", finders.find_nuts)
code = _strict("code", finders.find_code)

READERS: dict[str, Callable[[str], Any]] = {
    "amount": n.parse_amount, "percent": n.parse_percent, "bool": n.parse_bool, "int": n.parse_int,
    "iso_date": n.parse_iso_date, "english_date": n.parse_english_date, "date": n.parse_date,
    "find_date": n.find_date, "period": n.parse_period, "year_range": n.parse_year_range,
    "postal_code": n.parse_postal_code, "email": n.parse_email, "phone_se": n.parse_phone,
    "phone_unknown_country": lambda text: n.parse_phone(text, None), "org_number": n.parse_org_number,
    "nuts_code": nuts_code, "code": code, "clean_text": n.clean_text,
}
# Readers of numbers: none may accept a digit of another script, whatever Python's int() thinks.
NUMERIC = ("amount", "percent", "int", "iso_date", "period", "year_range", "postal_code", "org_number",
           "phone_se", "phone_unknown_country")
TYPES: dict[str, type | tuple[type, ...]] = {
    "amount": Decimal, "percent": Decimal, "bool": bool, "int": int, "iso_date": dt.date, "english_date": dt.date,
    "date": dt.date, "find_date": (dt.date, type(None)), "period": tuple, "year_range": tuple, "postal_code": str,
    "email": str, "phone_se": str, "phone_unknown_country": str, "org_number": str, "nuts_code": str, "code": str,
    "clean_text": str,
}


def _digits(text: str) -> str:
    return re.sub("[^0-9]", "", text)


def _foreign_digit(text: str) -> bool:
    return any(not char.isascii() and unicodedata.decimal(char, None) is not None for char in text)


def _stated(name: str, value: Any, text: str) -> bool:
    """Whether ``value`` (what reader ``name`` returned) is stated by ``text``."""
    digits = _digits(text)
    if name in ("amount", "percent"):
        # An amount keeps the digits as written ("381 700,50"); a rate is scaled back to per cent.
        scaled = (value * 100).normalize() if name == "percent" else value
        sign, parts, exponent = scaled.as_tuple()
        written = ("".join(map(str, parts)) + "0" * max(exponent, 0)).lstrip("0") or "0"
        return value >= 0 and written in digits
    if name == "int":
        return value >= 0 and str(value) in digits
    if name in ("iso_date", "english_date", "date", "find_date"):
        return value is None or (f"{value.year:04d}" in text and str(value.day) in _digits(text) + text)
    if name == "period":
        return all(day.isoformat() in text for day in value)
    if name == "year_range":
        return all(str(year) in text for year in value) and value[0] <= value[1]
    if name in ("postal_code", "org_number"):
        return value in digits
    if name == "email":
        return value.casefold() in text.casefold()
    if name.startswith("phone"):
        return str(phonenumbers.parse(value).national_number) in digits
    if name == "nuts_code":
        return value.casefold() in "".join(text.split()).casefold()
    if name in ("code", "clean_text"):
        return " ".join(value.split()) in " ".join(text.split())
    return True  # bool: a fixed word list


@settings(max_examples=examples(400))
@given(name=st.sampled_from(sorted(READERS)), text=ANY_STRING)
@example(name="amount", text="1_000")
@example(name="amount", text="nan")
@example(name="amount", text="1e3")
@example(name="amount", text="١٢٣")
@example(name="int", text="１６００")
@example(name="percent", text="inf %")
@example(name="org_number", text="２１２０００-１８５０")
@example(name="phone_se", text="０８-５０８３５７６８")
@example(name="iso_date", text="２０２３-03-01")
@example(name="iso_date", text="2023-02-30")
@example(name="year_range", text="2015-2013")
@example(name="find_date", text="Deadline: 30 February 2013")
def test_a_reader_returns_a_stated_value_or_raises_normalise_error(name: str, text: str) -> None:
    reader = READERS[name]
    try:
        value = reader(text)
    except NormaliseError as exc:
        # The message quotes what was read (the whole value, or the part of it that failed).
        assert " ".join(exc.value.split()) in " ".join(text.split()), (exc.value, text)
        assert "\n" not in exc.why
        return
    assert isinstance(value, TYPES[name]), (name, value)
    assert _stated(name, value, text), (name, value, text)
    if name in NUMERIC:
        assert not _foreign_digit(text), f"{name} accepted a digit of another script: {text!r} → {value!r}"
    if name in ("amount", "int", "percent"):
        assert "_" not in text and not re.search("nan|inf|e[0-9]", text, re.I), (name, text, value)


@settings(max_examples=examples(300))
@given(text=ANY_STRING)
def test_the_title_line_and_postal_city_splitters_only_split(text: str) -> None:
    number, title = split_title_line(text)
    assert (number is None or number in text) and " ".join(title.split()) in " ".join(text.split())
    found = finders.find_postal_city(text)
    postal, city = found.value if found else (None, None)
    assert postal is None or postal in _digits(text)
    assert city is None or " ".join(city.split()) in " ".join(text.split())


def _grouped(value: int, separator: str) -> str:
    digits = str(value)
    head = len(digits) % 3 or 3
    return separator.join([digits[:head]] + [digits[i:i + 3] for i in range(head, len(digits), 3)])


@settings(max_examples=examples(300))
@given(whole=st.integers(0, 10**15), cents=st.one_of(st.none(), st.integers(0, 99)),
       separator=st.sampled_from(GROUP_SEPARATORS + ("",)),
       unit=st.sampled_from(["", " kr", "kr", " kr.", " kronor", " SEK", ":-", "SEK ", "SEK\u00a0"]))
def test_an_amount_in_swedish_spelling_reads_back(whole: int, cents: int | None, separator: str, unit: str) -> None:
    written = _grouped(whole, separator) if separator else str(whole)
    if cents is not None:
        written += f",{cents:02d}"
    written = unit + written if unit.startswith("SEK") else written + unit
    expected = Decimal(f"{whole}.{cents:02d}") if cents is not None else Decimal(whole)
    assert n.parse_amount(written) == expected, written


@settings(max_examples=examples(200))
@given(whole=st.integers(0, 10**9), separator=st.sampled_from([" ", "\u00a0", "\u202f", "\u2009", ""]))
def test_a_whole_number_reads_back(whole: int, separator: str) -> None:
    assert n.parse_int(_grouped(whole, separator) if separator else str(whole)) == whole


@settings(max_examples=examples(200))
@given(whole=st.integers(0, 999), fraction=st.one_of(st.none(), st.integers(0, 9999)),
       comma=st.sampled_from([",", "."]), unit=st.sampled_from(["%", " %", "\u00a0%", " procent", " percent"]))
def test_a_percentage_reads_back(whole: int, fraction: int | None, comma: str, unit: str) -> None:
    digits = str(whole) if fraction is None else f"{whole}.{fraction}"
    written = digits.replace(".", comma) + unit
    assert n.parse_percent(written) == (Decimal(digits) / 100).normalize(), written


def _english(day: dt.date, style: int) -> str:
    month, year = MONTHS[day.month - 1], f"{day.year:04d}"
    suffix = "th" if 11 <= day.day <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day.day % 10, "th")
    return [f"{day.day} {month} {year}", f"{day.day}{suffix} {month} {year}", f"{month} {day.day}, {year}",
            f"{day.day} {month[:3]}. {year}", f"{day.day}{suffix} of {month} {year}",
            f"{month} {day.day}{suffix} {year}", f"{day.day:02d} {month.upper()} {year}",
            f"{month.lower()} {day.day} {year}"][style]


@settings(max_examples=examples(300))
@given(day=st.dates(), style=st.integers(0, 7))
@example(day=dt.date(2024, 2, 29), style=0)
@example(day=dt.date(1, 1, 1), style=1)
@example(day=dt.date(9999, 12, 31), style=2)
def test_any_valid_date_in_iso_and_english_reads_back(day: dt.date, style: int) -> None:
    assert n.parse_iso_date(day.isoformat()) == day
    assert n.parse_date(day.isoformat()) == day
    english = _english(day, style)
    assert n.parse_english_date(english) == day, english
    assert n.parse_date(english) == day, english
    assert n.find_date(f"Deadline for applications: {english}.") == day, english
    assert n.find_date(f"Sista dag {day.isoformat()}, se ovan") == day


@settings(max_examples=examples(200))
@given(day=st.dates(min_value=dt.date(1000, 1, 1)))
def test_an_impossible_day_of_the_month_is_refused_with_the_reason(day: dt.date) -> None:
    # The day after the last day of the month, written as a day of that month (2023-02-29, 2024-04-31 ...).
    last = ((day.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)).day
    impossible = f"{day.year:04d}-{day.month:02d}-{last + 1:02d}"
    with pytest.raises(NormaliseError, match="out of range"):
        n.parse_iso_date(impossible)
    with pytest.raises(NormaliseError, match="out of range"):
        n.parse_english_date(f"{last + 1} {MONTHS[day.month - 1]} {day.year}")


@settings(max_examples=examples(200))
@given(start=st.dates(min_value=dt.date(1000, 1, 1)), length=st.integers(0, 4000),
       joiner=st.sampled_from([" till ", " to ", " - ", "–", " — ", "-", " until "]))
def test_a_period_reads_back(start: dt.date, length: int, joiner: str) -> None:
    end = start + dt.timedelta(days=min(length, (dt.date.max - start).days))
    assert n.parse_period(f"{start.isoformat()}{joiner}{end.isoformat()}") == (start, end)
    assert n.parse_year_range(f"{start.year}{joiner}{end.year}") == (start.year, end.year)


@settings(max_examples=examples(200))
@given(nine=st.text("0123456789", min_size=9, max_size=9), position=st.integers(0, 9), change=st.integers(1, 9))
def test_an_organisation_number_reads_back_and_any_one_wrong_digit_is_caught(nine: str, position: int,
                                                                             change: int) -> None:
    number = org_number(nine)  # the corpus generator's Luhn digit, written apart from kgbuild's check
    for written in (number, f"{number[:6]}-{number[6:]}", f"16{number}", f"16{number[:6]}-{number[6:]}",
                    f" {number[:6]} - {number[6:]} "):
        assert n.parse_org_number(written) == number, written
    wrong = number[:position] + str((int(number[position]) + change) % 10) + number[position + 1:]
    with pytest.raises(NormaliseError, match="check digit"):
        n.parse_org_number(wrong)


@settings(max_examples=examples(100))
@given(code_=st.integers(10000, 99999), spelling=st.sampled_from(["{a} {b}", "{a}{b}", "SE-{a} {b}", "S-{a}{b}",
                                                                  "se- {a} {b}"]))
def test_a_postal_code_reads_back(code_: int, spelling: str) -> None:
    digits = str(code_)
    assert n.parse_postal_code(spelling.format(a=digits[:3], b=digits[3:])) == digits


@settings(max_examples=examples(60))
@given(region=st.sampled_from(["SE", "GB", "DE", "FI", "NO", "DK", "FR", "US"]),
       kind=st.sampled_from([phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE]))
def test_a_telephone_number_reads_back_in_every_format(region: str, kind: int) -> None:
    number = phonenumbers.example_number_for_type(region, kind)
    assume(number is not None)
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    international = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    assert n.parse_phone(e164, None) == e164
    assert n.parse_phone(international.replace(" ", "\u00a0"), None) == e164
    try:
        assert n.parse_phone(national, region) == e164
    except NormaliseError:
        assert re.search(r"[^0-9+()\-./ ]", national), national  # a national format with other characters


IDEMPOTENT = ("amount", "int", "postal_code", "email", "phone_se", "phone_unknown_country", "org_number",
              "nuts_code", "code", "clean_text", "bool")


@settings(max_examples=examples(300))
@given(name=st.sampled_from(IDEMPOTENT), text=ANY_STRING)
@example(name="email", text="mailto:Ann@Karlstad.SE")
@example(name="phone_se", text="08-50835768")
@example(name="org_number", text="16212000-1850")
def test_reading_a_readers_own_output_gives_it_back(name: str, text: str) -> None:
    reader = READERS[name]
    try:
        value = reader(text)
    except NormaliseError:
        return
    if name == "amount":
        assert n.parse_amount(str(value)) == value
    elif name == "int":
        assert reader(str(value)) == value
    elif name == "bool":
        assert reader("Ja" if value else "Nej") == value
    else:
        assert reader(value) == value, (name, text, value)


@settings(max_examples=examples(200))
@given(text=ANY_STRING)
def test_clean_text_leaves_no_doubled_or_outer_space(text: str) -> None:
    cleaned = n.clean_text(text)
    assert not re.search("[ \u00a0\u202f\u2009\t]{2,}|^[ \u00a0\u202f\u2009\t]|[ \u00a0\u202f\u2009\t]$", cleaned)
    assert n.clean_text(cleaned) == cleaned
