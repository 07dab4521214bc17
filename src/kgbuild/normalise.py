"""Normalisation: small, strict functions that turn a value as written into a typed value.

Each function accepts the spellings real Swedish and European pages use and raises
:class:`~kgbuild.errors.NormaliseError` for anything else. They are deliberately stricter than
Python's own ``int()``/``float()``/``Decimal()``, which accept ``1_000``, non-ASCII digits and ``nan``.
Parsers call them; nothing here knows about RDF.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import phonenumbers

from kgbuild.errors import NormaliseError

__all__ = [
    "clean_text",
    "parse_amount",
    "parse_percent",
    "parse_bool",
    "parse_int",
    "parse_iso_date",
    "parse_english_date",
    "parse_date",
    "find_date",
    "parse_period",
    "parse_year_range",
    "parse_postal_code",
    "parse_email",
    "parse_phone",
    "parse_org_number",
]

# Spaces that pages use as thousands separators: space, no-break, narrow no-break, thin.
_GROUP_SPACES = " \u00a0\u202f\u2009"
_SPACE_RE = re.compile(f"[{_GROUP_SPACES}\t]+")
_ODD_SPACE_RE = re.compile("[\u00a0\u202f\u2009\t]")


def clean_text(text: str) -> str:
    """Collapse runs of white space (including no-break spaces) to one space and trim.

    >>> clean_text("  Forshaga\\u00a0 kommun ")
    'Forshaga kommun'
    """
    if "  " not in text and not _ODD_SPACE_RE.search(text):
        return text.strip()
    return _SPACE_RE.sub(" ", text).strip()


# --- numbers -------------------------------------------------------------------------------------

_CURRENCY_RE = re.compile(r"^(?:SEK\s*)?(?P<num>.*?)\s*(?:kr\.?|kronor|SEK|:-)?$", re.IGNORECASE)
# [0-9], never \d: \d also matches Arabic-Indic and other digits.
_GROUPED = re.compile(r"^(?P<int>[0-9]{1,3}(?:(?P<sep>[ .])[0-9]{3})(?:(?P=sep)[0-9]{3})*)(?:,(?P<frac>[0-9]{1,2}))?$")
_PLAIN = re.compile(r"^(?P<int>[0-9]+)(?:[,.](?P<frac>[0-9]{1,2}))?$")


def parse_amount(text: str) -> Decimal:
    """An amount in SEK, exact: ``"13 857 478 kr"`` → ``Decimal("13857478")``.

    Thousands may be grouped by spaces (also no-break and narrow no-break) or dots; decimals
    follow a comma (or a point when there is no grouping); "kr", "kronor", "SEK" and ":-" are
    allowed around the number. Anything else is rejected rather than guessed.

    :param text: the amount as written.
    :return: the exact amount.
    :raises NormaliseError: for an empty, negative, ambiguous or non-numeric amount.

    >>> parse_amount("13\\u00a0857\\u00a0478 kr")
    Decimal('13857478')
    >>> parse_amount("381 700,50")
    Decimal('381700.50')
    >>> parse_amount("1_000")
    Traceback (most recent call last):
    ...
    kgbuild.errors.NormaliseError: not a valid amount: '1_000'
    """
    written = text
    text = clean_text(text)
    match = _CURRENCY_RE.match(text)
    number = match.group("num") if match else ""
    grouped = _GROUPED.match(number)
    plain = _PLAIN.match(number)
    found = grouped or plain
    if not found:
        raise NormaliseError("amount", written)
    whole = re.sub("[ .]", "", found.group("int"))
    frac = found.group("frac")
    return Decimal(f"{whole}.{frac}") if frac else Decimal(whole)


_PERCENT_RE = re.compile(r"^(?P<int>[0-9]{1,3})(?:[,.](?P<frac>[0-9]{1,4}))?\s*(?:%|procent|percent)$", re.I)


def parse_percent(text: str) -> Decimal:
    """A percentage as a fraction: ``"60%"`` → ``Decimal("0.6")``, ``"40,5 %"`` → ``Decimal("0.405")``.

    The value is not range-checked beyond being non-negative with at most three integer digits:
    a declared rate of 140 % is read as 1.4 and left for validation to flag.

    >>> parse_percent("60%")
    Decimal('0.6')
    >>> parse_percent("40,5 %")
    Decimal('0.405')
    """
    match = _PERCENT_RE.match(clean_text(text))
    if not match:
        raise NormaliseError("percentage", text)
    frac = match.group("frac")
    value = Decimal(f"{match.group('int')}.{frac}") if frac else Decimal(match.group("int"))
    return (value / 100).normalize()


_TRUE = {"ja", "yes", "true"}
_FALSE = {"nej", "no", "false"}


def parse_bool(text: str) -> bool:
    """``Ja``/``Nej`` (and ``Yes``/``No``) to a boolean.

    >>> parse_bool("Ja"), parse_bool("NEJ")
    (True, False)
    """
    key = clean_text(text).casefold()
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise NormaliseError("yes/no value", text)


def parse_int(text: str) -> int:
    """A whole, non-negative number, optionally grouped by spaces: ``"1 600"`` → ``1600``.

    >>> parse_int("1\\u00a0600")
    1600
    """
    compact = clean_text(text)
    if not re.fullmatch(r"[0-9]{1,3}(?: [0-9]{3})+|[0-9]+", compact):
        raise NormaliseError("whole number", text)
    return int(compact.replace(" ", ""))


# --- dates ---------------------------------------------------------------------------------------

_ISO_DATE_RE = re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})$")
_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_MONTH_NAMES = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DAY = r"(?P<day>[0-9]{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>[0-9]{4})"
_MONTH = rf"(?P<month>{_MONTH_NAMES})\.?"
# "21st February 2013", "21 Feb. 2013", "February 21st, 2013", "21st of February 2013"
_ENGLISH_DATE_RES = (
    re.compile(rf"\b{_DAY}\s+(?:of\s+)?{_MONTH}\s*,?\s+{_YEAR}\b", re.I),
    re.compile(rf"\b{_MONTH}\s+{_DAY}\s*,?\s+{_YEAR}\b", re.I),
)
_ISO_IN_TEXT_RE = re.compile(r"(?<![0-9])[0-9]{4}-[0-9]{2}-[0-9]{2}(?![0-9])")


def _make_date(year: int, month: int, day: int, written: str) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError as exc:
        raise NormaliseError("date", written, str(exc)) from None


def parse_iso_date(text: str) -> dt.date:
    """An ISO date ``YYYY-MM-DD``; impossible dates are rejected with the reason.

    >>> parse_iso_date("2023-03-01")
    datetime.date(2023, 3, 1)
    >>> parse_iso_date("2023-02-30")
    Traceback (most recent call last):
    ...
    kgbuild.errors.NormaliseError: not a valid date: '2023-02-30' (day is out of range for month)
    """
    match = _ISO_DATE_RE.match(clean_text(text))
    if not match:
        raise NormaliseError("date", text, "expected YYYY-MM-DD")
    year, month, day = (int(part) for part in match.groups())
    return _make_date(year, month, day, text)


def parse_english_date(text: str) -> dt.date:
    """A date written in English words: ``"21st February 2013"`` → ``2013-02-21``.

    >>> parse_english_date("21st February 2013")
    datetime.date(2013, 2, 21)
    >>> parse_english_date("February 21, 2013")
    datetime.date(2013, 2, 21)
    """
    compact = clean_text(text)
    for pattern in _ENGLISH_DATE_RES:
        match = pattern.fullmatch(compact)
        if match:
            month = _MONTHS[match.group("month").casefold()]
            return _make_date(int(match.group("year")), month, int(match.group("day")), text)
    raise NormaliseError("date", text, "expected a date such as '21 February 2013'")


def parse_date(text: str) -> dt.date:
    """An ISO date or an English date in words.

    >>> parse_date("12 December 2012")
    datetime.date(2012, 12, 12)
    """
    compact = clean_text(text)
    if _ISO_DATE_RE.match(compact):
        return parse_iso_date(compact)
    return parse_english_date(compact)


def find_date(text: str) -> dt.date | None:
    """The first date (ISO or in English words) inside a longer text, or ``None`` if there is none.

    :raises NormaliseError: when the text names an impossible date such as 30 February.

    >>> find_date("Deadline for Leonardo da Vinci - Partnership: 21st February 2013")
    datetime.date(2013, 2, 21)
    """
    candidates: list[tuple[int, str]] = [(m.start(), m.group(0)) for m in _ISO_IN_TEXT_RE.finditer(text)]
    for pattern in _ENGLISH_DATE_RES:
        candidates += [(m.start(), m.group(0)) for m in pattern.finditer(text)]
    if not candidates:
        return None
    return parse_date(min(candidates)[1])


_PERIOD_RE = re.compile(
    r"^(?P<start>[0-9]{4}-[0-9]{2}-[0-9]{2})\s*(?:till|to|until|–|—|-)\s*(?P<end>[0-9]{4}-[0-9]{2}-[0-9]{2})$",
    re.I,
)


def parse_period(text: str) -> tuple[dt.date, dt.date]:
    """A period between two ISO dates: ``"2010-08-01 till 2014-05-31"``.

    >>> parse_period("2010-08-01 till 2014-05-31")
    (datetime.date(2010, 8, 1), datetime.date(2014, 5, 31))
    """
    match = _PERIOD_RE.match(clean_text(text))
    if not match:
        raise NormaliseError("period", text, "expected 'YYYY-MM-DD till YYYY-MM-DD'")
    return parse_iso_date(match.group("start")), parse_iso_date(match.group("end"))


_YEAR_RANGE_RE = re.compile(r"^(?P<start>[0-9]{4})\s*(?:-|–|—|to|till|until)\s*(?P<end>[0-9]{4})$", re.I)


def parse_year_range(text: str) -> tuple[int, int]:
    """A period in years, kept as years: ``"2013-2015"`` → ``(2013, 2015)``; one year → ``(y, y)``.

    >>> parse_year_range("2013-2015")
    (2013, 2015)
    >>> parse_year_range("2015-2013")
    Traceback (most recent call last):
    ...
    kgbuild.errors.NormaliseError: not a valid year range: '2015-2013' (ends before it starts)
    """
    compact = clean_text(text)
    if re.fullmatch(r"[0-9]{4}", compact):
        return int(compact), int(compact)
    match = _YEAR_RANGE_RE.match(compact)
    if not match:
        raise NormaliseError("year range", text)
    start, end = int(match.group("start")), int(match.group("end"))
    if end < start:
        raise NormaliseError("year range", text, "ends before it starts")
    return start, end


# --- contact details and identifiers -------------------------------------------------------------


def parse_postal_code(text: str) -> str:
    """A Swedish postal code as five digits: ``"651 84"`` → ``"65184"`` (``SE-`` prefix allowed).

    >>> parse_postal_code("SE-651 84")
    '65184'
    """
    compact = re.sub(r"^(?:SE|S)-\s*", "", clean_text(text), flags=re.I)
    if not re.fullmatch(r"[0-9]{3} ?[0-9]{2}", compact):
        raise NormaliseError("postal code", text, "expected five digits such as '651 84'")
    return compact.replace(" ", "")


_EMAIL_RE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                       r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")


def parse_email(text: str) -> str:
    """An e-mail address, trimmed, ``mailto:`` removed, the domain in lower case.

    >>> parse_email(" mailto:Ann-Karin.Bohl@Karlstad.SE ")
    'Ann-Karin.Bohl@karlstad.se'
    """
    compact = clean_text(text)
    compact = re.sub(r"^mailto:", "", compact, flags=re.I)
    if not _EMAIL_RE.match(compact) or ".." in compact:
        raise NormaliseError("e-mail address", text)
    local, _, domain = compact.rpartition("@")
    return f"{local}@{domain.lower()}"


def parse_phone(text: str, country: str | None = "SE") -> str:
    """A telephone number in E.164 form; a number without ``+`` is read in ``country``.

    :param country: ISO 3166 code of the country the page is from, or ``None`` when unknown
        (then only numbers written with ``+`` and a country code can be read).

    >>> parse_phone("08-50835768")
    '+46850835768'
    >>> parse_phone("+46 54\\u00a0540 49 55")
    '+46545404955'
    """
    compact = clean_text(text)
    if re.search(r"[^0-9+()\-./ ]", compact) or not re.search(r"[0-9]", compact):
        raise NormaliseError("telephone number", text)
    try:
        number = phonenumbers.parse(compact, country)
    except phonenumbers.NumberParseException as exc:
        raise NormaliseError("telephone number", text, str(exc)) from None
    if not phonenumbers.is_possible_number(number):
        raise NormaliseError("telephone number", text, "not a possible number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(digits):
        value = int(char) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def parse_org_number(text: str) -> str:
    """A Swedish organisationsnummer as ten digits, check digit verified.

    ``212000-1850``, ``2120001850`` and the 12-digit form with a ``16`` prefix are accepted.

    >>> parse_org_number("212000-1850")
    '2120001850'
    >>> parse_org_number("2120001851")
    Traceback (most recent call last):
    ...
    kgbuild.errors.NormaliseError: not a valid organisationsnummer: '2120001851' (check digit does not match)
    """
    compact = clean_text(text).replace("-", "").replace(" ", "")
    if re.fullmatch(r"16[0-9]{10}", compact):
        compact = compact[2:]
    if not re.fullmatch(r"[0-9]{10}", compact):
        raise NormaliseError("organisationsnummer", text, "expected ten digits such as 212000-1850")
    if not _luhn_ok(compact):
        raise NormaliseError("organisationsnummer", text, "check digit does not match")
    return compact
