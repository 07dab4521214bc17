"""The typed hand-off between parsing and mapping: one :class:`ProjectRecord` per project in a text.

A record holds only what its text states, already normalised (ISO dates, exact amounts, booleans);
a field the text does not state is ``None`` (or an empty tuple) and is left out of the JSON form.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import operator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, TypeVar

__all__ = ["SourceFormat", "DocumentKind", "Origin", "Evidence", "ProjectRecord", "ParseResult", "SOURCE_FORMATS",
           "pickled_by_fields"]

T = TypeVar("T")


def pickled_by_fields(cls: type[T]) -> type[T]:
    """Pickle a dataclass of two fields or more as a call of its constructor with its field values.

    Python 3.11 pickles a slots dataclass through the dataclasses module's ``__getstate__`` and
    ``__setstate__``, which call ``fields()`` for every object. What goes between a build's processes
    (parse results, prepared sources: 100,000 of each at 100,000 sources) unpickled 2x faster this way.
    """
    values = operator.attrgetter(*(f.name for f in dataclasses.fields(cls)))  # type: ignore[arg-type]

    def __reduce__(self: T) -> tuple[type[T], tuple[Any, ...]]:
        return cls, values(self)

    cls.__reduce__ = __reduce__  # type: ignore[assignment,method-assign]
    return cls

# The layout a text was seen to have: it names what was seen, it never decides what is read.
SourceFormat = Literal["esf_plus_2021", "esf_2007", "partner_search", "other"]
SOURCE_FORMATS: tuple[SourceFormat, ...] = ("esf_plus_2021", "esf_2007", "partner_search", "other")
# What a record is about: a project, a call for proposals, or a search for project partners.
DocumentKind = Literal["project", "call", "partner_search"]

# Scalars a raw field may carry: text as written, or a list of items as written.
RawValue = str | tuple[str, ...]


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Origin:
    """Where a value's text is in the file as published, when the engine read a text made from it.

    ``html``: ``start`` and ``end`` are character offsets into the page's decoded source (the text there
    is the value's, with its markup and entities); ``pdf``: the first and last page (1-based); ``docx``:
    the first and last paragraph (1-based, every ``w:p`` of the main part in document order, as XPath's
    ``(//w:p)[N]`` counts them).
    """

    kind: Literal["html", "pdf", "docx"]
    start: int
    end: int

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "start": self.start, "end": self.end}


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Evidence:
    """Where a value was read: its key, the character span of the decoded text and the text there, its
    line and column (1-based), the label it was read under (as written; ``prose`` for a sentence,
    ``heading`` for a title line, ``list`` for a list item), and how sure the reading is (0..1). For a
    value read from an HTML page, a PDF or a DOCX, the span, line and column are those of the text the
    engine read, and ``origin`` says where that text is in the file."""

    key: str
    start: int
    end: int
    quote: str
    line: int
    column: int
    label: str
    confidence: float
    origin: Origin | None = None

    def to_json(self) -> dict[str, Any]:
        out = {"key": self.key, "start": self.start, "end": self.end, "quote": self.quote, "line": self.line,
               "column": self.column, "label": self.label, "confidence": self.confidence}
        if self.origin is not None:
            out["origin"] = self.origin.to_json()
        return out


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class ProjectRecord:
    """What one source text says about one project (or one partner-search call)."""

    source_format: SourceFormat
    language: str | None = None
    title: str | None = None
    project_number: str | None = None
    fund: str | None = None
    programme: str | None = None
    programme_area: str | None = None
    specific_objective: str | None = None
    project_phase: str | None = None
    owner_name: str | None = None
    owner_org_number: str | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    period_text: str | None = None
    eu_cofinancing_rate: Decimal | None = None
    granted_amount_sek: Decimal | None = None
    total_budget_sek: Decimal | None = None
    participants: int | None = None
    region_name: str | None = None
    nuts_code: str | None = None
    postal_code: str | None = None
    city: str | None = None
    intervention_type: str | None = None
    contact_name: str | None = None
    contact_email: str | None = None
    contact_phone: str | None = None
    co_financiers: tuple[str, ...] = ()
    partners: tuple[str, ...] = ()
    municipalities: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    deadline: dt.date | None = None
    child_poverty_theme: bool | None = None
    strategic_importance: bool | None = None
    document_kind: DocumentKind | None = None
    total_budget_eur: Decimal | None = None
    eu_contribution_eur: Decimal | None = None
    managing_authority: str | None = None
    source_url: str | None = None
    kohesio_item: str | None = None  # the project's item in Kohesio's knowledge graph, "Q4038989"
    # Fields the text states that have no key above, by label (unknown labels as written).
    extra: tuple[tuple[str, RawValue], ...] = field(default=())
    # Where each value was read (several for a list); empty for records not read from a text.
    evidence: tuple[Evidence, ...] = field(default=())

    def extra_dict(self) -> dict[str, RawValue]:
        return dict(self.extra)

    def to_json(self) -> dict[str, Any]:
        """The record as JSON-ready data: stated keys only, in field order.

        >>> ProjectRecord("esf_2007", title="X", participants=3).to_json()
        {'source_format': 'esf_2007', 'title': 'X', 'participants': 3}
        """
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is None or value == () or f.name == "evidence":
                continue
            if f.name == "extra":
                out["extra"] = {k: _json_value(v) for k, v in value}
            else:
                out[f.name] = _json_value(value)
        return out


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        # Exact: integral amounts as int; fractions as float only when the float prints back the same.
        if value == value.to_integral_value():
            return int(value)
        as_float = float(value)
        return as_float if Decimal(repr(as_float)) == value else str(value)
    if isinstance(value, tuple):
        return [_json_value(v) for v in value]
    return value


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class ParseResult:
    """The records read from one source text, and what the reader noticed (unknown labels, repairs)."""

    source: str
    source_format: SourceFormat
    records: tuple[ProjectRecord, ...]
    warnings: tuple[str, ...] = ()
