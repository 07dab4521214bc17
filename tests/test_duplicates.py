"""The same project number in several sources: identical statements are noted, conflicts are named."""

from __future__ import annotations

from pathlib import Path

from kgbuild.mapping import Iris
from kgbuild.pipeline import duplicate_projects, map_sources, read_sources
from tests.conftest import SOURCES

RECORD = SOURCES / "001_49fdefbf50581b3b.txt"


def _warnings(tmp_path: Path, texts: dict[str, str]) -> list[str]:
    for name, text in texts.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    parsed, failures = read_sources(sorted(tmp_path.glob("*.txt")))
    assert not failures
    return duplicate_projects(map_sources(parsed, Iris("http://127.0.0.1:8000/")))


def test_identical_duplicates_are_noted(tmp_path: Path) -> None:
    text = RECORD.read_text(encoding="utf-8")
    [warning] = _warnings(tmp_path, {"a.txt": text, "b.txt": text})
    assert "22-010-S04" in warning and "identically by a.txt, b.txt" in warning


def test_conflicting_duplicates_name_what_differs(tmp_path: Path) -> None:
    text = RECORD.read_text(encoding="utf-8")
    changed = text.replace("Antal deltagare:\n1600", "Antal deltagare:\n1700")
    assert changed != text
    [warning] = _warnings(tmp_path, {"a.txt": text, "b.txt": changed})
    assert "differently by a.txt, b.txt" in warning and "plannedParticipants" in warning
    assert "title" not in warning


def test_no_duplicates_no_warning(tmp_path: Path) -> None:
    assert _warnings(tmp_path, {"a.txt": RECORD.read_text(encoding="utf-8")}) == []
