"""Where a validation finding's value was read: its line and column in the source text.

A finding names a focus node, a property and a value; the records read from the source keep each
value's evidence under the record key the property is mapped from. This module joins the two, so
that a message can point at the line a user has to look at.
"""

from __future__ import annotations

from collections.abc import Sequence

from kgbuild import reference as ref
from kgbuild.records import Evidence, ProjectRecord
from kgbuild.vocab import DCT, KG, SCHEMA

__all__ = ["KEYS_OF_PROPERTY", "locate"]

# The record keys each property of the graph is mapped from (see kgbuild.mapping).
KEYS_OF_PROPERTY: dict[str, tuple[str, ...]] = {
    DCT + "title": ("title",),
    DCT + "identifier": ("project_number",),
    KG + "fund": ("fund",),
    KG + "programme": ("programme",),
    KG + "programmeArea": ("programme_area",),
    KG + "specificObjective": ("specific_objective",),
    KG + "interventionType": ("intervention_type",),
    KG + "projectPhase": ("project_phase",),
    SCHEMA + "startDate": ("start_date",),
    SCHEMA + "endDate": ("end_date",),
    KG + "periodText": ("period_text",),
    KG + "euCofinancingRate": ("eu_cofinancing_rate",),
    KG + "plannedParticipants": ("participants",),
    KG + "grantedAmount": ("granted_amount_sek", "eu_contribution_eur"),
    KG + "totalBudget": ("total_budget_sek", "total_budget_eur"),
    KG + "esfRegion": ("region_name",),
    KG + "nutsRegion": ("nuts_code", "region_name"),
    KG + "municipality": ("municipalities",),
    KG + "deadline": ("deadline",),
    KG + "childPovertyTheme": ("child_poverty_theme",),
    KG + "strategicImportance": ("strategic_importance",),
    KG + "hasParticipation": ("owner_name", "co_financiers", "partners"),
}


def locate(records: Sequence[ProjectRecord], path: str, value: str = "", focus: str = "") -> Evidence | None:
    """The evidence of the value a finding is about, or ``None`` when the records keep none for it.

    Of several records, the one whose project number the focus node's IRI holds; of several values of a
    list (the municipalities), the one the finding's value names.

    >>> from kgbuild.records import Evidence, ProjectRecord
    >>> seen = Evidence("end_date", 40, 50, "2020-01-01", 3, 1, "Slutdatum", 0.9)
    >>> record = ProjectRecord("other", end_date=None, evidence=(seen,))
    >>> locate([record], SCHEMA + "endDate").line
    3
    """
    keys = KEYS_OF_PROPERTY.get(path, ())
    if not keys:
        return None
    chosen = [r for r in records if r.project_number and r.project_number in focus] or list(records)
    found = [e for r in chosen for e in r.evidence if e.key in keys]
    if len(found) > 1 and value:
        named = [e for e in found if _names(e, value)]
        found = named or found
    return found[0] if found else None


def _names(evidence: Evidence, value: str) -> bool:
    """Whether the text read names the value: as written, or as the municipality its code stands for."""
    if evidence.quote.casefold() in value.casefold() or value.casefold() in evidence.quote.casefold():
        return True
    municipality = ref.resolve_municipality(evidence.quote)
    return municipality is not None and value.rstrip("/").endswith("/" + municipality.code)
