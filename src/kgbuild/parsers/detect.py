"""Format detection: which parser reads a text, from the labels and headings it uses."""

from __future__ import annotations

import re

from kgbuild.parsers.partner_search import HEADINGS
from kgbuild.records import SourceFormat

__all__ = ["detect_format"]

# Labels only ESF+ 2021–2027 records use, as label lines ("Berörd fond:").
_ESF_PLUS_RE = re.compile(
    r"^\s*(?:Berörd fond|Program CCI|Unionens medfinansieringsgrad|NUTS-2 kod|Specifikt mål"
    r"|Sekundärtema\b.*|Interventionstyp|Insats av strategisk betydelse|Projektägare organisationsnummer"
    r"|Stödmottagare (?:postnr|ort)|Land som berörs)\s*:",
    re.I | re.M,
)
# Labels of project-bank pages (2007–2013, 2014–2020), glued to the value or not.
_PROJECT_BANK_RE = re.compile(
    r"^\s*(?:Projektfas|Projektperiod|Kontaktperson|Telefonnummer|Beviljat ESF-stöd|Total projektbudget"
    r"|Projektägare(?!\s+organisationsnummer)|Programområde)(?!\s*:\s*$)",
    re.I | re.M,
)
_LIST_HEADINGS_RE = re.compile(r"^\s*(?:Medfinansiärer|Samarbetspartners|Kommun(?:er)?)\s*$", re.I | re.M)


def detect_format(text: str) -> SourceFormat | None:
    """The format of a source text, or ``None`` when it is none of the three.

    >>> detect_format("\\tProgramme:\\n\\tErasmus+\\n\\tDeadline:\\n\\t1 March 2015\\n")
    'partner_search'
    >>> detect_format("Hello") is None
    True
    """
    scores: dict[SourceFormat, int] = {
        "esf_plus_2021": len(set(m.group(0).casefold() for m in _ESF_PLUS_RE.finditer(text))),
        "esf_2007": len(set(m.group(0)[:12].casefold() for m in _PROJECT_BANK_RE.finditer(text)))
        + len(_LIST_HEADINGS_RE.findall(text)),
        "partner_search": _partner_search_score(text),
    }
    best = max(scores, key=lambda k: scores[k])
    return best if scores[best] >= 2 else None


def _partner_search_score(text: str) -> int:
    found = set()
    for line in text.split("\n"):
        if len(line) > 80:  # headings are short; prose is skipped unread
            continue
        key = line.strip().rstrip(":").strip().casefold()
        head = line.strip().split(":", 1)[0].strip().casefold()
        for candidate in (key, head):
            if candidate in HEADINGS and len(candidate) > 4:
                found.add(HEADINGS[candidate])
    return len(found)
