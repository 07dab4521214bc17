"""Normalisation: every accepted spelling, and the look-alikes that must be rejected."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from kgbuild import normalise as n
from kgbuild.errors import NormaliseError


@pytest.mark.parametrize(("written", "value"), [
    ("13 857 478 kr", Decimal(13857478)),
    ("13\u00a0857\u00a0478 kr", Decimal(13857478)),
    ("13\u202f857\u202f478", Decimal(13857478)),
    ("286 275", Decimal(286275)),
    ("381700", Decimal(381700)),
    ("1.234.567", Decimal(1234567)),
    ("1 234,50 kr", Decimal("1234.50")),
    ("1234.5", Decimal("1234.5")),
    ("SEK 500 000", Decimal(500000)),
    ("500 000 kronor", Decimal(500000)),
    ("500 000:-", Decimal(500000)),
    ("0", Decimal(0)),
])
def test_amounts(written: str, value: Decimal) -> None:
    assert n.parse_amount(written) == value


@pytest.mark.parametrize("written", [
    "1_000", "nan", "NaN", "inf", "-5", "", "kr", "١٢٣", "１２３", "12 34", "1,234,567", "1.234,567", "1e6",
    "12,345", "ten", "1 2345",
])
def test_amounts_rejected(written: str) -> None:
    with pytest.raises(NormaliseError):
        n.parse_amount(written)


@pytest.mark.parametrize(("written", "value"), [
    ("60%", Decimal("0.6")), ("40,5 %", Decimal("0.405")), ("100 %", Decimal(1)), ("0%", Decimal(0)),
    ("12.25%", Decimal("0.1225")), ("140%", Decimal("1.4")),
])
def test_percentages(written: str, value: Decimal) -> None:
    assert n.parse_percent(written) == value


@pytest.mark.parametrize("written", ["60", "-5%", "nan%", "６０%", "%", "sixty %"])
def test_percentages_rejected(written: str) -> None:
    with pytest.raises(NormaliseError):
        n.parse_percent(written)


@pytest.mark.parametrize(("written", "value"), [("Ja", True), ("nej", False), ("JA", True), ("Yes", True)])
def test_booleans(written: str, value: bool) -> None:
    assert n.parse_bool(written) is value


@pytest.mark.parametrize("written", ["", "kanske", "1", "J"])
def test_booleans_rejected(written: str) -> None:
    with pytest.raises(NormaliseError):
        n.parse_bool(written)


def test_whole_numbers() -> None:
    assert n.parse_int("1 600") == 1600
    for bad in ("1_600", "١٦", "-3", "3.5", "nan", ""):
        with pytest.raises(NormaliseError):
            n.parse_int(bad)


@pytest.mark.parametrize(("written", "value"), [
    ("2023-03-01", dt.date(2023, 3, 1)),
    ("21st February 2013", dt.date(2013, 2, 21)),
    ("12 December 2012", dt.date(2012, 12, 12)),
    ("February 21, 2013", dt.date(2013, 2, 21)),
    ("3rd of March 2015", dt.date(2015, 3, 3)),
    ("1 Sept. 2014", dt.date(2014, 9, 1)),
    ("2024-02-29", dt.date(2024, 2, 29)),
])
def test_dates(written: str, value: dt.date) -> None:
    assert n.parse_date(written) == value


@pytest.mark.parametrize(("written", "reason"), [
    ("2023-02-30", "day is out of range"), ("2023-13-01", "month must be in 1..12"),
    ("30th February 2013", "day is out of range"), ("2023-2-3", "expected"), ("yesterday", "expected"),
])
def test_impossible_dates_rejected_with_reason(written: str, reason: str) -> None:
    with pytest.raises(NormaliseError, match=reason):
        n.parse_date(written)


def test_find_date_in_text() -> None:
    assert n.find_date("Deadline for Leonardo da Vinci – Partnership: 21st February 2013") == dt.date(2013, 2, 21)
    assert n.find_date("no date here") is None
    with pytest.raises(NormaliseError):
        n.find_date("before 2023-02-30")


def test_periods_and_year_ranges() -> None:
    assert n.parse_period("2010-08-01 till 2014-05-31") == (dt.date(2010, 8, 1), dt.date(2014, 5, 31))
    assert n.parse_period("2016-01-01 – 2018-12-31") == (dt.date(2016, 1, 1), dt.date(2018, 12, 31))
    assert n.parse_year_range("2013-2015") == (2013, 2015)
    assert n.parse_year_range("2013 – 2015") == (2013, 2015)
    assert n.parse_year_range("2014") == (2014, 2014)
    for bad in ("2015-2013", "13-15", "2013-2015-2017"):
        with pytest.raises(NormaliseError):
            n.parse_year_range(bad)


def test_postal_codes() -> None:
    assert n.parse_postal_code("651 84") == "65184"
    assert n.parse_postal_code("65184") == "65184"
    assert n.parse_postal_code("SE-391 27") == "39127"
    for bad in ("6518", "651 845", "abcde", "٦٥١٨٤"):
        with pytest.raises(NormaliseError):
            n.parse_postal_code(bad)


def test_email_addresses() -> None:
    assert n.parse_email("roger.nilsson@forshaga.se") == "roger.nilsson@forshaga.se"
    assert n.parse_email("mailto:A@B.SE") == "A@b.se"
    for bad in ("roger.nilsson", "a@b", "a@@b.se", "a b@c.se", "a..b@c.se"):
        with pytest.raises(NormaliseError):
            n.parse_email(bad)


@pytest.mark.parametrize(("written", "country", "e164"), [
    ("08-50835768", "SE", "+46850835768"),
    ("0552 120 82", "SE", "+4655212082"),
    ("+46 54\u00a0540 49 55", "SE", "+46545404955"),
    ("+49 30 1234567", None, "+49301234567"),
])
def test_phone_numbers(written: str, country: str | None, e164: str) -> None:
    assert n.parse_phone(written, country) == e164


@pytest.mark.parametrize(("written", "country"), [("0552 120 82", None), ("call me", "SE"), ("12", "SE")])
def test_phone_numbers_rejected(written: str, country: str | None) -> None:
    with pytest.raises(NormaliseError):
        n.parse_phone(written, country)


def test_org_numbers() -> None:
    assert n.parse_org_number("212000-1850") == "2120001850"
    assert n.parse_org_number("8025185011") == "8025185011"
    assert n.parse_org_number("162120001850") == "2120001850"
    for bad in ("2120001851", "21200-1850", "212000185X", "١٢٣٤٥٦٧٨٩٠"):
        with pytest.raises(NormaliseError):
            n.parse_org_number(bad)
