"""Parser for EU partner-search announcements in English (Leonardo da Vinci, Erasmus+, Europe for Citizens...).

Input: a call with headings on lines of their own (often tab-indented): Programme, Deadline,
Contact person (Name:, E-mail:, Telephone:, Address:...), Organisation, Project idea (Working title:...),
Partners searched, Key words, Project period. Output: one :class:`ProjectRecord` per call.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from kgbuild import normalise as n
from kgbuild.errors import NormaliseError
from kgbuild.parsers.common import (
    MAX_FIELD_LINE,
    RecordBuilder,
    is_chrome,
    looks_like_label,
    paragraphs,
    split_postal_city,
)
from kgbuild.records import ProjectRecord

__all__ = ["parse_partner_search", "HEADINGS", "fund_of_programme"]

# Heading as written (casefolded, no colon) → section name.
HEADINGS = {
    "programme": "programme", "program": "programme", "funding programme": "programme",
    "eu programme": "programme", "programme and action": "programme", "action": "programme",
    "more information": "more_information", "further information": "more_information",
    "deadline": "deadline", "deadlines": "deadline", "application deadline": "deadline",
    "deadline for applications": "deadline", "submission deadline": "deadline",
    "contact person": "contact", "contact": "contact", "contact details": "contact",
    "contact information": "contact",
    "organisation": "organisation", "organization": "organisation", "applicant organisation": "organisation",
    "applicant organization": "organisation", "about the organisation": "organisation",
    "about the organization": "organisation", "organisation profile": "organisation",
    "project idea": "project_idea", "project description": "project_idea", "project summary": "project_idea",
    "description of the project": "project_idea", "project proposal": "project_idea",
    "project title": "title", "title of the project": "title",
    "partners searched": "partners_searched", "partners sought": "partners_searched",
    "partner(s) sought": "partners_searched", "partners wanted": "partners_searched",
    "looking for partners": "partners_searched", "partner profile": "partners_searched",
    "type of partners": "partners_searched", "partners": "partners_searched",
    "key words": "keywords", "keywords": "keywords",
    "project period": "period", "project duration": "period", "duration": "period", "period": "period",
    "other information": "other_information", "additional information": "other_information",
}
# One-word headings are headings with a value on the same line only when listed here; alone on their
# line, any heading is one. ("Contact: ..." inside a text is prose, "Deadline: ..." is a heading.)
_INLINE_HEADINGS = {"programme", "program", "deadline", "keywords", "duration"}

# Most specific first: "Lifelong Learning Programme, Leonardo da Vinci" is the Leonardo da Vinci fund.
_FUNDS = (
    ("Leonardo da Vinci", r"leonardo\s+da\s+vinci"),
    ("Comenius", r"\bcomenius\b"),
    ("Grundtvig", r"\bgrundtvig\b"),
    ("Erasmus+", r"\berasmus\s*(?:\+|plus\b)"),
    ("Erasmus", r"\berasmus\b"),
    ("Europe for Citizens", r"\beurope\s+for\s+citizens\b"),
    ("Creative Europe", r"\bcreative\s+europe\b"),
    ("Youth in Action", r"\byouth\s+in\s+action\b"),
    ("Horizon Europe", r"\bhorizon\s+europe\b"),
    ("Horizon 2020", r"\bhorizon\s*2020\b"),
    ("Interreg", r"\binterreg\b"),
    ("ESF+", r"\besf\s*\+|european\s+social\s+fund\s+plus"),
    ("ESF", r"\besf\b|european\s+social\s+fund"),
    ("ERDF", r"\berdf\b|european\s+regional\s+development\s+fund"),
    ("AMIF", r"\bamif\b|asylum,?\s+migration\s+and\s+integration\s+fund"),
    ("Lifelong Learning Programme", r"\blifelong\s+learning\s+programme\b"),
)

_CONTACT_KEYS = {
    "name": "contact_name", "contact person": "contact_name", "contact": "contact_name",
    "e-mail": "contact_email", "email": "contact_email", "e-mail address": "contact_email", "mail": "contact_email",
    "telephone": "contact_phone", "phone": "contact_phone", "tel": "contact_phone", "tel.": "contact_phone",
    "mobile": "contact_phone", "telephone number": "contact_phone",
    "title/profession": "extra:contact_title", "title": "extra:contact_title", "position": "extra:contact_title",
    "profession": "extra:contact_title", "function": "extra:contact_title",
    "address": "address", "postal address": "address",
    "website": "extra:website", "web": "extra:website", "homepage": "extra:website", "web site": "extra:website",
    "organisation": "owner_name", "organization": "owner_name", "name of organisation": "owner_name",
    "name of organization": "owner_name",
}
_TITLE_KEYS = {"working title", "project title", "title of the project", "title"}
_SUBKEY_RE = re.compile(r"^(?P<key>[A-Za-z][A-Za-z/().\- ]{0,40}?)\s*:\s*(?P<value>.*)$")
_SUBJECT_RE = re.compile(
    r"^(?P<name>(?:The\s+)?[A-ZÅÄÖ][\w'’&.\- ]{2,80}?)\s+"
    r"(?:is|are|was|has|have|works|represents|consists|operates|comprises)\b"
)
_SWEDEN_RE = re.compile(r"\b(?:Sweden|Sverige)\b", re.I)


def fund_of_programme(text: str) -> str | None:
    """The fund a programme name belongs to, most specific first.

    >>> fund_of_programme("Lifelong Learning Programme, Leonardo da Vinci - Partnership")
    'Leonardo da Vinci'
    >>> fund_of_programme("Erasmus+ KA2 Strategic Partnerships")
    'Erasmus+'
    """
    for fund, pattern in _FUNDS:
        if re.search(pattern, text, re.I):
            return fund
    return None


@dataclass
class _Section:
    name: str
    heading: str
    lines: list[str] = field(default_factory=list)


def parse_partner_search(text: str) -> tuple[list[ProjectRecord], list[str]]:
    """Read the partner-search call in ``text``; return the record and what was noticed."""
    builder = RecordBuilder("partner_search", "en")
    sections = _sections(text.split("\n"), builder)
    by_name: dict[str, list[_Section]] = {}
    for section in sections:
        by_name.setdefault(section.name, []).append(section)

    def body(name: str) -> str:
        return paragraphs(line for s in by_name.get(name, []) for line in s.lines)

    programme = n.clean_text(next((line for line in body("programme").split("\n") if line.strip()), ""))
    if programme:
        builder.set("programme", programme)
    fund = fund_of_programme(programme) or fund_of_programme(body("deadline"))
    if fund:
        builder.set("fund", fund)
    _read_deadline(builder, body("deadline"))
    _read_contact(builder, body("contact"))
    _read_organisation(builder, body("organisation"))
    _read_project_idea(builder, body("project_idea"))
    if body("title") and not builder.has("title"):
        builder.set("title", body("title").split("\n")[0])
    keywords = [item.strip(" .") for item in re.split(r"[,;\n]", body("keywords"))]
    builder.set_list("keywords", [k for k in keywords if k])
    _read_period(builder, body("period"))
    for name in ("partners_searched", "other_information", "more_information", "preamble"):
        if body(name):
            builder.extra[name] = body(name)
    for name, found in by_name.items():
        if name.startswith("unknown:"):
            builder.unknown(found[0].heading, paragraphs(line for s in found for line in s.lines))
    return [builder.build()], builder.warnings


def _heading(line: str) -> tuple[str, str, str] | None:
    """(section name, heading as written, inline value) when ``line`` is a heading."""
    if len(line) > MAX_FIELD_LINE:
        return None
    text = n.clean_text(line)
    whole = text.rstrip(":").strip().casefold()
    if whole in HEADINGS:
        return HEADINGS[whole], text.rstrip(":").strip(), ""
    head, colon, value = text.partition(":")
    key = head.strip().casefold()
    if colon and key in HEADINGS and (key in _INLINE_HEADINGS or " " in key) and value.strip():
        return HEADINGS[key], head.strip(), value.strip()
    return None


def _sections(lines: Sequence[str], builder: RecordBuilder) -> list[_Section]:
    sections = [_Section("preamble", "")]
    for line in lines:
        heading = _heading(line)
        current = sections[-1]
        if heading and heading[0] != current.name:
            name, written, inline = heading
            sections.append(_Section(name, written, [inline] if inline else []))
        elif looks_like_label(line) and line[:1] in "\t " and current.name != "contact":
            # An indented heading we do not know: keep its section, under its own name.
            written = n.clean_text(line).rstrip(":")
            sections.append(_Section(f"unknown:{written.casefold()}", written))
        elif not (current.name == "preamble" and is_chrome(line)):
            current.lines.append(line.strip())
    return sections


def _read_deadline(builder: RecordBuilder, text: str) -> None:
    if not text:
        return
    try:
        deadline = n.find_date(text)
    except NormaliseError as exc:
        builder.warnings.append(f"Deadline: {exc}; kept as written under extra")
        builder.extra["deadline_text"] = n.clean_text(text)
        return
    if deadline is None:
        builder.extra["deadline_text"] = n.clean_text(text)
    else:
        builder.values["deadline"] = deadline


def _subfields(text: str, keys: set[str] | dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """``Key: value`` lines whose key is known, and the remaining lines."""
    found: dict[str, str] = {}
    rest: list[str] = []
    for line in text.split("\n"):
        match = _SUBKEY_RE.match(n.clean_text(line))
        key = match.group("key").strip().casefold() if match else ""
        if match and key in keys and key not in found:
            found[key] = match.group("value").strip()
        else:
            rest.append(line)
    return found, rest


def _read_contact(builder: RecordBuilder, text: str) -> None:
    found, rest = _subfields(text, _CONTACT_KEYS)
    address = found.get("address", "")
    swedish = bool(_SWEDEN_RE.search(address)) or any(
        v.replace(" ", "").startswith("+46") for k, v in found.items() if _CONTACT_KEYS[k] == "contact_phone")
    for key, value in found.items():
        target = _CONTACT_KEYS[key]
        if target == "contact_email":
            builder.set(target, value, n.parse_email, label=key)
        elif target == "contact_phone":
            builder.set(target, value, lambda v: n.parse_phone(v, "SE" if swedish else None), label=key)
        elif target == "address":
            builder.extra["contact_address"] = n.clean_text(value)
            if swedish:
                _read_swedish_address(builder, value)
        else:
            builder.set(target, value, label=key)
    leftover = paragraphs(rest)
    if leftover and not found:
        builder.extra["contact"] = leftover
    elif leftover:
        builder.extra["contact_other"] = leftover


def _read_swedish_address(builder: RecordBuilder, address: str) -> None:
    """``"Arbetsmarknadsförvaltningen, 651 84 Karlstad, Sweden"`` → postal code and city."""
    for part in address.split(","):
        postal, city = split_postal_city(part)
        if postal:
            builder.set("postal_code", postal, n.parse_postal_code, label="Address")
            if city:
                builder.set("city", city, label="Address")
            return


def _read_organisation(builder: RecordBuilder, text: str) -> None:
    if not text:
        return
    builder.extra["organisation_description"] = text
    if builder.has("owner_name"):
        return
    found, _ = _subfields(text, {"name", "organisation", "organization", "name of organisation"})
    if found:
        builder.set("owner_name", next(iter(found.values())), label="Organisation")
        return
    first = n.clean_text(text.split("\n")[0])
    subject = _SUBJECT_RE.match(first)
    if subject:
        builder.set("owner_name", subject.group("name"), label="Organisation")
    elif len(first) <= 100 and not first.endswith("."):
        builder.set("owner_name", first, label="Organisation")


def _read_project_idea(builder: RecordBuilder, text: str) -> None:
    if not text:
        return
    found, rest = _subfields(text, _TITLE_KEYS)
    for key in ("working title", "project title", "title of the project", "title"):
        if key in found and not builder.has("title"):
            builder.set("title", found[key], label=key)
    summary = paragraphs(rest)
    if summary:
        builder.extra["summary"] = summary


def _read_period(builder: RecordBuilder, text: str) -> None:
    period = n.clean_text(text.split("\n")[0]) if text else ""
    if period:
        builder.set_period("Project period", period)
