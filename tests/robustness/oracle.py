"""The oracle of the parser properties: every value a record holds is stated by the text it came from.

A parser may normalise what it reads (ISO dates, exact amounts, E.164 telephone numbers, ten-digit
organisation numbers, upper-case NUTS codes), but it must never invent: each value is checked against
the text in the form that normalisation preserves.

- text (titles, names, organisations, municipalities, project numbers ...): occurs in the text once runs
  of white space are collapsed on both sides;
- numbers (amounts, rates, participants, organisation numbers, postal codes, telephone numbers): their
  digits occur in the text's ASCII digits;
- dates: written in the text in ISO form or in English words (day, month name, year);
- e-mail addresses, NUTS codes, funds: occur ignoring case (and, for NUTS codes, spaces);
- booleans: the text says ja/nej/yes/no/true/false somewhere.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import phonenumbers

from kgbuild.extract.lexicon import lexicon
from kgbuild.extract.reading import MAX_FIELD_LINE
from kgbuild.records import ProjectRecord

__all__ = ["problems", "squash"]

_TEXT_FIELDS = ("title", "project_number", "programme", "programme_area", "specific_objective", "project_phase",
                "owner_name", "period_text", "region_name", "city", "intervention_type", "contact_name")
_LIST_FIELDS = ("co_financiers", "partners", "municipalities", "keywords")
_DATE_FIELDS = ("start_date", "end_date", "deadline")
_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
           "november", "december")
_BOOLEAN_WORDS = re.compile(r"\b(?:ja|nej|yes|no|true|false)\b", re.I)


def squash(text: str) -> str:
    """Runs of white space (any Unicode white space, line breaks too) as one space, trimmed."""
    return " ".join(text.split())


def _digits(text: str) -> str:
    return re.sub("[^0-9]", "", text)


def _decimal_digits(value: Decimal) -> str:
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    written = "".join(map(str, digits)) + "0" * max(exponent, 0)
    return written.lstrip("0") or "0"


def _date_written(day: dt.date, text: str, folded: str) -> bool:
    if day.isoformat() in text:
        return True
    month = _MONTHS[day.month - 1]
    return (f"{day.year:04d}" in text and (month in folded or month[:3] in folded)
            and re.search(rf"(?<![0-9]){day.day}(?![0-9])|(?<![0-9])0{day.day}(?![0-9])", text) is not None)


def problems(record: ProjectRecord, text: str) -> list[str]:
    """What ``record`` holds that ``text`` does not state (empty when every value is accounted for)."""
    squashed = squash(text)
    folded = squashed.casefold()
    digits = _digits(text)
    found: list[str] = []

    def need(ok: bool, field: str, value: object) -> None:
        if not ok:
            found.append(f"{field}={value!r}")

    for field in _TEXT_FIELDS:
        value = getattr(record, field)
        if value is not None:
            need(isinstance(value, str) and bool(squash(value)) and squash(value) in squashed, field, value)
    for field in _LIST_FIELDS:
        for item in getattr(record, field):
            need(bool(squash(item)) and squash(item) in squashed, field, item)
    for field in _DATE_FIELDS:
        value = getattr(record, field)
        if value is not None:
            need(_date_written(value, text, folded), field, value)
    for field in ("granted_amount_sek", "total_budget_sek"):
        value = getattr(record, field)
        if value is not None:
            need(value >= 0 and _decimal_digits(value) in digits, field, value)
    if record.eu_cofinancing_rate is not None:
        rate = record.eu_cofinancing_rate
        need(rate >= 0 and _decimal_digits((rate * 100).normalize()) in digits, "eu_cofinancing_rate", rate)
    if record.participants is not None:
        need(record.participants >= 0 and str(record.participants) in digits, "participants", record.participants)
    if record.owner_org_number is not None:
        need(re.fullmatch("[0-9]{10}", record.owner_org_number) is not None and record.owner_org_number in digits,
             "owner_org_number", record.owner_org_number)
    if record.postal_code is not None:
        need(re.fullmatch("[0-9]{5}", record.postal_code) is not None and record.postal_code in digits,
             "postal_code", record.postal_code)
    if record.contact_phone is not None:
        number = phonenumbers.parse(record.contact_phone)
        need(record.contact_phone.startswith("+") and str(number.national_number) in digits,
             "contact_phone", record.contact_phone)
    if record.contact_email is not None:
        need(record.contact_email.casefold() in folded, "contact_email", record.contact_email)
    if record.nuts_code is not None:
        need(record.nuts_code.casefold() in "".join(text.split()).casefold(), "nuts_code", record.nuts_code)
    if record.fund is not None:
        # Partner searches name a fund by its programme ("Erasmus plus" is the fund Erasmus+).
        by_pattern = any(record.fund in short.values() and pattern.search(squashed)
                         for _, short, pattern in lexicon().funds)
        need(squash(record.fund).casefold() in folded or by_pattern, "fund", record.fund)
    for field in ("child_poverty_theme", "strategic_importance"):
        if getattr(record, field) is not None:
            need(_BOOLEAN_WORDS.search(text) is not None, field, getattr(record, field))
    for label, raw in record.extra:
        for value in (raw,) if isinstance(raw, str) else raw:
            for line in value.split("\n"):
                need(squash(line) in squashed, f"extra[{label!r}]", line[:MAX_FIELD_LINE])
    return found
