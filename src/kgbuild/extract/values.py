"""Typed value finders: each looks for one kind of value inside a piece of text and says where it is.

A finder takes the text of a field's value (or a sentence) and returns a :class:`Found` — the
normalised value and the character span it was read from, relative to that text — or ``None``.
Nothing is guessed: a finder that cannot read its kind of value returns ``None``, and the span it
returns always holds the whole of what the value was read from.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any, NamedTuple

from kgbuild import normalise as n
from kgbuild.errors import NormaliseError
from kgbuild.extract.lexicon import starts_with_lookahead

__all__ = [
    "Found",
    "Finder",
    "FINDERS",
    "PHONE_DIGITS",
    "find_date",
    "find_dates",
    "find_period",
    "find_amount",
    "find_percent",
    "find_email",
    "find_phone",
    "find_org_number",
    "find_postal_city",
    "find_project_number",
    "find_int",
    "month_number",
]


class Found(NamedTuple):
    value: Any
    start: int
    end: int


Finder = Callable[[str], "Found | None"]

# --- dates ---------------------------------------------------------------------------------------

# Languages whose month names are read (the texts kgbuild is fed: Swedish and English pages, and
# partner searches written in or mixed with these).
_MONTH_LOCALES = ("sv", "en", "de", "fr", "it", "da", "nb", "pt", "es", "nl")


@functools.cache
def _month_table() -> dict[str, int]:
    """Every wide and abbreviated month name of the languages above (from CLDR, via babel) → 1..12."""
    from babel.dates import get_month_names

    table: dict[str, int] = {}
    for locale in _MONTH_LOCALES:
        for width in ("wide", "abbreviated"):
            for context in ("format", "stand-alone"):
                for number, name in get_month_names(width, context, locale).items():
                    key = name.casefold().rstrip(".")
                    if len(key) >= 3:
                        table.setdefault(key, number)
    # "Sept" and "sept." are common and not in CLDR for these languages.
    table.setdefault("sept", 9)
    return table


def month_number(name: str) -> int | None:
    """The month a written name stands for, in any of the languages read.

    >>> month_number("mars"), month_number("Feb."), month_number("dezember"), month_number("jan")
    (3, 2, 12, 1)
    """
    return _month_table().get(name.casefold().rstrip("."))


@functools.cache
def _date_patterns() -> tuple[re.Pattern[str], ...]:
    names = "|".join(sorted((re.escape(m) for m in _month_table()), key=len, reverse=True))
    month = rf"(?P<month>{names})\.?"
    day = r"(?P<day>[0-3]?[0-9])(?:st|nd|rd|th|e|er|º|\.)?"
    year = r"(?P<year>(?:19|20)[0-9]{2})"
    month_first = starts_with_lookahead(list(_month_table()))
    return (
        # 2023-03-01, 2023.03.01, 2023/03/01
        re.compile(r"(?<![0-9])(?P<year>(?:19|20)[0-9]{2})([-./])(?P<month>[01]?[0-9])\2(?P<day>[0-3]?[0-9])(?![0-9])"),
        # 20230301 (only as the whole of a token)
        re.compile(r"(?<![0-9])(?P<year>(?:19|20)[0-9]{2})(?P<month>[01][0-9])(?P<day>[0-3][0-9])(?![0-9])"),
        # 02-09-2019, 01/09/2015, 1.9.2015: day first, as Europe writes it (the lookahead: 4x faster)
        re.compile(r"(?=[0-9])(?<![0-9./-])(?P<day>[0-3]?[0-9])([-./])(?P<month>[01]?[0-9])\2(?P<year>(?:19|20)[0-9]{2})(?![0-9])"),
        # 1 September 2023, 21st of February 2013, 1 jan 2018, 1. März 2020, 1 de março de 2020
        re.compile(rf"(?<!\w){day}\s*(?:of\s+|de\s+)?{month}(?:\s+de)?\s*,?\s+{year}(?![0-9])", re.I),
        # September 1st of 2017, February 21, 2013 (the lookahead of the months' first letters: 1.5x faster)
        re.compile(rf"{month_first}(?<!\w){month}\s+{day}\s*(?:,|\s+of)?\s+{year}(?![0-9])", re.I),
    )


def find_dates(text: str) -> Iterator[Found]:
    """Every valid date written in ``text``, in order, not overlapping.

    >>> [f.value.isoformat() for f in find_dates("1 feb 2024 – 31 jan 2027")]
    ['2024-02-01', '2027-01-31']
    >>> [f.value.isoformat() for f in find_dates("(deadline September 1st of 2017)")]
    ['2017-09-01']
    >>> list(find_dates("+46 54 540 49 55, 60%"))
    []
    """
    return iter(_dates(text))


@functools.lru_cache(maxsize=256)
def _dates(text: str) -> tuple[Found, ...]:
    # Cached: a value's text is read for its date, and read again when the value's evidence is checked.
    if "19" not in text and "20" not in text:
        return ()  # every date written has a year, 19xx or 20xx: most values have none
    found: list[Found] = []
    for pattern in _date_patterns():
        for match in pattern.finditer(text):
            if any(f.start < match.end() and match.start() < f.end for f in found):
                continue
            month_text = match.group("month")
            month = int(month_text) if month_text.isdigit() else month_number(month_text)
            if month is None:
                continue
            try:
                value = dt.date(int(match.group("year")), month, int(match.group("day")))
            except ValueError:
                continue
            found.append(Found(value, match.start(), match.end()))
    return tuple(sorted(found, key=lambda f: f.start))


def find_date(text: str) -> Found | None:
    """The first date in ``text``.

    >>> find_date("Deadline project proposals: 02-09-2019").value
    datetime.date(2019, 9, 2)
    """
    return next(find_dates(text), None)


_RANGE_GAP_RE = re.compile(r"^\s*(?:-|–|—|→|->|till|to|until|and|och|bis|au|al|a|–\s*till)?\s*(?:ends\s+on\s+)?$",
                           re.I)
_YEARS_RE = re.compile(r"(?<![0-9])(?P<start>(?:19|20)[0-9]{2})\s*(?:-|–|—|/|till|to)\s*"
                       r"(?P<end>(?:19|20)[0-9]{2})(?![0-9])")


def find_period(text: str) -> Found | None:
    """Two dates joined as a period (``2022-07-01 till 2023-09-30``, ``1 jan 2018 – 31 dec 2020``).

    The value is a ``(start, end)`` pair of dates; a period that ends before it starts is refused.

    >>> find_period("2016-08-01-2019-03-31").value
    (datetime.date(2016, 8, 1), datetime.date(2019, 3, 31))
    >>> find_period("2015-09-01 → 2018-08-31").end
    23
    """
    dates = list(find_dates(text))
    for first, second in zip(dates, dates[1:], strict=False):
        if _RANGE_GAP_RE.match(text[first.end:second.start]) and first.value <= second.value:
            return Found((first.value, second.value), first.start, second.end)
    return None


def find_years(text: str) -> Found | None:
    """A period in whole years: ``2013–2014`` → ``(2013, 2014)``.

    >>> find_years("21 480 EUR för perioden 2013–2014").value
    (2013, 2014)
    """
    match = _YEARS_RE.search(text)
    if not match:
        return None
    start, end = int(match.group("start")), int(match.group("end"))
    return Found((start, end), match.start(), match.end()) if start <= end else None


# --- amounts -------------------------------------------------------------------------------------

# A number as written in prices: 13 857 478 / 13.857.478 / 3 544 067,52 / 2,130,769.50 / 26000000
_NUMBER = (r"[0-9]{1,3}(?:(?P<sep>[ \u00a0\u202f.,])[0-9]{3})(?:(?P=sep)[0-9]{3})*(?:[.,][0-9]{1,2})?(?![0-9])"
           r"|[0-9]+(?:[.,][0-9]{1,2})?(?![0-9])")
_SCALE = r"(?P<scale>miljoner|miljon|mkr|msek|mnkr|million|millions|mio\.?|mn|m(?![a-zåäö])|tkr|tusen)"
_SEK = r"(?P<sek>kr\b\.?|kronor|sek\b|:-)"
_EUR = r"(?P<eur>€|eur\b|euro\b|euros\b)"
_AMOUNT_RE = re.compile(
    rf"(?:(?P<pre_eur>€|EUR)\s?|(?P<pre_sek>SEK)\s?)?(?P<number>{_NUMBER})"
    rf"(?:\s*{_SCALE})?(?:\s*(?:{_SEK}|{_EUR}))?(?:\s*(?:€|eur\b))?",
    re.I,
)
_SCALES = {"miljoner": 10**6, "miljon": 10**6, "million": 10**6, "millions": 10**6, "mio": 10**6, "mn": 10**6,
           "m": 10**6, "mkr": 10**6, "msek": 10**6, "mnkr": 10**6, "tkr": 1000, "tusen": 1000}


_SPACES = {0xA0: " ", 0x202F: " ", 0x2009: " "}


class Amount(NamedTuple):
    value: Decimal
    currency: str | None  # "SEK", "EUR", or None when the text names none


def _number(written: str, sep: str | None) -> Decimal:
    """A number as written, exactly: groups of three split by ``sep``, a fraction after the other mark."""
    text = re.sub("[\u00a0\u202f]", " ", written)
    group = " " if sep in (" ", "\u00a0", "\u202f") else sep
    whole, frac = text, ""
    fraction = re.search(r"[.,]([0-9]{1,2})$", text)
    if fraction and (group is None or text[fraction.start()] != group):
        whole, frac = text[:fraction.start()], fraction.group(1)
    whole = whole.replace(group, "") if group else whole
    return Decimal(f"{whole}.{frac}") if frac else Decimal(whole)


def find_amount(text: str) -> Found | None:
    """The first amount of money in ``text``: an :class:`Amount` (exact value, currency if named).

    "miljoner", "MSEK" and "M" scale the number; a bare number is an amount with no currency.

    >>> find_amount("13 857 478 kr").value
    Amount(value=Decimal('13857478'), currency='SEK')
    >>> find_amount("EU contribution: 2 130 769,50 € (60%)").value
    Amount(value=Decimal('2130769.50'), currency='EUR')
    >>> find_amount("ca 12 miljoner kronor").value
    Amount(value=Decimal('12000000'), currency='SEK')
    >>> find_amount("€3.0M").value
    Amount(value=Decimal('3000000.0'), currency='EUR')
    >>> find_amount("150st, varav 40st kvinnor").value
    Amount(value=Decimal('150'), currency=None)
    """
    text = text.translate(_SPACES)  # one space for every kind, offsets unchanged
    for match in _AMOUNT_RE.finditer(text):
        if match.end() < len(text) and text[match.end() - 1].isdigit() and text[match.end()] == "%":
            continue
        number = _number(match.group("number"), match.group("sep"))
        scale = (match.group("scale") or "").casefold().rstrip(".")
        if scale:
            number *= _SCALES[scale]
        currency = None
        if match.group("sek") or match.group("pre_sek") or scale in ("mkr", "msek", "mnkr", "tkr"):
            currency = "SEK"
        elif match.group("eur") or match.group("pre_eur") or "€" in match.group(0):
            currency = "EUR"
        end = match.end()
        while end > match.start() and text[end - 1].isspace():
            end -= 1
        return Found(Amount(number, currency), match.start(), end)
    return None


_PERCENT_RE = re.compile(r"(?<![0-9.,])(?P<int>[0-9]{1,3})(?:[,.](?P<frac>[0-9]{1,4}))?\s?"
                         r"(?:%|procent\b|percent\b|per cent\b)", re.I)


def find_percent(text: str) -> Found | None:
    """The first percentage, as a fraction: ``"(60%)"`` → ``0.6``; ``"50 procent"`` → ``0.5``.

    >>> find_percent("a co-funding rate of 50%.").value
    Decimal('0.5')
    """
    match = _PERCENT_RE.search(text)
    if not match:
        return None
    frac = match.group("frac")
    value = Decimal(f"{match.group('int')}.{frac}") if frac else Decimal(match.group("int"))
    return Found((value / 100).normalize(), match.start(), match.end())


_INT_RE = re.compile(r"(?<![0-9])[0-9]{1,3}(?:[ \u00a0][0-9]{3})+(?![0-9])|(?<![0-9])[0-9]+(?![0-9])")


def find_int(text: str) -> Found | None:
    """The first whole number (``"150st, varav 40st"`` → 150; ``"1 600"`` → 1600).

    >>> find_int("150st, varav 40st kvinnor").value
    150
    """
    match = _INT_RE.search(text)
    if not match:
        return None
    return Found(int(re.sub(r"\s", "", match.group(0))), match.start(), match.end())


# --- contact details and identifiers -------------------------------------------------------------

_EMAIL_RE = re.compile(r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")


def find_email(text: str) -> Found | None:
    """The first e-mail address.

    >>> find_email("Tel. 0647-164 48 Mail asa.wiklund@are.se").value
    'asa.wiklund@are.se'
    """
    for match in _EMAIL_RE.finditer(text):
        try:
            return Found(n.parse_email(match.group(0)), match.start(), match.end())
        except NormaliseError:
            continue
    return None


# The digits of a telephone number and what is written between them; the number, with its edges.
PHONE_DIGITS = r"[0-9][0-9 ()\-./\u00a0]{5,18}[0-9]"
_PHONE_RE = re.compile(rf"(?<![\w+])(?:\+|00)?{PHONE_DIGITS}(?![0-9])")


def find_phone(text: str) -> Found | None:
    """The first telephone number, in E.164 form (a number without a country code is Swedish).

    >>> find_phone("Tel. 0647-164 48 Mail x@y.se").value
    '+4664716448'
    """
    for match in _PHONE_RE.finditer(text):
        written = match.group(0)
        if find_date(written) or len(re.sub(r"[^0-9]", "", written)) < 7:
            continue
        country = None if written.startswith(("+", "00")) else "SE"
        try:
            return Found(n.parse_phone(written.replace("00", "+", 1) if written.startswith("00") else written,
                                       country), match.start(), match.end())
        except NormaliseError:
            continue
    return None


_ORG_NUMBER_RE = re.compile(r"(?<![0-9])(?:16)?[0-9]{6}-?[0-9]{4}(?![0-9])")


def find_org_number(text: str) -> Found | None:
    """A Swedish organisationsnummer whose check digit holds.

    >>> find_org_number("212000-1850, Karlstads kommun").value
    '2120001850'
    """
    for match in _ORG_NUMBER_RE.finditer(text):
        try:
            return Found(n.parse_org_number(match.group(0)), match.start(), match.end())
        except NormaliseError:
            continue
    return None


_POSTAL_CITY_RE = re.compile(r"(?<![0-9])(?:SE-?\s?|S-)?(?P<code>[1-9][0-9]{2}\s?[0-9]{2})(?![0-9])"
                             r"(?:\s+(?P<city>[A-ZÅÄÖ][\wåäöÅÄÖ-]+(?:\s[A-ZÅÄÖ][\wåäöÅÄÖ-]+)?))?")


def find_postal_city(text: str) -> Found | None:
    """A Swedish postal code and the town after it: ``"651 84 Karlstad"`` → ``("65184", "Karlstad")``.

    >>> find_postal_city("Arbetsmarknads- och socialförvaltningen, 651 84 Karlstad, Sweden").value
    ('65184', 'Karlstad')
    >>> find_postal_city("651\u00a084 Karlstad").value
    ('65184', 'Karlstad')
    """
    match = _POSTAL_CITY_RE.search(text)
    if not match:
        return None
    # "651 84" with any space between (a page's no-break space too) is the code 65184.
    return Found(("".join(match.group("code").split()), match.group("city")), match.start(), match.end())


# ESF+ 2021–2027 "22-010-S04"; ESF 2014–2020 "2018/00566"; 2007–2013 "2008-3040099" and the like.
_PROJECT_NUMBER_RE = re.compile(
    r"(?<![\w/-])(?:[0-9]{2}-[0-9]{3}-S[0-9]{2}|(?:19|20)[0-9]{2}/[0-9]{4,5}|(?:19|20)[0-9]{2}-[0-9]{7})(?![\w/-])"
)


def find_project_number(text: str) -> Found | None:
    """A project number in one of the forms the Swedish project banks use.

    >>> find_project_number("Dnr: 23-059-S01.").value, find_project_number("Dnr: 23-059")
    ('23-059-S01', None)
    """
    match = _PROJECT_NUMBER_RE.search(text)
    return Found(match.group(0), match.start(), match.end()) if match else None


_BOOL = {"ja": True, "yes": True, "nej": False, "no": False}


def find_bool(text: str) -> Found | None:
    """``Ja``/``Nej`` (``Yes``/``No``) as the first word."""
    match = re.match(r"\s*(ja|nej|yes|no)\b", text, re.I)
    return Found(_BOOL[match.group(1).casefold()], match.start(1), match.end(1)) if match else None


_NUTS_RE = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}[0-9A-Z]{0,3}(?![A-Za-z0-9])")


def find_nuts(text: str) -> Found | None:
    """A NUTS code such as ``SE31`` (``SE0`` is kept as written: mapping decides what it means)."""
    match = _NUTS_RE.search(text.strip().upper())
    if not match:
        return None
    offset = len(text) - len(text.lstrip())
    return Found(match.group(0), match.start() + offset, match.end() + offset)


_CODE_RE = re.compile(r"(?<!\w)(?P<code>[A-Z][0-9]?[A-Z]?|[0-9]{1,3}(?:\.[0-9]{1,2})?)(?![\w.])")


def find_code(text: str) -> Found | None:
    """A short code at the start of a value: ``A``, ``A2B``, ``2``, ``2.1``, ``140``; also after a word
    that repeats the label (``Programområde 2 Ökat arbetskraftsutbud`` → ``2``).

    >>> find_code("1.1 Kompetensförsörjning").value, find_code("A1: Breddad rekrytering").value
    ('1.1', 'A1')
    >>> find_code("Programområde 2 Ökat arbetskraftsutbud").value
    '2'
    """
    match = re.match(r"\s*(?:[A-ZÅÄÖa-zåäö-]+\s+)?(?P<code>[A-Z][0-9]?[A-Z]?|[0-9]{1,3}(?:\.[0-9]{1,2})?)(?![\w.])",
                     text)
    if not match:
        return None
    return Found(match.group("code"), match.start("code"), match.end("code"))


# What a value is trimmed of: white space (every character str.isspace takes, as regex's \s does) and
# the punctuation around a value; str.strip with these is 3x faster than a regex substitution.
_SPACE_CHARS = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
                "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
_LEADING = _SPACE_CHARS + ":–—-"
_TRAILING = _SPACE_CHARS + ".;,"


def find_text(text: str) -> Found | None:
    """The value as written, trimmed of surrounding space and a closing full stop.

    >>> find_text("  Sandvikens kommun. ")
    Found(value='Sandvikens kommun', start=2, end=19)
    """
    start = len(text) - len(text.lstrip(_LEADING))
    end = len(text.rstrip(_TRAILING))
    if end <= start:
        return None
    value = n.clean_text(text[start:end])
    return Found(value, start, end) if value else None


FINDERS: dict[str, Finder] = {
    "text": find_text,
    "date": find_date,
    "period": find_period,
    "amount": find_amount,
    "percent": find_percent,
    "int": find_int,
    "email": find_email,
    "phone": find_phone,
    "org_number": find_org_number,
    "postal_city": find_postal_city,
    "project_number": find_project_number,
    "bool": find_bool,
    "nuts": find_nuts,
    "code": find_code,
}
