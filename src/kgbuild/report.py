"""The validation report: findings with a :class:`Severity`, in one order, for ``build`` and ``validate`` alike.

Why a module of its own: the report is what the validation stage (:mod:`kgbuild.validation`) hands to
the pipeline, the CLI and the tests, and what the compiled checks (:mod:`kgbuild.shacl_sparql`) produce
in worker processes. It imports no RDF library at all, so a worker, the CLI or a reader of a report
never loads rdflib or pyshacl (the test oracle, :func:`kgbuild.validation.validate_quads`, alone does).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass

__all__ = ["Severity", "Finding", "ValidationReport", "finding_order", "refused"]


class Severity(enum.Enum):
    VIOLATION = "Violation"
    WARNING = "Warning"
    INFO = "Info"


@dataclass(frozen=True, slots=True)
class Finding:
    """One SHACL result, tied to the source file its focus node came from.

    :param source: the source file name (the line and column of a value are found from it by the CLI).
    :param severity: a violation keeps the source out of the store; warnings and infos do not.
    :param focus_node: the IRI of the node the result is about.
    :param path: the property (``sh:path``) the result is about, or ``""`` for a node shape's result.
    :param message: the shape's ``sh:message`` (with ``{?var}`` filled in for SPARQL constraints).
    :param value: the offending value as pyshacl writes it, or ``""``.

    >>> Finding("a.txt", Severity.WARNING, "http://example.org/p", "", "no title").to_json()["severity"]
    'Warning'
    """

    source: str
    severity: Severity
    focus_node: str
    path: str
    message: str
    value: str = ""

    def to_json(self) -> dict[str, str]:
        data = asdict(self)
        data["severity"] = self.severity.value
        return data


def finding_order(f: Finding) -> tuple[str, ...]:
    """The order of findings in a report: by source, focus node, path, message, value, severity."""
    return f.source, f.focus_node, f.path, f.message, f.value, f.severity.value


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """All findings of a validation run; ``conforms`` only when there is no violation."""

    findings: tuple[Finding, ...]

    @classmethod
    def sorted(cls, findings: tuple[Finding, ...] | list[Finding]) -> ValidationReport:
        """A report of ``findings`` in :func:`finding_order` (every report the stage makes is)."""
        return cls(tuple(sorted(findings, key=finding_order)))

    @property
    def conforms(self) -> bool:
        return not self.violations

    @property
    def violations(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.VIOLATION)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.WARNING)

    def to_json(self) -> str:
        return json.dumps({"conforms": self.conforms, "violations": len(self.violations),
                           "warnings": len(self.warnings), "results": [f.to_json() for f in self.findings]},
                          ensure_ascii=False, indent=2)

    def to_text(self) -> str:
        lines = [f"{f.severity.value}: {f.source}: {f.focus_node} {f.path or '-'}: {f.message}"
                 + (f" (value: {f.value})" if f.value else "") for f in self.findings]
        lines.append(f"{len(self.violations)} violation(s), {len(self.warnings)} warning(s)")
        return "\n".join(lines)


def refused(findings: Iterable[Finding]) -> bool:
    """Whether a source with these findings stays out of the store (any violation)."""
    return any(f.severity is Severity.VIOLATION for f in findings)
