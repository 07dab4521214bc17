"""Validation: the quads of each source + the SHACL shapes → a typed :class:`ValidationReport`.

Input: mapped sources (pyoxigraph quads) and the reference data they point to. Output: findings
with a :class:`Severity`, the focus node, the path, the message and the source file the node came
from. Each source is validated on its own, together with just the reference facts it links to
(its municipalities, their counties, their NUTS regions): that is what makes validation cheap to run
per source, in parallel, and only for what changed. Real-data findings (a national project, a
municipality outside the declared region, ...) are warnings; only violations block publishing.

This is the only module that imports rdflib and pyshacl.
"""

from __future__ import annotations

import enum
import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass

import pyshacl
from pyoxigraph import NamedNode, Quad, RdfFormat, Triple, serialize
from rdflib import Graph
from rdflib.namespace import SH
from rdflib.term import Node

from kgbuild.resources import shapes_path

__all__ = ["Severity", "Finding", "ValidationReport", "ReferenceIndex", "finding_order", "validate_quads",
           "load_shapes"]


class Severity(enum.Enum):
    VIOLATION = "Violation"
    WARNING = "Warning"
    INFO = "Info"


@dataclass(frozen=True, slots=True)
class Finding:
    """One SHACL result, tied to the source file its focus node came from."""

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


@functools.cache
def load_shapes() -> Graph:
    """The SHACL shapes in ``shapes/*.ttl``, parsed once."""
    graph = Graph()
    for path in sorted(shapes_path().glob("*.ttl")):
        graph.parse(path, format="turtle")
    return graph


class ReferenceIndex:
    """Reference triples by subject, so that a source can be validated with just what it links to."""

    def __init__(self, quads: Iterable[Quad]) -> None:
        self._by_subject: dict[NamedNode, list[Triple]] = {}
        for quad in quads:
            if isinstance(quad.subject, NamedNode):
                self._by_subject.setdefault(quad.subject, []).append(Triple(quad.subject, quad.predicate, quad.object))

    def closure(self, triples: Iterable[Triple]) -> list[Triple]:
        """The reference triples reachable from the objects of ``triples`` (municipality → county → NUTS...)."""
        out: list[Triple] = []
        seen: set[NamedNode] = set()
        todo = [t.object for t in triples if isinstance(t.object, NamedNode)]
        while todo:
            node = todo.pop()
            if node in seen or node not in self._by_subject:
                continue
            seen.add(node)
            for triple in self._by_subject[node]:
                out.append(triple)
                if isinstance(triple.object, NamedNode):
                    todo.append(triple.object)
        return out


def validate_quads(quads: Sequence[Quad], source: str, reference: ReferenceIndex | None = None,
                   shapes: Graph | None = None) -> list[Finding]:
    """Validate one source's quads against the shapes.

    :param quads: the source's public quads (one named graph).
    :param source: the source file name, recorded in each finding.
    :param reference: reference data the quads may link to (municipalities, counties, NUTS).
    :param shapes: the shapes graph (default: ``shapes/*.ttl``).
    :return: the findings about nodes of this source (not about the reference data).
    """
    triples = [Triple(q.subject, q.predicate, q.object) for q in quads]
    data = triples + (reference.closure(triples) if reference else [])
    graph = Graph()
    graph.parse(data=serialize(data, format=RdfFormat.N_TRIPLES) or b"", format="nt")
    _, results, _ = pyshacl.validate(graph, shacl_graph=shapes if shapes is not None else load_shapes(),
                                     inference="none", advanced=True, allow_warnings=True)
    own_subjects = {t.subject.value for t in triples if isinstance(t.subject, NamedNode)}
    findings = []
    for result in results.subjects(predicate=SH.resultSeverity):
        focus = _text(results.value(result, SH.focusNode))
        if focus not in own_subjects:
            continue
        severity = _severity(results.value(result, SH.resultSeverity))
        findings.append(Finding(
            source=source,
            severity=severity,
            focus_node=focus,
            path=_text(results.value(result, SH.resultPath)),
            message=_text(results.value(result, SH.resultMessage)) or "does not conform",
            value=_text(results.value(result, SH.value)),
        ))
    return sorted(findings, key=lambda f: (f.focus_node, f.path, f.message, f.value))


def _severity(node: Node | None) -> Severity:
    names: Mapping[object, Severity] = {SH.Violation: Severity.VIOLATION, SH.Warning: Severity.WARNING,
                                        SH.Info: Severity.INFO}
    return names.get(node, Severity.VIOLATION)


def _text(node: Node | None) -> str:
    return "" if node is None else str(node)
