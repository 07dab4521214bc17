"""The same project number in several sources: identical statements are noted, conflicts are named."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from pyoxigraph import DefaultGraph, NamedNode

from kgbuild.duplicates import duplicate_projects
from kgbuild.iris import Iris
from kgbuild.prepare import map_sources
from kgbuild.sources import read_sources
from kgbuild.store import open_read_only
from kgbuild.vocab import KG
from tests.conftest import BASE_IRI, SOURCES
from tests.test_cli import kgbuild

BASE = BASE_IRI

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


# --- two scrapes of one page in a store (issue 19.3) -------------------------------------------------


def _scrape(directory: Path, name: str, participants: int) -> Path:
    text = RECORD.read_text(encoding="utf-8").replace("Antal deltagare:\n1600", f"Antal deltagare:\n{participants}")
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def _participants_rows(store: Path) -> list[list[str]]:
    run = kgbuild("query", "--file", "queries/participants-by-objective-region.rq", "--format", "csv",
                  "--store", store)
    assert run.returncode == 0, run.stderr
    return list(csv.reader(io.StringIO(run.stdout)))[1:]


def test_two_scrapes_of_one_page_are_one_project_counted_once(tmp_path: Path) -> None:
    """Scraped in May (420 participants) and in June (500): one project, its own values in each source's
    graph, and the sum counts the current value (the source loaded last; in one build, the name that sorts
    last) once, never 920. ``kgbuild validate`` names both sources and both values."""
    pages, store = tmp_path / "pages", tmp_path / "kgstore"
    pages.mkdir()
    may, june = _scrape(pages, "vs-2024-05-01.txt", 420), _scrape(pages, "vs-2024-06-01.txt", 500)
    run = kgbuild("build", pages, "--store", store)
    assert run.returncode == 0, run.stderr
    assert "is stated differently by vs-2024-05-01.txt, vs-2024-06-01.txt" in run.stderr
    assert _participants_rows(store) == [["A2B", "SE31", "1", "500"]]
    served = open_read_only(store)
    project = NamedNode(BASE + "id/project/22-010-S04")
    participants = NamedNode(KG + "plannedParticipants")
    by_graph = {q.graph_name.value: q.object.value for q in served.quads_for_pattern(project, participants, None, None)
                if isinstance(q.graph_name, NamedNode)}
    assert by_graph == {BASE + "graph/source/vs-2024-05-01": "420", BASE + "graph/source/vs-2024-06-01": "500"}
    assert [q.object.value for q in served.quads_for_pattern(project, participants, None, DefaultGraph())] == ["500"]
    assert [q.object.value for q in served.quads_for_pattern(project, NamedNode(KG + "currentSource"), None,
                                                             NamedNode(BASE + "graph/build"))] == [
        BASE + "id/source/vs-2024-06-01"]
    validate = kgbuild("validate", "--json", "--store", store)
    assert validate.returncode == 0, validate.stderr
    [finding] = [r for r in json.loads(validate.stdout)["results"] if r["path"] == KG + "plannedParticipants"]
    assert finding["severity"] == "Warning" and finding["focus_node"] == project.value
    for said in ("vs-2024-05-01.txt states", "420", "vs-2024-06-01.txt states", "500",
                 "the current value is vs-2024-06-01.txt's"):
        assert said in finding["message"], finding["message"]
    # The sources alone, given together: the same warning (the current one is the name that sorts last).
    given = kgbuild("validate", "--json", may, june)
    assert given.returncode == 0, given.stderr
    [finding] = [r for r in json.loads(given.stdout)["results"] if r["path"] == KG + "plannedParticipants"]
    assert "vs-2024-05-01.txt states" in finding["message"] and "420" in finding["message"]
    assert "the current value is vs-2024-06-01.txt's" in finding["message"]

    # Built again later, the May scrape is the source loaded last: its value is current.
    may.write_text(may.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert kgbuild("build", may, "--store", store).returncode == 0
    assert _participants_rows(store) == [["A2B", "SE31", "1", "420"]]
    # Without the May scrape, the June one is the only source again, and the merge its own.
    assert kgbuild("remove", may.name, "--store", store).returncode == 0
    assert _participants_rows(store) == [["A2B", "SE31", "1", "500"]]
    assert june.exists()
